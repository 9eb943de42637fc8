"""A classifier built from command-line flags: one table of model families, settings, defaults.

Every recipe that trains a text classifier offers the same `--model` and model flags
(`add_model_flags`), and turns them into a model the same way (`resolve_model_settings`, then
`build_classifier`). A flag left out is None and takes the family's default (a recipe may
override defaults, e.g. per language); a flag the chosen family does not read is an error that
names it, never silently ignored (`--kernel-sizes` with `--model lstm`).

    family      builder                       settings it reads
    lstm, gru,  build_sequence_classifier     embedding_dim, units, bidirectional, merge_mode,
    simple_rnn                                pooling, dropout, recurrent_dropout, head_dropout
    cnn         build_conv_classifier         embedding_dim, kernel_sizes, filters, dropout
    fasttext    build_bag_classifier          embedding_dim, dropout
    nbsvm       build_nbsvm_classifier        dropout (and the naive-Bayes ratios of the
                                              training data: `build_classifier`'s argument)

Every family with an embedding (all but nbsvm) also reads `word_vectors` (a GloVe, word2vec
or fastText file its embedding starts from, `datasets.word_vectors`) and `freeze_vectors`.
"""

import argparse

from seqrecipes import _validation
from seqrecipes.models import wiring
from seqrecipes.models.options import POOLINGS
from seqrecipes.recipes.engine import word_vectors as _word_vectors

MODELS = wiring.CELLS + ("cnn", "fasttext", "nbsvm")
_VECTORS = ("word_vectors", "freeze_vectors")  # read by every family with an embedding
_RECURRENT = (
    "embedding_dim", "units", "bidirectional", "merge_mode", "pooling", "dropout",
    "recurrent_dropout", "head_dropout", *_VECTORS,
)
# The settings each family reads, in the order `describe_model` mentions them.
SETTINGS = {
    **{cell: _RECURRENT for cell in wiring.CELLS},
    "cnn": ("embedding_dim", "kernel_sizes", "filters", "dropout", *_VECTORS),
    "fasttext": ("embedding_dim", "dropout", *_VECTORS),
    "nbsvm": ("dropout",),
}
ALL_SETTINGS = tuple(dict.fromkeys(name for names in SETTINGS.values() for name in names))
# No vectors: a random embedding. With vectors, fine-tuned unless frozen: on IMDB (fasttext,
# --ngrams 1, 64-dim word2vec trained on the 25k training texts) fine-tuned vectors reached
# 0.8866 test accuracy and frozen ones 0.7754 (no vectors: 0.8894).
_VECTOR_DEFAULTS = {"word_vectors": None, "freeze_vectors": False}
_RECURRENT_DEFAULTS = {
    "embedding_dim": 128,
    "units": (128,),
    "bidirectional": False,
    "merge_mode": "concat",
    "pooling": "max",  # max over time: a phrase anywhere in a long text can decide
    "dropout": 0.0,
    "recurrent_dropout": 0.0,  # > 0 disables the fused kernels and is several times slower
    "head_dropout": 0.3,
    **_VECTOR_DEFAULTS,
}
DEFAULTS = {
    **{cell: _RECURRENT_DEFAULTS for cell in wiring.CELLS},
    "cnn": {"embedding_dim": 128, "kernel_sizes": (3, 4, 5), "filters": 128, "dropout": 0.5,
            **_VECTOR_DEFAULTS},
    "fasttext": {"embedding_dim": 64, "dropout": 0.0, **_VECTOR_DEFAULTS},
    "nbsvm": {"dropout": 0.0},
}


def _check(name, value):
    if name in ("embedding_dim", "filters"):
        return _validation.check_positive_int(name, value)
    if name in ("units", "kernel_sizes"):
        return _validation.check_positive_ints(name, value)
    if name in ("bidirectional", "freeze_vectors"):
        return _validation.check_bool(name, value)
    if name == "word_vectors":
        return None if value is None else _validation.check_existing_file(name, value)
    if name == "merge_mode":
        return _validation.check_choice(name, value, wiring.MERGE_MODES)
    if name == "pooling":
        return _validation.check_choice(name, value, POOLINGS)
    return _validation.check_fraction(name, value)  # the dropouts


