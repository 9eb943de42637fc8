"""Flag groups shared by the recipes' subcommands, so every recipe spells them the same way.

Flags are kebab-case and map one-to-one onto `train()` keyword arguments (`--embedding-dim` ->
`embedding_dim`). Types here are loose on purpose (int, float, str): the recipe's own validation
gives the message, in the one shape every error has.
"""

import argparse
import contextlib
import inspect
import os
import sys

from seqrecipes import _validation
from seqrecipes.errors import DataError
from seqrecipes.recipes.engine import backend as _backend
from seqrecipes.recipes.engine.strategy import STRATEGIES as _STRATEGIES

# Each recipe's `train` backend when neither `--backend` nor KERAS_BACKEND names one: one line
# per recipe, following its measurements (issue 21: JAX where it wins end to end and the metric
# holds; README's "Backends" has the runs). TensorFlow where JAX lost: sentiment (NBSVM epochs
# are seconds, JAX's compiles tens of seconds; slower epochs on NSMC's n-gram tables).
# NER: JAX for a training file of 3 MB or more. After the tf.data tuner fix (ecb6408), on
# CoNLL-2003's 3.3 MB TensorFlow's later epochs took 31.5 s against JAX's 25.9 s, and JAX's
# first 212 s against 40 s (compiles): JAX ahead after ~31 epochs, where default runs stop at
# 34-50, with the same test F1 (two seeds each: 0.8745 / 0.8710 on TensorFlow, 0.8710 / 0.8740
# on JAX). On its first 1 MB TensorFlow wins (10.24 s epochs against 9.84 s, and no minute of
# compiles), so the break-even lies between: at 2 MB JAX's per-epoch gain would repay its
# compiles only near the 50-epoch cap (estimated, not measured). TensorFlow below, the embedded
# sample included. ner --encoder cnn: TensorFlow whatever the size (CoNLL-2003: epochs of
# ~15 s there, where JAX's first took 168 s of compiles).
# char-lm: JAX (windows have one shape, ~2 s of compiling; 1.5x less CPU on Tiny Shakespeare,
# 0.011 bits/char behind on two seeds each, TensorFlow's own two seeds as far apart; 38 s
# against 55 s on the embedded play; after the tuner fix still 1.17x less wall time over 3
# epochs of Tiny Shakespeare), but TensorFlow for --mode stateful, which JAX cannot train
# (`models.language`).
DEFAULT_BACKENDS = {
    "sentiment": "tensorflow",
    "ner": _backend.PreferJax(data="train", min_bytes=3_000_000, unless=(("encoder", "cnn"),)),
    "char-lm": _backend.PreferJax(unless=(("mode", "stateful"),)),
    "bilm": "tensorflow",
    "seq2seq": "tensorflow",
    "timeseries": "tensorflow",
    "generate-from-vector": "tensorflow",
}

# argparse bookkeeping that is not a keyword argument of `run()`.
# `strategy` is applied around the whole command by `_strategy.run_handler` (called by cli.main);
# the backend before it, by `backend.for_command`; `quiet` around the call, by `bind`.
_NOT_ARGUMENTS = ("func", "recipe", "command", "handler", "strategy", "quiet", "backend",
                  "default_backend", "serving_backend")


def keyword_arguments(args):
    """Returns the parsed flags as `run()` keyword arguments."""
    return {key: value for key, value in vars(args).items() if key not in _NOT_ARGUMENTS}


def signature_defaults(parser, function):
    """Gives every flag of `parser` the default of `function`'s argument of the same name.

    The Python API's signature is then the one place a recipe's defaults are written: the
    command line cannot drift from it. Flags left out on purpose (`argparse.SUPPRESS`, so
    that the function decides) and flags without a same-named argument keep their own.
    Returns `function`'s parameters.
    """
    parameters = inspect.signature(function).parameters
    for action in parser._actions:
        parameter = parameters.get(action.dest)
        if (parameter is None or parameter.default is inspect.Parameter.empty
                or action.default is argparse.SUPPRESS):
            continue
        default = parameter.default
        action.default = list(default) if isinstance(default, tuple) else default
    return parameters


