"""`seqrecipes sentiment train | evaluate | predict | export`: flags onto the recipe's functions.

No logic beyond reading the texts `predict` is given (arguments, a file or stdin) and printing.
"""

import argparse
import json
import sys

from seqrecipes import _validation
from seqrecipes.errors import DataError
from seqrecipes.recipes import _cli, _model_flags
from seqrecipes.recipes import _sentiment_text as text


def add_parser(subparsers, api):
    parser = subparsers.add_parser(
        "sentiment", help="train, evaluate, use and export a sentiment classifier",
        description=api.__doc__.split("\n\n")[0],
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    train = commands.add_parser(
        "train", help="train on a labelled table (default: the embedded English sample)",
        description="Train, evaluate on the test split and save a run directory. The same "
        "command resumes an interrupted run.",
    )
    data = train.add_argument_group("data")
    unset = argparse.SUPPRESS  # left out: `train` receives its own default
    data.add_argument("--data", nargs="+", default=unset, metavar="FILE",
                      help="labelled CSV/TSV with a header (default: the embedded sample of "
                      "--language); with --stream, several files or quoted glob patterns")
    data.add_argument("--stream", action="store_true", default=unset,
                      help="read --data row by row every epoch (data larger than memory), "
                      "after one scan that checks every row; needs --validation and --test")
    data.add_argument("--validation", default=unset, metavar="FILE",
                      help="labelled validation file (default: hold out --validation-split "
                      "of --data)")
    data.add_argument("--test", default=unset, metavar="FILE",
                      help="labelled test file (default: hold out --test-split of --data)")
    data.add_argument("--text-column", default=unset,
                      help="(default: the first of text, document, sentence, review)")
    data.add_argument("--label-column", default=unset,
                      help="(default: the first of label, sentiment)")
    data.add_argument("--language", default="en", help=f"one of {', '.join(text.LANGUAGES)}")
    data.add_argument("--tokenizer", default=unset,
                      help="en: words; ko: syllables (default), scripts, morpheme_tags, "
                      "morphemes (the last two need kiwipiepy)")
    data.add_argument("--empty", default="drop",
                      help="empty documents: drop (counted in the summary), keep or error")
    data.add_argument("--validation-split", type=float, default=unset,
                      help="share of the training texts held out for early stopping when "
                      "there is no --validation (default: 0.1)")
    data.add_argument("--shuffle-buffer", type=int, default=unset,
                      help="--stream: texts shuffled together (default: 10000)")
    data.add_argument("--test-split", type=float, default=unset,
                      help="share of --data held out for testing when there is no --test "
                      "(default: 0.2)")
    vocabulary = train.add_argument_group("vocabulary")
    vocabulary.add_argument("--max-tokens", type=int, default=unset,
                            help="vocabulary size (default: 2000000 for nbsvm, 200000 for "
                            "fasttext, else 30000)")
    vocabulary.add_argument("--min-frequency", type=int, default=2,
                            help="keep tokens seen at least this often in training")
    vocabulary.add_argument("--ngrams", type=int, default=unset,
                            help="also count n-grams up to this length (default: 3 for "
                            "nbsvm, 4 on syllables, 2 for fasttext, else 1)")
    vocabulary.add_argument("--vocabulary-sample", type=int, default=unset, metavar="N",
                            help="adapt the vocabulary on N training texts drawn at random "
                            "(default: all; 100000 with --stream)")
    vocabulary.add_argument("--vocabulary-file", default=unset, metavar="FILE",
                            help="take the vocabulary from FILE: one token per line, most "
                            "frequent first, as the tokeniser writes them")
    defaults = ", ".join(f"{language} {values['model']}"
                         for language, values in api.LANGUAGE_DEFAULTS.items())
    _model_flags.add_model_flags(train, model_default=defaults)
    _cli.add_training_flags(
        train, default_run_dir=api.DEFAULT_RUN_DIR, epochs=20, batch_size=32,
        learning_rate=1e-3, patience=2,
    )
    _cli.bind(train, api.train)

    evaluate = commands.add_parser("evaluate", help="accuracy, macro F1, report, confusion "
                                   "matrix of a run on a labelled file")
    _cli.add_run_dir_argument(evaluate)
    evaluate.add_argument("data", metavar="DATA", help="labelled CSV/TSV file")
    evaluate.add_argument("--text-column", default=None, help="default: the run's")
    evaluate.add_argument("--label-column", default=None, help="default: the run's")
    evaluate.add_argument("--empty", default="drop", help="drop, keep or error")
    evaluate.add_argument("--batch-size", type=int, default=64)
    _cli.bind(evaluate, api.evaluate)

    predict = commands.add_parser(
        "predict", help="one JSON line per text: label and probability",
        description="Texts come from the arguments, else from --file, else from stdin, one "
        "per line.",
    )
    _cli.add_run_dir_argument(predict)
    predict.add_argument("texts", metavar="TEXT", nargs="*", help="texts to classify")
    predict.add_argument("--file", default=None, help="read texts from this file, one per "
                         "line ('-': stdin)")
    predict.add_argument("--batch-size", type=int, default=64)
    predict.set_defaults(func=lambda args: _predict(api, args))

    export = commands.add_parser(
        "export", help="a TensorFlow SavedModel whose serve() takes a batch of strings"
    )
    _cli.add_run_dir_argument(export)
    export.add_argument("export_dir", metavar="EXPORT_DIR", help="new SavedModel directory")
    export.add_argument("--overwrite", action="store_true",
                        help="replace a SavedModel already in EXPORT_DIR")
    export.set_defaults(func=lambda args: _export(api, args))
    return parser


def _lines(handle, name):
    """Every line of `handle` as one text (empty lines too), without its line ending."""
    texts = []
    for number, line in enumerate(iter(handle.readline, b""), start=1):
        try:
            texts.append(line.decode("utf-8").rstrip("\n").rstrip("\r"))
        except UnicodeDecodeError as error:
            raise DataError(f"{name}:{number}: not UTF-8 ({error.reason} at byte "
                            f"{error.start}). Save the file as UTF-8.") from None
    return texts


def _read_texts(args):
    _validation.check_conflict(
        bool(args.texts) and args.file is not None,
        "Give texts as arguments or with --file, not both. Received: "
        f"{len(args.texts)} texts and --file {args.file!r}.",
    )
    if args.texts:
        return list(args.texts), "the arguments"
    if args.file is None or args.file == "-":
        if sys.stdin.isatty():
            print("Reading texts from stdin, one per line; end with Ctrl-D.", file=sys.stderr)
        return _lines(sys.stdin.buffer, "<stdin>"), "stdin"
    path = _validation.check_existing_file("file", args.file)
    with open(path, "rb") as handle:
        return _lines(handle, path), path


def _predict(api, args):
    texts, source = _read_texts(args)
    if not texts:
        raise DataError(f"No texts to predict: {source} held none. Give texts as arguments, "
                        "with --file, or on stdin, one per line.")
    for row in api.predict(args.run_dir, texts, batch_size=args.batch_size):
        print(json.dumps(row, ensure_ascii=False))
    return 0


def _export(api, args):
    path = api.export(args.run_dir, args.export_dir, overwrite=args.overwrite)
    print(f"SavedModel written to {path}; serve() takes a batch of strings. Load it with "
          f"tf.saved_model.load({str(path)!r}).serve(tf.constant([...])).")
    return 0
