"""Parameter count recipe: the closed-form count of every layer, checked against Keras.

`seqrecipes params --model lstm --units 128 64 --bidirectional` builds the model the builders
would build (or loads a saved `.keras` file with `--model-file`), prints one row per layer with
its formula, its count and Keras's count, says what the total counts (trainable and
non-trainable weights, embeddings included, and how much of it is the embedding) and shows the
count does not grow with the sequence length: the same model rebuilt for 10 and for 1000 steps.
"""

import inspect

from seqrecipes import _validation
from seqrecipes.errors import DataError
from seqrecipes.models import wiring

MODELS = wiring.CELLS + ("cnn",)
TASKS = ("classifier", "tagger")
DEFAULT_VOCABULARY_SIZE = 20000  # a typical word vocabulary; used unless --input-dim is given
LENGTHS = (10, 1000)  # the model is rebuilt at these lengths to show the count stays put


def _defaults():
    return {
        name: parameter.default
        for name, parameter in inspect.signature(run).parameters.items()
    }


def _normal(value):
    # units=128, units=[128] and units=(128,) say the same thing.
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,) if isinstance(value, int) else value


def _check_unused(given, names, reason):
    defaults = _defaults()
    changed = [name for name in names if _normal(given[name]) != _normal(defaults[name])]
    _validation.check_conflict(
        bool(changed),
        f"{reason}, so {', '.join(f'`{name}`' for name in changed)} would be ignored. "
        f"Received: {', '.join(f'{name}={given[name]!r}' for name in changed)}. Leave "
        f"{'it' if len(changed) == 1 else 'them'} out.",
    )


def _build(given):
    from seqrecipes.models import build_conv_classifier, build_sequence_classifier
    from seqrecipes.models import build_sequence_tagger

    model, task = given["model"], given["task"]
    if model == "cnn":
        _check_unused(given, ("units", "bidirectional", "merge_mode", "input_dim"),
                      "`model='cnn'` is a convolutional classifier over token ids")
        _validation.check_conflict(
            task != "classifier",
            "`model='cnn'` builds a classifier (build_conv_classifier). Received: "
            f"task={task!r}. Use task='classifier', or a recurrent model for a tagger.",
        )
        return build_conv_classifier(
            DEFAULT_VOCABULARY_SIZE if given["vocabulary_size"] is None
            else given["vocabulary_size"],
            given["num_classes"],
            embedding_dim=given["embedding_dim"],
            filters=given["filters"],
            kernel_size=_validation.check_positive_ints("kernel_sizes", given["kernel_sizes"]),
            sequence_length=given["sequence_length"],
        )
    _check_unused(given, ("kernel_sizes", "filters"), f"`model={model!r}` has no convolutions")
    _validation.check_conflict(
        given["merge_mode"] != "concat" and not given["bidirectional"],
        "`merge_mode` merges the two directions of a bidirectional layer. Received: "
        f"merge_mode={given['merge_mode']!r} with bidirectional=False. Add "
        "bidirectional=True or leave out `merge_mode`.",
    )
    if given["input_dim"] is not None:
        _check_unused(given, ("embedding_dim",), "`input_dim` gives numeric input (no Embedding)")
    vocabulary_size = given["vocabulary_size"]
    if vocabulary_size is None and given["input_dim"] is None:
        vocabulary_size = DEFAULT_VOCABULARY_SIZE
    builder = build_sequence_classifier if task == "classifier" else build_sequence_tagger
    return builder(
        vocabulary_size,
        given["num_classes"],
        input_dim=given["input_dim"],
        embedding_dim=given["embedding_dim"],
        sequence_length=given["sequence_length"],
        cell=model,
        units=_validation.check_positive_ints("units", given["units"]),
        bidirectional=given["bidirectional"],
        merge_mode=given["merge_mode"],
    )