def resolve_model_settings(model, given, *, defaults=None):
    """Returns the complete, checked settings of `model` from the flags the user gave.

    Args:
        model: str. One of `MODELS`.
        given: dict. Setting name -> value, None where the flag was left out.
        defaults: dict or None. Defaults that replace the family's own (e.g. per language).

    Returns:
        A dict with "model" and every setting the family reads (tuples for lists).

    Raises:
        InvalidArgumentError: an unknown model, a bad value, or a setting the model does not
            read (the message names it and the models that read it).
    """
    _validation.check_choice("model", model, MODELS)
    unknown = sorted(set(given) - set(ALL_SETTINGS))
    _validation.check_conflict(bool(unknown), f"Unknown model settings: {unknown}.")
    reads = SETTINGS[model]
    _validation.check_settings_used("model", model, SETTINGS,
                                    {name: given.get(name) for name in ALL_SETTINGS})
    _word_vectors.check_freeze(given.get("word_vectors"), given.get("freeze_vectors"))
    settings = {**DEFAULTS[model], **(defaults or {})}
    settings.update({name: value for name, value in given.items() if value is not None})
    resolved = {"model": model}
    for name in reads:
        value = _check(name, settings[name])
        resolved[name] = list(value) if isinstance(value, tuple) else value
    if model in wiring.CELLS:
        _validation.check_conflict(
            resolved["merge_mode"] != "concat" and not resolved["bidirectional"],
            "`merge_mode` merges the two directions of a bidirectional layer. Received: "
            f"merge_mode={resolved['merge_mode']!r} with bidirectional=False. Add "
            "bidirectional=True or leave out `merge_mode`.",
        )
    return resolved


def build_classifier(settings, vocabulary_size, num_classes, *, log_count_ratios=None,
                     embeddings=None):
    """Builds the classifier `settings` (from `resolve_model_settings`) describes.

    `log_count_ratios` (nbsvm only): the naive-Bayes ratios of the training data
    (`models.nbsvm.log_count_ratios`). `embeddings`: the initial embedding matrix made from
    `settings["word_vectors"]` (`datasets.vectors_for_vocabulary`), or None.
    """
    # Keras is imported here, not at the top: the command line reads this module's tables.
    from seqrecipes.models import (
        build_bag_classifier, build_conv_classifier, build_nbsvm_classifier,
        build_sequence_classifier,
    )

    model = settings["model"]
    vectors = {} if model == "nbsvm" else {
        "embeddings": embeddings, "train_embeddings": not settings["freeze_vectors"]}
    if model == "nbsvm":
        return build_nbsvm_classifier(
            vocabulary_size, num_classes, log_count_ratios=log_count_ratios,
            dropout=settings["dropout"],
        )
    if model == "fasttext":
        return build_bag_classifier(
            vocabulary_size, num_classes, embedding_dim=settings["embedding_dim"],
            dropout=settings["dropout"], **vectors,
        )
    if model == "cnn":
        return build_conv_classifier(
            vocabulary_size, num_classes, embedding_dim=settings["embedding_dim"],
            filters=settings["filters"], kernel_size=tuple(settings["kernel_sizes"]),
            dropout=settings["dropout"], **vectors,
        )
    return build_sequence_classifier(
        vocabulary_size, num_classes, embedding_dim=settings["embedding_dim"],
        pooling=settings["pooling"], head_dropout=settings["head_dropout"], cell=model,
        units=tuple(settings["units"]), bidirectional=settings["bidirectional"],
        merge_mode=settings["merge_mode"], dropout=settings["dropout"],
        recurrent_dropout=settings["recurrent_dropout"], **vectors,
    )