def bind(parser, function):
    """Makes `parser` call `function(**flags)` and turns a result into exit status 0.

    The flags' defaults are `function`'s (`signature_defaults`), and a list given to a flag
    with several values (`--units 64 32`) reaches an argument whose default is a tuple as a
    tuple.
    """
    parameters = signature_defaults(parser, function)

    def handler(args):
        kwargs = keyword_arguments(args)
        for name, value in kwargs.items():
            parameter = parameters.get(name)
            if isinstance(value, list) and parameter is not None and isinstance(
                    parameter.default, tuple):
                kwargs[name] = tuple(value)
        with quiet_if(getattr(args, "quiet", False)):
            function(**kwargs)
        return 0

    parser.set_defaults(func=handler)


def add_training_flags(
    parser, *, default_run_dir, epochs, batch_size, learning_rate, patience=3, seed=1234,
    backend,
):
    """Adds the flags every `train` subcommand has, with the recipe's own defaults.

    `backend` is the recipe's default Keras backend (its `DEFAULT_BACKENDS` entry), taken
    when neither `--backend` nor `KERAS_BACKEND` names one (`engine.backend.choose`).
    """
    group = parser.add_argument_group("training")
    group.add_argument("--backend", default=None, choices=_backend.BACKENDS,
                       help=f"the Keras backend to train on (default: {_backend.VARIABLE} when "
                       f"the environment sets it, else {_backend.describe(backend)}"
                       "); evaluate, predict and "
                       "export run on tensorflow whichever trained the run")
    parser.set_defaults(default_backend=backend)
    group.add_argument("--run-dir", default=default_run_dir,
                       help="where the run is written; the same command resumes it")
    group.add_argument("--overwrite", action="store_true",
                       help="replace a complete run already in --run-dir; discard the "
                       "training state of an interrupted one and start afresh")
    group.add_argument("--epochs", type=int, default=epochs, help="maximum number of epochs")
    group.add_argument("--batch-size", type=int, default=batch_size,
                       help="examples per batch: the GLOBAL batch, split evenly across all "
                       "replicas (GPUs, workers) under --strategy mirrored / multi-worker")
    group.add_argument("--learning-rate", type=float, default=learning_rate,
                       help="the optimizer's step size")
    group.add_argument("--clipnorm", type=float, default=None,
                       help="clip each gradient's norm to this value")
    group.add_argument("--patience", type=int, default=patience,
                       help="epochs without validation improvement before stopping")
    group.add_argument("--seed", type=int, default=seed,
                       help="seeds weights, data order and dropout: same seed, same run")
    group.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2),
                       help="Keras progress: 0 none, 1 progress bar, 2 one line per epoch; "
                       "the summary and where the run went are printed whatever it is")
    add_quiet_flag(group)
    group.add_argument("--strategy", default="default", choices=_STRATEGIES,
                       help="tf.distribute: default (one device), mirrored (every GPU of this "
                       "machine) or multi-worker (several machines, configured by the TF_CONFIG "
                       "environment variable; only the chief writes --run-dir); on --backend "
                       "jax, keras.distribution: mirrored is DataParallel over every local "
                       "device, multi-worker is refused")
    return group


def add_quiet_flag(parser):
    """Adds `--quiet`: nothing on standard output (errors still reach standard error)."""
    parser.add_argument("--quiet", action="store_true",
                        help="print nothing on standard output: no progress, no summary")


@contextlib.contextmanager
def quiet_if(quiet):
    """Discards what is printed on standard output inside the block when `quiet` is true."""
    if not quiet:
        yield
        return
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        yield  # a sink, not a buffer: a long run's progress is not kept in memory


def add_run_dir_argument(parser):
    """Adds the positional RUN_DIR of `evaluate`, `predict` and `export`."""
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by train")
    # A saved model splits raw strings with TensorFlow's string ops: it runs on TensorFlow.
    parser.set_defaults(serving_backend=_backend.SERVING_BACKEND)


# The one shape of every recipe's `predict` and `export` (STYLE.md, "Naming"):
#   predict RUN_DIR [TEXT ...] [--file FILE]   no TEXT and no --file: standard input
#   export RUN_DIR DIR [--overwrite] [--format savedmodel|onnx|litert]


def add_predict_arguments(parser, *, what="texts", metavar="TEXT"):
    """Adds RUN_DIR, the texts (`what`, positional, any number) and `--file`."""
    add_run_dir_argument(parser)
    parser.add_argument(what, metavar=metavar, nargs="*",
                        help=f"{what} to use; none: --file, else standard input, one per line")
    parser.add_argument("--file", default=None, metavar="FILE",
                        help=f"read the {what} from FILE, one per line ('-': standard input)")