def _register_layers():
    # Safe-mode loading finds this package's layers (string input, CRF, character encoder,
    # ...) only once their modules have registered them, and a package may import its modules
    # lazily: import every module of `models` and `datasets`.
    import importlib
    import pkgutil

    import seqrecipes.datasets
    import seqrecipes.models

    for package in (seqrecipes.models, seqrecipes.datasets):
        for module in pkgutil.iter_modules(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)


def _load(given):
    import keras

    _check_unused(
        given, [name for name in given if name != "model_file"],
        "`model_file` gives the model",
    )
    path = _validation.check_existing_file("model_file", given["model_file"])
    _register_layers()
    try:
        return keras.saving.load_model(path)  # safe_mode=True: no arbitrary code is run
    except (ValueError, OSError, TypeError) as error:
        raise DataError(
            f"{path}: cannot be read as a saved Keras model ({error}). Give a .keras file "
            "written by model.save(...)."
        ) from error


def _lengths(model):
    # ({length: count}, the sentence) for the model rebuilt at each of LENGTHS, or (None, why
    # not) for a model without steps (a vector per example) or that its config cannot rebuild.
    from seqrecipes.errors import InvalidArgumentError
    from seqrecipes.models.params import counts_by_length, length_statement, time_axes

    try:
        counts = counts_by_length(model, LENGTHS)
    except InvalidArgumentError as error:
        return None, f"Not rebuilt at other lengths: {error}"
    # A model that takes strings says which steps it means: the token ids its vectorizer
    # makes (raw texts), or the words of its token input.
    strings = any("string" in str(tensor.dtype) for tensor in model.inputs)
    return counts, length_statement(counts, time_axes(model) if strings else None)


def _report(model, table, statement, source):
    shown = table.astype(object).where(table.notna(), "-")
    attrs = table.attrs
    lines = [f"Parameters of {model.name!r} ({source}):", shown.to_string(index=False), ""]
    lines.append(
        "Counted: every weight of every layer, trainable and non-trainable alike, embeddings "
        "included; a Bidirectional row counts both directions."
    )
    lines.append(
        f"Total: {attrs['total']:,} = trainable {attrs['trainable']:,} + non-trainable "
        f"{attrs['non_trainable']:,}."
    )
    lines.append(
        f"Embeddings: {attrs['embedding']:,}; without them: "
        f"{attrs['total'] - attrs['embedding']:,}."
    )
    gru = table["class"].str.contains("GRU")
    if gru.any():
        reset_after = table.loc[gru, "formula"].str.contains(r"\+2\*").all()
        lines.append(
            "GRU rows use reset_after=True (Keras's default): 3[u(d+u)+2u], a second bias for "
            "the recurrent kernel; reset_after=False would give 3[u(d+u)+u]."
            if reset_after else "GRU rows: 3[u(d+u)+u] (reset_after=False) or 3[u(d+u)+2u] "
            "(reset_after=True, a second bias), as each row's formula shows."
        )
    if attrs["mismatched"]:
        lines.append(f"Formula and Keras disagree on: {', '.join(attrs['mismatched'])}.")
    if attrs["no_formula"]:
        lines.append(
            f"No formula (counted by Keras only): {', '.join(attrs['no_formula'])}; "
            "register one with seqrecipes.models.params.register_formula."
        )
    if not attrs["mismatched"] and not attrs["no_formula"]:
        lines.append("Every layer's closed-form count equals Keras's count_params().")
    lines.append(statement)
    return "\n".join(lines)