def describe_model(settings):
    """One line for a summary, e.g. "BiGRU 128 -> max pooling, embedding 128"."""
    model = settings["model"]
    if settings.get("word_vectors"):
        how = "frozen" if settings["freeze_vectors"] else "fine-tuned"
        return (describe_model({**settings, "word_vectors": None})
                + f" from word vectors ({how})")
    if model == "fasttext":
        return f"fastText bag (mean of embeddings {settings['embedding_dim']})"
    if model == "nbsvm":
        dropout = f", dropout {settings['dropout']:g}" if settings["dropout"] else ""
        return f"NBSVM (naive-Bayes-scaled weights of the distinct n-grams{dropout})"
    if model == "cnn":
        sizes = "/".join(str(size) for size in settings["kernel_sizes"])
        return (f"CNN, kernels {sizes} x {settings['filters']} filters -> max pooling, "
                f"embedding {settings['embedding_dim']}")
    name = {"lstm": "LSTM", "gru": "GRU", "simple_rnn": "SimpleRNN"}[model]
    name = ("Bi" if settings["bidirectional"] else "") + name
    units = " ".join(str(units) for units in settings["units"])
    pooling = {"last": "last output", "mean": "mean pooling", "max": "max pooling"}
    return (f"{name} {units} -> {pooling[settings['pooling']]}, "
            f"embedding {settings['embedding_dim']}")


def defaults_text(name, models=MODELS):
    """The defaults of setting `name` across `models`, for help texts: "128; fasttext 64"."""
    groups = {}
    for model in models:
        if name in SETTINGS[model]:
            value = DEFAULTS[model][name]
            value = (" ".join(map(str, value)) if isinstance(value, tuple)
                     else "none" if value is None else str(value))
            groups.setdefault(value, []).append(model)
    if len(groups) == 1:
        return next(iter(groups))
    common = max(groups, key=lambda value: len(groups[value]))
    return "; ".join([common] + [f"{'/'.join(models)} {value}"
                                 for value, models in groups.items() if value != common])


def add_model_flags(parser, *, models=MODELS, model_default="see the recipe", notes=None):
    """Adds --model and every model setting's flag.

    `notes` maps a setting to a remark added to its default in the help, e.g. a recipe's
    own default for one language.

    A flag left out is absent from the parsed arguments (`argparse.SUPPRESS`), so the
    recipe's function receives its own default (None: "the model's default").
    """
    group = parser.add_argument_group("model")
    notes = notes or {}

    def add(flag, help, **kwargs):
        name = flag[2:].replace("-", "_")
        if name in ALL_SETTINGS:
            users = [model for model in models if name in SETTINGS[model]]
            which = "" if users == list(models) else f"{'/'.join(users)}; "
            note = f"; {notes[name]}" if name in notes else ""
            help = f"{help} ({which}default: {defaults_text(name, users)}{note})"
        group.add_argument(flag, default=argparse.SUPPRESS, help=help, **kwargs)

    add("--model", f"one of {', '.join(models)} (default: {model_default})")
    add("--embedding-dim", "embedding width; with --word-vectors, the file's dimension",
        type=int)
    add("--units", "one recurrent layer per value, e.g. --units 128 64", type=int, nargs="+")
    add("--bidirectional", "wrap each recurrent layer in Bidirectional",
        action=argparse.BooleanOptionalAction)
    add("--merge-mode", f"how the two directions merge: {', '.join(wiring.MERGE_MODES)}")
    add("--pooling", f"how the outputs over time become one vector: {', '.join(POOLINGS)}")
    add("--kernel-sizes", "convolution widths, e.g. --kernel-sizes 3 4 5", type=int,
        nargs="+")
    add("--filters", "feature maps per kernel size", type=int)
    add("--dropout", "recurrent: dropout on each layer's inputs; cnn, fasttext: dropout "
        "before the head; nbsvm: share of a text's n-grams dropped", type=float)
    add("--recurrent-dropout", "dropout on the recurrent state (disables the fast kernels)",
        type=float)
    add("--head-dropout", "dropout before the head", type=float)
    add("--word-vectors", "a GloVe, word2vec (text or binary) or fastText (.vec or .bin) "
        "file the embedding starts from; its dimension is the embedding width", metavar="FILE")
    add("--freeze-vectors", "keep the word vectors unchanged in training (--no-freeze-vectors: "
        "fine-tune them)", action=argparse.BooleanOptionalAction)
    return group
