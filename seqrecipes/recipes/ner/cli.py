"""`seqrecipes ner train | evaluate | predict | export`: flags onto the recipe's functions.

No logic beyond reading the sentences `predict` is given (arguments, a file or standard input)
and printing.
"""

import argparse
import json
import sys

from seqrecipes.models import wiring
from seqrecipes.models.options import ENCODERS
from seqrecipes.recipes.engine import flags as _cli
from seqrecipes.recipes.ner.data import INVALID, SCHEMES
from seqrecipes.recipes.ner.explain_cli import add_explain_parser
from seqrecipes.recipes.ner.sentences import read_sentences
from seqrecipes.recipes.ner.serve import DEFAULT_RUN_DIR


def _add_reading_flags(parser, *, run_defaults):
    """How a CoNLL file is read: columns, delimiter, scheme, invalid tags."""
    unset = "the run's setting" if run_defaults else None
    parser.add_argument("--token-column", type=int, default=None if run_defaults else 0,
                        help=unset or "column of the token")
    parser.add_argument("--tag-column", type=int, default=None if run_defaults else -1,
                        help=unset or "column of the tag (-1: the last)")
    _cli.add_delimiter_flag(parser, default_help=unset or "whitespace")
    parser.add_argument("--scheme", default=None if run_defaults else "iob2", choices=SCHEMES,
                        help=unset or "iob2 (checked), iob1 (converted to IOB2) or auto")
    parser.add_argument("--invalid", default=None if run_defaults else "error",
                        choices=INVALID,
                        help=unset or "an IOB2 I-X that starts an entity: error (refused "
                        "with file:line) or repair (read as B-X)")


def _train_parser(subparsers):
    parser = subparsers.add_parser(
        "train", help="train a tagger on CoNLL files and write a run directory",
        description="Train a BiLSTM-CRF NER tagger (words + characters; --encoder cnn: "
        "dilated convolutions instead of the BiLSTM) with early stopping on the dev set's "
        "entity F1. Without --train it uses the embedded English sample.",
    )
    data = parser.add_argument_group("data")
    data.add_argument("--train", default=None, help="CoNLL training file; none: the embedded English sample")
    data.add_argument("--dev", default=None,
                      help="CoNLL dev file for early stopping; none: --dev-fraction of --train "
                      "(or the sample's dev file)")
    data.add_argument("--test", default=None, help="CoNLL test file; none: the sample's (no test scores with --train)")
    _add_reading_flags(data, run_defaults=False)
    data.add_argument("--dev-fraction", type=float, default=0.1,
                      help="share of --train held out as dev when --dev is not given")
    model = parser.add_argument_group("model")
    boolean = argparse.BooleanOptionalAction
    model.add_argument("--lowercase", action=boolean, default=True,
                       help="lower-case words for the word vocabulary (characters keep case)")
    model.add_argument("--min-frequency", type=int, default=1,
                       help="rarer training words map to the unknown id")
    model.add_argument("--max-chars", type=int, default=None,
                       help="characters kept per token; none: all")
    model.add_argument("--context-tokens", type=int, default=128,
                       help="read consecutive sentences of a -DOCSTART- document together, in "
                       "chunks of at most this many tokens (0: each sentence alone)")
    model.add_argument("--char-features", default="cnn", help="cnn, lstm or none")
    model.add_argument("--char-embedding-dim", type=int, default=30)
    model.add_argument("--char-filters", type=int, default=30, help="character CNN filters")
    model.add_argument("--char-kernel-size", type=int, default=3, help="character CNN window")
    model.add_argument("--char-units", type=int, default=25,
                       help="character BiLSTM units per direction")
    model.add_argument("--embedding-dim", type=int, default=None,
                       help="word embedding width (default: 100; with --word-vectors, the "
                       "file's dimension)")
    model.add_argument("--word-dropout", type=float, default=0.1,
                       help="probability of replacing a training word by the unknown id")
    model.add_argument("--encoder", default="rnn", choices=ENCODERS,
                       help="what reads the words in context: rnn (a recurrent stack, "
                       "bidirectional LSTM by default) or cnn (dilated convolutions: faster "
                       "epochs; trains on TensorFlow, with --batch-size 16 and "
                       "--learning-rate 2e-3 unless given, against 8 and 1e-3 for rnn)")
    model.add_argument("--cell", default=None,
                       help=f"{', '.join(wiring.CELLS)} (rnn; default lstm)")
    model.add_argument("--units", type=int, nargs="+", default=None,
                       help="units per recurrent layer, one value per layer (rnn; default 200)")
    model.add_argument("--bidirectional", action=boolean, default=None,
                       help="(rnn; default on)")
    model.add_argument("--dropout", type=float, default=None,
                       help="recurrent layers' input dropout (rnn; default 0), or dropout on "
                       "each convolution's output (cnn; default 0.2)")
    model.add_argument("--recurrent-dropout", type=float, default=None,
                       help="dropout on the recurrent state, slow on CPU (rnn; default 0)")
    model.add_argument("--conv-filters", type=int, default=None,
                       help="width of every convolution (cnn; default 200)")
    model.add_argument("--conv-kernel-size", type=int, default=None,
                       help="window of every convolution (cnn; default 3)")
    model.add_argument("--dilations", type=int, nargs="+", default=None,
                       help="one convolution per value, with that dilation rate (cnn; "
                       "default 1 2 4 8)")
    model.add_argument("--embedding-dropout", type=float, default=0.5,
                       help="dropout on word + character features")
    model.add_argument("--head-dropout", type=float, default=0.5,
                       help="dropout before the emission layer")
    model.add_argument("--crf", action=boolean, default=True,
                       help="CRF head (--no-crf: a softmax per token)")
    model.add_argument("--bilm", default=None, metavar="RUN_DIR",
                       help="a `seqrecipes bilm train` run: add its ELMo-style contextual "
                       "features (frozen language models, learned layer mix) to every word")
    model.add_argument("--word-vectors", default=None, metavar="FILE",
                       help="a GloVe, word2vec (text or binary) or fastText (.vec or .bin) "
                       "file the word embedding starts from; prints and stores its coverage")
    model.add_argument("--freeze-vectors", action=boolean, default=None,
                       help="keep the word vectors unchanged in training (default: "
                       "fine-tuned); only with --word-vectors")
    model.add_argument("--own-vectors", action=boolean, default=None,
                       help="start the word embedding from word2vec trained (seconds) on "
                       "--train's own tokens, no other text (default: on for a --train "
                       "file of 1 MB or more when gensim is installed and no --word-vectors "
                       "is given: measured better on CoNLL-2003)")
    training = _cli.add_training_flags(
        parser, default_run_dir=DEFAULT_RUN_DIR, epochs=50, batch_size=32, learning_rate=1e-3,
        patience=5, backend=_cli.DEFAULT_BACKENDS["ner"],
    )
    training.add_argument("--learning-rate-decay", type=float, default=0.0,
                          help="the rate is learning-rate / (1 + decay * epoch)")
    training.add_argument("--ema-momentum", type=float, default=0.0,
                          help="keep a moving average of the weights, updated every step "
                          "with this momentum (e.g. 0.995), and score, keep and serve it "
                          "instead of the last weights; 0: off")

    from seqrecipes.recipes import ner

    _cli.bind(parser, ner.train)  # the defaults are written once, in `ner.train`