def run(
    *,
    model="lstm",
    task="classifier",
    vocabulary_size=None,
    embedding_dim=128,
    units=(128,),
    bidirectional=False,
    merge_mode="concat",
    num_classes=2,
    kernel_sizes=(3, 4, 5),
    filters=128,
    sequence_length=None,
    input_dim=None,
    model_file=None,
):
    """Prints and returns the parameter table of a builder configuration or a saved model.

    Args:
        model: str. "lstm", "gru", "simple_rnn" (recurrent builders) or "cnn"
            (`build_conv_classifier`). Defaults to "lstm".
        task: str. "classifier" (many-to-one) or "tagger" (many-to-many).
        vocabulary_size: int or None. Token ids; None means 20000 unless `input_dim` is given.
        embedding_dim: int. Defaults to 128.
        units: int or list of ints. One recurrent layer per entry. Defaults to (128,).
        bidirectional: bool. Defaults to False.
        merge_mode: str. "concat", "sum", "ave" or "mul" (bidirectional only).
        num_classes: int. Classes (tags for a tagger). Defaults to 2.
        kernel_sizes: int or list of ints. Convolution widths (cnn only). Defaults to 3, 4, 5.
        filters: int. Feature maps per kernel size (cnn only). Defaults to 128.
        sequence_length: int or None. Defaults to None (any length).
        input_dim: int or None. Features per step for numeric input instead of token ids.
        model_file: str or None. A saved `.keras` model to inspect instead of building one.

    Returns:
        A dict: `table` (the `parameter_table` DataFrame), `total`, `trainable`,
        `non_trainable`, `embedding`, `counts_by_length` ({10: n, 1000: n}; None for a model
        without a time axis) and `text` (what was printed). For a model that takes raw text
        the lengths are those of the token ids its `TextVectorization` makes.
    """
    given = dict(locals())
    from seqrecipes.models.params import parameter_table

    _validation.check_choice("model", model, MODELS)
    _validation.check_choice("task", task, TASKS)
    _validation.check_bool("bidirectional", bidirectional)
    if model_file is not None:
        keras_model, source = _load(given), f"loaded from {model_file}"
    else:
        keras_model = _build(given)
        source = f"{model} {task}" + (", bidirectional" if bidirectional else "")
    table = parameter_table(keras_model)
    counts, statement = _lengths(keras_model)
    text = _report(keras_model, table, statement, source)
    print(text)
    return {
        "table": table,
        **{key: table.attrs[key] for key in ("total", "trainable", "non_trainable", "embedding")},
        "counts_by_length": counts,
        "text": text,
    }


def add_parser(subparsers):
    """Adds the `params` subcommand."""
    parser = subparsers.add_parser(
        "params",
        help="print each layer's parameter count: formula, count and Keras's count",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("--model", default="lstm", help=f"one of {', '.join(MODELS)}")
    parser.add_argument("--task", default="classifier", help=f"one of {', '.join(TASKS)}")
    parser.add_argument("--vocabulary-size", type=int, default=None,
                        help=f"number of token ids; left out: {DEFAULT_VOCABULARY_SIZE}, or "
                        "none with --input-dim")
    parser.add_argument("--embedding-dim", type=int, default=128, help="embedding width")
    parser.add_argument("--units", type=int, nargs="+", default=[128],
                        help="one recurrent layer per value, e.g. --units 128 64")
    parser.add_argument("--bidirectional", action="store_true",
                        help="wrap each recurrent layer in Bidirectional")
    parser.add_argument("--merge-mode", default="concat",
                        help=f"one of {', '.join(wiring.MERGE_MODES)} (with --bidirectional)")
    parser.add_argument("--num-classes", type=int, default=2, help="classes, or tags (tagger)")
    parser.add_argument("--kernel-sizes", type=int, nargs="+", default=[3, 4, 5],
                        help="convolution widths (--model cnn)")
    parser.add_argument("--filters", type=int, default=128, help="per kernel size (cnn)")
    parser.add_argument("--sequence-length", type=int, default=None,
                        help="fixed length (None: any length; the count is the same)")
    parser.add_argument("--input-dim", type=int, default=None,
                        help="features per step, for numeric input instead of token ids")
    parser.add_argument("--model-file", default=None, help="a saved .keras model to inspect")
    parser.set_defaults(func=_run_from_args)
    return parser


def _run_from_args(args):
    kwargs = {name: getattr(args, name) for name in inspect.signature(run).parameters}
    for name in ("units", "kernel_sizes"):  # argparse gives lists; run's defaults are tuples
        kwargs[name] = tuple(kwargs[name])
    run(**kwargs)
    return 0

