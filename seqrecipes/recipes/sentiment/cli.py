"""`seqrecipes sentiment train | evaluate | predict | export`: flags onto the recipe's functions.

No logic beyond reading the texts `predict` is given (arguments, a file or stdin) and printing.
"""

import argparse
import json

from seqrecipes.recipes import sentiment as api
from seqrecipes.recipes.engine import flags as _cli
from seqrecipes.recipes.sentiment import baseline as _baseline
from seqrecipes.recipes.sentiment import model as _model_flags
from seqrecipes.recipes.sentiment import data as text
from seqrecipes.recipes.sentiment.explain_cli import add_explain_parser


def add_parser(subparsers):
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
    data.add_argument("--format", default="auto", choices=api.FORMATS,
                      help="auto: the dialect from each file's name (.csv, .tsv), else from "
                      "its header")
    data.add_argument("--language", default="en", help=f"one of {', '.join(text.LANGUAGES)}")
    data.add_argument("--tokenizer", default=unset,
                      help="en: words; ko: syllables_and_morphemes (default; syllables "
                      "without kiwipiepy), syllables, scripts, morpheme_tags, morphemes (the "
                      "first and the last two need kiwipiepy)")
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
    vocabulary.add_argument("--min-frequency", type=int, default=unset,
                            help="keep tokens seen at least this often in training "
                            f"(default: {api.MIN_FREQUENCY})")
    vocabulary.add_argument("--ngrams", type=int, default=unset,
                            help="also count n-grams up to this length (default: 3 for "
                            "nbsvm, 4 on Korean syllables, 2 for fasttext, else 1)")
    vocabulary.add_argument("--vocabulary-sample", type=int, default=unset, metavar="N",
                            help="adapt the vocabulary on N training texts drawn at random "
                            "(default: all; 100000 with --stream)")
    vocabulary.add_argument("--vocabulary-file", default=unset, metavar="FILE",
                            help="take the vocabulary from FILE: one token per line, most "
                            "frequent first, as the tokeniser writes them")
    defaults = ", ".join(f"{language} {values['model']}"
                         for language, values in api.LANGUAGE_DEFAULTS.items())
    notes = {}  # a language's own defaults (MODEL_DEFAULTS), shown beside the family's
    for (language, model), settings in api.MODEL_DEFAULTS.items():
        for name, value in settings.items():
            shown = " ".join(map(str, value)) if isinstance(value, tuple) else value
            notes.setdefault(name, []).append(f"--language {language}: {shown}")
    _model_flags.add_model_flags(
        train, model_default=defaults,
        notes={name: ", ".join(texts) for name, texts in notes.items()},
    )
    measured = train.add_argument_group("measured against")
    measured.add_argument("--baseline", choices=_baseline.BASELINES, default="tfidf",
                          help="also fit scikit-learn TF-IDF + logistic regression on the same "
                          "training split and report it beside the model (none: skip)")
    measured.add_argument("--class-weight", choices=("balanced",), default=None,
                          help="balanced: weight each class by n / (k * its count) on the "
                          "training split, for imbalanced classes (a per-class mapping: "
                          "class_weight= from Python)")
    measured.add_argument("--monitor", choices=api.MONITORS, default="loss",
                          help="the validation figure early stopping watches")
    _cli.add_training_flags(
        train, default_run_dir=api.DEFAULT_RUN_DIR, epochs=20, batch_size=32,
        learning_rate=1e-3, patience=2, backend=_cli.DEFAULT_BACKENDS["sentiment"],
    )
    _cli.bind(train, api.train)

    evaluate = commands.add_parser("evaluate", help="accuracy, macro F1, report, confusion "
                                   "matrix of a run on a labelled file")
    _cli.add_run_dir_argument(evaluate)
    evaluate.add_argument("data", metavar="DATA", help="labelled CSV/TSV file")
    evaluate.add_argument("--text-column", default=None, help="default: the run's")
    evaluate.add_argument("--label-column", default=None, help="default: the run's")
    evaluate.add_argument("--format", default=None, choices=api.FORMATS,
                          help="default: the run's")
    evaluate.add_argument("--empty", default="drop", help="drop, keep or error")
    evaluate.add_argument("--batch-size", type=int, default=64)
    _cli.bind(evaluate, api.evaluate)

    predict = commands.add_parser(
        "predict", help="one JSON line per text: label and probability",
        description="Texts come from the arguments, else from --file, else from standard "
        "input, one per line.",
    )
    _cli.add_predict_arguments(predict)
    predict.add_argument("--batch-size", type=int, default=64)
    predict.set_defaults(func=_predict)

    export = commands.add_parser(
        "export", help="a TensorFlow SavedModel whose serve() takes a batch of strings, or "
        "an ONNX / LiteRT graph for seqrecipes.portable (--format)"
    )
    _cli.add_export_arguments(export)
    export.set_defaults(func=_export)

    add_explain_parser(commands)
    return parser


def _predict(args):
    texts = _cli.require_texts(*_cli.read_texts(args))
    for row in api.predict(args.run_dir, texts, batch_size=args.batch_size):
        print(json.dumps(row, ensure_ascii=False))
    return 0


def _export(args):
    path = api.export(args.run_dir, args.export_dir, overwrite=args.overwrite,
                      format=args.format)
    if args.format == "savedmodel":
        print(f"SavedModel written to {path}; serve() takes a batch of strings. Load it with "
              f"tf.saved_model.load({str(path)!r}).serve(tf.constant([...])).")
    else:
        print(f"{args.format} export written to {path}; serve raw texts without TensorFlow "
              f"with seqrecipes.portable.load({str(path)!r}).predict([...]).")
    return 0