def add_export_arguments(parser, *, what="export"):
    """Adds RUN_DIR, the positional DIR, `--overwrite` and `--format`."""
    from seqrecipes.recipes.engine.portable_export import FORMATS  # light: no TensorFlow

    add_run_dir_argument(parser)
    parser.add_argument("export_dir", metavar="DIR",
                        help=f"the {what} directory to write (new, or empty)")
    parser.add_argument("--overwrite", action="store_true",
                        help=f"replace an {what} already in DIR (a folder holding anything "
                        "else is never replaced)")
    parser.add_argument(
        "--format", default="savedmodel", choices=FORMATS,
        help="savedmodel: a TensorFlow SavedModel that takes raw input; onnx, litert: the "
        "numeric graph with its vocabularies and settings beside it, for "
        "seqrecipes.portable.load (NumPy + onnxruntime or ai-edge-litert, no TensorFlow)")


def _lines(raw, where):
    """Every line of `raw` (UTF-8 bytes) as one text, empty lines too, without line endings."""
    from seqrecipes.datasets import _files  # not at import: building the parser stays light

    lines = _files.normalize_newlines(_files.decode(where, raw)).split("\n")
    if lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    return lines


def read_texts(args, what="texts"):
    """The inputs of `predict`: `(lines, source)` from the arguments, --file or stdin.

    Every line is one input, empty lines too; a file or standard input must be UTF-8 (the
    error names the line), a file may be gzip-compressed. Arguments and --file together are
    refused.
    """
    given = list(getattr(args, what))
    _validation.check_conflict(
        bool(given) and args.file is not None,
        f"Give the {what} as arguments or with `file`, not both. Received: {len(given)} "
        f"{what} and file={args.file!r}.",
    )
    if given:
        return given, "the arguments"
    if args.file is None or args.file == "-":
        if sys.stdin.isatty():
            print(f"Reading {what} from standard input, one per line; end with Ctrl-D.",
                  file=sys.stderr)
        stdin = getattr(sys.stdin, "buffer", None)
        raw = stdin.read() if stdin is not None else sys.stdin.read().encode("utf-8",
                                                                              "surrogateescape")
        return _lines(raw, "<stdin>"), "standard input"
    from seqrecipes.datasets import _files

    return _lines(_files.read_bytes("file", args.file), args.file), args.file


def require_texts(texts, source, what="texts"):
    """Refuses an empty input, naming where it came from."""
    if not texts:
        raise DataError(f"No {what} to predict: {source} held none. Give {what} as "
                        "arguments, with `file`, or on standard input, one per line.")
    return texts


TRAINING_SETTINGS = (  # `quiet` is not one: `bind` applies it around the call
    "overwrite", "epochs", "batch_size", "learning_rate", "clipnorm", "patience", "seed", "verbose",
)


def check_training_arguments(
    *, overwrite, epochs, batch_size, learning_rate, clipnorm, patience, seed, verbose
):
    """Validates the settings `add_training_flags` declares, for every recipe's `run`/`train`."""
    _validation.check_bool("overwrite", overwrite)
    _validation.check_positive_int("epochs", epochs)
    _validation.check_positive_int("batch_size", batch_size)
    _validation.check_positive_float("learning_rate", learning_rate)
    _validation.check_positive_float("clipnorm", clipnorm, allow_none=True)
    _validation.check_non_negative_int("patience", patience)
    _validation.check_seed("seed", seed)
    _validation.check_non_negative_int("verbose", verbose)
    _validation.check_conflict(
        verbose > 2, "`verbose` must be 0 (no progress), 1 (progress bar) or 2 (one line per "
        "epoch). "
        f"Received: verbose={verbose!r}.",
    )


_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "space": " ", "comma": ",", "semicolon": ";"}


def delimiter(value):
    """argparse type of `--delimiter`: `'\\t'` (as a shell passes it) or `tab` mean a tab."""
    return _DELIMITER_NAMES.get(value, value)


def add_delimiter_flag(parser, *, default_help="whitespace"):
    """Adds `--delimiter`, the column separator of a column file."""
    parser.add_argument("--delimiter", type=delimiter, default=None,
                        help="column separator: tab (or '\\t'), comma, space, semicolon or any "
                        f"string; none: {default_help}")
