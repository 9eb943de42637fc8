"""The portable reader: ONNX and LiteRT exports served with NumPy, never TensorFlow.

`seqrecipes RECIPE export RUN DIR --format onnx` (or `litert`) writes the numeric part of a
run's model with `seqrecipes.json` beside it (`recipes.engine.portable_export`); `load(DIR)`
reads that folder back and returns the recipe's model object, which takes raw input:

    >>> import seqrecipes.portable
    >>> model = seqrecipes.portable.load("exports/sentiment-onnx")   # doctest: +SKIP
    >>> model.predict(["A brilliant, moving film."])                  # doctest: +SKIP

Needs only NumPy and the format's runtime (`pip install "seqrecipes[portable]"`:
onnxruntime, ai-edge-litert). Nothing here imports TensorFlow or Keras, directly or through
`seqrecipes`: tests/recipes/sentiment/test_sentiment_portable.py checks `sys.modules` in a
fresh process. Like `seqrecipes.errors`, it is the package's bottom layer: it imports only
the top-level modules, and the recipes and models reuse its TensorFlow-free pieces.
"""

import importlib
import json
import pathlib

from seqrecipes.errors import RunDirectoryError

# The writer (`recipes.engine.portable_export`) takes these from here.
DESCRIPTION_FILE = "seqrecipes.json"  # `artifacts.write_export` knows it as an export of ours
DESCRIPTION_VERSION = 1  # the layout of seqrecipes.json; a reader refuses a newer one
SAVED_MODEL_FILE = "saved_model.pb"  # what a SavedModel export holds instead
# recipe (as seqrecipes.json names it) -> the module whose `load(export_dir, description,
# **options)` serves it.
READERS = {
    "sentiment": "seqrecipes.portable.sentiment",
    "ner": "seqrecipes.portable.ner",
    "char-lm": "seqrecipes.portable.char_lm",
    "timeseries": "seqrecipes.portable.timeseries",
}


def read_description(export_dir):
    """The `seqrecipes.json` of a portable export, checked; raises `RunDirectoryError`."""
    export_dir = pathlib.Path(export_dir)
    path = export_dir / DESCRIPTION_FILE
    if not path.is_file():
        saved_model = (export_dir / SAVED_MODEL_FILE).is_file()
        raise RunDirectoryError(
            f"`export_dir`: {str(export_dir)!r} "
            + ("holds a SavedModel, which TensorFlow serves "
               f"(tf.saved_model.load({str(export_dir)!r}))" if saved_model
               else f"has no {DESCRIPTION_FILE}, so it is no portable export")
            + ". Write one with `seqrecipes RECIPE export RUN DIR --format onnx` (or litert)."
        )
    description = json.loads(path.read_text("utf-8"))
    version = description.get("description_version")
    if not isinstance(version, int) or version > DESCRIPTION_VERSION:
        raise RunDirectoryError(
            f"{str(path)!r} has the layout version {version!r}; this seqrecipes reads up to "
            f"{DESCRIPTION_VERSION}. Upgrade seqrecipes, or export the run again with this one."
        )
    if description.get("format") not in ("onnx", "litert"):
        raise RunDirectoryError(
            f"{str(path)!r} describes format={description.get('format')!r}; the portable "
            "reader reads 'onnx' and 'litert' exports.")
    if description.get("recipe") not in READERS:
        raise RunDirectoryError(
            f"{str(path)!r} holds a {description.get('recipe')!r} export; the portable reader "
            f"serves {', '.join(repr(name) for name in READERS)}.")
    return description


def load(export_dir, **options):
    """Loads a portable (ONNX or LiteRT) export for its recipe.

    Args:
        export_dir: str or path-like. A folder written by `RECIPE export --format onnx` or
            `--format litert`.
        **options: passed to the recipe's reader, e.g. `threads` (the runtime's intra-op
            threads; None: its default).

    Returns:
        The recipe's model: `portable.sentiment.SentimentModel`,
        `portable.timeseries.SeriesModel`, ...

    Raises:
        RunDirectoryError: no portable export there, or one this version cannot read.
        MissingDependencyError: the format's runtime is not installed.
    """
    description = read_description(export_dir)
    module = importlib.import_module(READERS[description["recipe"]])
    return module.load(pathlib.Path(export_dir), description, **options)