def _evaluate_parser(subparsers):
    parser = subparsers.add_parser(
        "evaluate", help="entity precision / recall / F1 of a run on a CoNLL file",
        description="Score a trained run with seqeval (entity level, micro and per type), "
        "and apart for the entities seen and unseen in training (the same tokens annotated "
        "as an entity of any type in the training file, case kept).",
    )
    _cli.add_run_dir_argument(parser)
    parser.add_argument("data", metavar="DATA", nargs="?", default=None,
                        help="CoNLL file; none: the run's test file")
    _add_reading_flags(parser, run_defaults=True)
    parser.add_argument("--batch-size", type=int, default=64)

    from seqrecipes.recipes import ner

    _cli.bind(parser, ner.evaluate)


def _predict_parser(subparsers):
    parser = subparsers.add_parser(
        "predict", help="tag sentences: JSON lines with entity spans and confidences",
        description="Tag raw sentences (split on whitespace) or token lists and print one "
        "JSON object per sentence: tokens, tags, per-token confidences and entity spans "
        "(type, text, tokens, token and character offsets, confidence). Sentences come "
        "from the arguments, else from --file, else from standard input, one per line.",
    )
    _cli.add_predict_arguments(parser, what="sentences", metavar="SENTENCE")
    parser.add_argument("--tokenized", action="store_true",
                        help="each sentence is a JSON list of tokens")
    parser.add_argument("--output", default=None, help="JSON lines file; none: standard output")
    parser.add_argument("--batch-size", type=int, default=64)

    def handler(args):
        from seqrecipes.recipes import ner
        from seqrecipes.recipes.engine import os_errors as _os_errors

        sentences = read_sentences(args)
        results = ner.predict(args.run_dir, sentences, tokenized=args.tokenized,
                              batch_size=args.batch_size)
        lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in results)
        if args.output is None:
            sys.stdout.write(lines)
        else:
            _os_errors.write_text_file(args.output, lines, what="the predictions",
                                       flag="output")
        return 0

    parser.set_defaults(func=handler)


def _export_parser(subparsers):
    parser = subparsers.add_parser(
        "export", help="write the tagger as a SavedModel (token strings in), ONNX or LiteRT",
        description='Export the run\'s model. savedmodel: serve(tokens: string [batch, words] '
        'padded with "") -> {"tags": string [batch, words], "confidences": float32 [batch, '
        'words]}. onnx, litert: the tagger up to its emission scores over token and '
        "character ids, with the vocabularies, tags and CRF scores in seqrecipes.json, served "
        "by seqrecipes.portable.load(DIR).predict(sentences) without TensorFlow.",
    )
    _cli.add_export_arguments(parser)

    from seqrecipes.recipes import ner

    _cli.bind(parser, ner.export)


def add_parser(subparsers):
    """Adds `seqrecipes ner {train, evaluate, predict, export}`."""
    parser = subparsers.add_parser(
        "ner", help="named-entity recognition: BiLSTM-CRF on CoNLL files",
        description="Named-entity recognition on CoNLL column files: a BiLSTM-CRF tagger "
        "with character features, scored by seqeval entity F1.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _train_parser(commands)
    _evaluate_parser(commands)
    _predict_parser(commands)
    _export_parser(commands)
    add_explain_parser(commands)
    return parser
