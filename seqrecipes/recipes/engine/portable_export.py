"""Portable exports: a model's numeric part as ONNX or LiteRT, described in `seqrecipes.json`.

A SavedModel carries the whole Keras model, string layers included. ONNX and LiteRT have no
string operations (`TextVectorization`, `StringLookup`), so a portable export holds the part
of the model that takes ids (`export_graph`) and, beside it, what `seqrecipes.portable` needs
to turn raw input into those ids and the outputs into answers (`write_description`):
vocabularies, tokeniser settings, labels, and the graph's input and output names, dtypes and
shapes as the graph itself declares them. Every recipe's `export` writes the folder through
`artifacts.write_export` (atomic, guarded); `seqrecipes.json` is what marks it as ours.

Both graphs come from Keras's own exporters (`model.export(format="onnx")`, through tf2onnx
on the TensorFlow backend, and `model.export(format="litert")`). The LiteRT graph is limited
to LiteRT's built-in operations: Keras also allows TensorFlow ("Flex") operations, which the
`ai-edge-litert` runtime cannot run, so a graph that needs one is refused at conversion rather
than written and found unusable where it is served.
"""

import contextlib
import importlib.util
import io
import json
import logging
import pathlib
import warnings

from seqrecipes import _validation
from seqrecipes.errors import InvalidArgumentError, MissingDependencyError
# seqrecipes.json (`artifacts.EXPORT_DESCRIPTION_FILE` recognises it as an export of ours)
# and its layout version, as the reader defines them.
from seqrecipes.portable import DESCRIPTION_FILE, DESCRIPTION_VERSION  # noqa: F401
from seqrecipes.recipes.engine import artifacts

FORMATS = ("savedmodel", "onnx", "litert")
GRAPH_FILES = {"onnx": "model.onnx", "litert": "model.tflite"}
EXPORT_INSTALL = 'pip install "seqrecipes[export]"'


def check_format(format, *, refused=None):
    """Checks `format` (one of `FORMATS`) and refuses one the model cannot take.

    Args:
        format: str. The requested format.
        refused: dict or None. Format -> why this model cannot take it (measured, in words).

    Returns:
        `format`.

    Raises:
        InvalidArgumentError: an unknown format, or one in `refused` (the message gives the
            reason and the formats that work).
    """
    _validation.check_choice("format", format, FORMATS)
    refused = refused or {}
    if format in refused:
        others = [name for name in FORMATS if name not in refused]
        raise InvalidArgumentError(
            f"This model cannot be exported with format={format!r}: {refused[format]} "
            f"Choose format={others[0]!r}"
            + (f" (or {', '.join(repr(name) for name in others[1:])})." if others[1:] else ".")
        )
    return format


def _require(module, what):
    if importlib.util.find_spec(module) is None:
        raise MissingDependencyError(
            f"Exporting to {what} needs the `{module}` package, which is not installed. "
            f"Install it with: {EXPORT_INSTALL}"
        )


@contextlib.contextmanager
def _quiet_converters():
    """tf2onnx logs every rewriter pass at INFO and prints; the export says what it wrote."""
    loggers = [logging.getLogger(name) for name in ("tf2onnx", "absl", "tensorflow")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            # keras.src.export.tf2onnx_lib probes `np.object` (NumPy 2 warns).
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _has_recurrent_layer(model):
    import keras

    return any(isinstance(layer, keras.layers.RNN) for layer in model._flatten_layers())


def input_signature_of(model, *, batch_size=None):
    """The model's input signature as Keras's exporters build it, batch fixed to
    `batch_size` (None: free). Passed explicitly, it also spares Keras's ONNX exporter its
    "model has never called" refusal of a model built but not yet run (an export wrapper)."""
    import keras
    from keras.src.export.export_utils import get_input_signature  # what model.export uses

    def fixed(spec):
        return keras.InputSpec(shape=(batch_size, *spec.shape[1:]), dtype=spec.dtype,
                               name=spec.name)

    return keras.tree.map_structure(fixed, get_input_signature(model))


def export_graph(model, staging, fmt, *, input_signature=None):
    """Writes `model` as `model.onnx` or `model.tflite` into `staging`; returns the file's path.

    Args:
        model: a Keras model over numbers (ids, floats): no string layers.
        staging: path-like. The (staging) export directory; it exists.
        fmt: str. "onnx" or "litert".
        input_signature: list of `keras.InputSpec` / `tf.TensorSpec`, or None: the model's
            own inputs (`input_signature_of`), batch and steps left free, except that a
            LiteRT graph of a model with a recurrent layer takes a batch of one (the comment
            below says why). Names given here name the graph's inputs.

    Returns:
        The `pathlib.Path` of the graph file.

    Raises:
        MissingDependencyError: tf2onnx or onnx is not installed (ONNX).
    """
    _validation.check_choice("fmt", fmt, tuple(GRAPH_FILES))
    path = pathlib.Path(staging, GRAPH_FILES[fmt])
    if input_signature is None:
        # A recurrent layer's loop keeps its steps in a TensorList whose element shape is
        # (batch, units); LiteRT's built-in operations need that shape static, and with a
        # free batch the converter fails ("'tf.TensorListReserve' op requires element_shape
        # to be static", measured on LSTM, BiLSTM, GRU and SimpleRNN classifiers, TF 2.21).
        # With a batch of one the same models convert and match Keras within 6e-8; the
        # reader (`portable.runtime.Session`) feeds such a graph one row per call.
        one = fmt == "litert" and _has_recurrent_layer(model)
        input_signature = input_signature_of(model, batch_size=1 if one else None)
    if fmt == "onnx":
        _require("tf2onnx", "ONNX")
        _require("onnx", "ONNX")
        with _quiet_converters():
            model.export(str(path), format="onnx", verbose=False,
                         input_signature=input_signature)
    else:
        import tensorflow as tf

        with _quiet_converters():
            model.export(
                str(path), format="litert", verbose=False, input_signature=input_signature,
                target_spec={"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]},
            )
    return path


def text_vectorizer_settings(vectorizer):
    """`portable.text.TextVectorizer`'s settings for a Keras `TextVectorization` of ours.

    Returns:
        `{"standardize", "split", "ngrams"}`: the standardisation by name (ours are
        registered functions: `datasets.vocab.STANDARDIZE`), the split, the n-gram length.
    """
    config = vectorizer.get_config()
    standardize = config["standardize"]
    if callable(standardize):
        standardize = standardize.__name__
    ngrams = config["ngrams"]
    if isinstance(ngrams, (tuple, list)):  # Keras keeps (1, ..., n) once built
        ngrams = max(ngrams)
    return {"standardize": standardize, "split": config["split"], "ngrams": ngrams}


def _dtype_name(dtype):
    import numpy as np

    return np.dtype(dtype).name


def graph_signature(path):
    """The inputs and outputs a written graph declares: `{"inputs": [...], "outputs": [...]}`.

    Each entry is `{"name", "dtype", "shape"}` (NumPy dtype name; None for a free dimension),
    in the order the runtime lists them, read from the graph itself (onnx, or the LiteRT
    interpreter's one signature, also
    given as "signature"), so the description cannot drift from the file.
    """
    path = pathlib.Path(path)
    if path.suffix == ".onnx":
        import onnx
        from onnx import helper

        graph = onnx.load(str(path), load_external_data=False).graph
        initializers = {tensor.name for tensor in graph.initializer}

        def entry(value):
            tensor = value.type.tensor_type
            shape = [dim.dim_value if dim.HasField("dim_value") else None
                     for dim in tensor.shape.dim]
            return {"name": value.name, "dtype": _dtype_name(
                helper.tensor_dtype_to_np_dtype(tensor.elem_type)), "shape": shape}

        return {"inputs": [entry(v) for v in graph.input if v.name not in initializers],
                "outputs": [entry(v) for v in graph.output]}
    _require("ai_edge_litert", "LiteRT")
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    # Keras's exporter writes one signature ("serving_default" with TF 2.21).
    (signature,) = interpreter.get_signature_list()
    runner = interpreter.get_signature_runner(signature)

    def entries(details):
        return [{"name": name, "dtype": _dtype_name(detail["dtype"]),
                 "shape": [None if size < 0 else int(size)
                           for size in detail["shape_signature"]]}
                for name, detail in details.items()]

    return {"signature": signature, "inputs": entries(runner.get_input_details()),
            "outputs": entries(runner.get_output_details())}


def write_description(staging, description):
    """Writes `seqrecipes.json` into `staging`: what the portable reader needs beside the graph.

    `description` holds at least "recipe" and "format"; for ONNX and LiteRT also "graph" (the
    file name), and the recipe's preprocessing settings and labels. The graph's inputs and
    outputs (`graph_signature`), the layout version and the package versions are added here.

    Returns:
        The `pathlib.Path` of the file written.
    """
    description = dict(description)
    for key in ("recipe", "format"):
        if key not in description:
            raise InvalidArgumentError(
                f"`description` must hold {key!r}. Received the keys {sorted(description)}.")
    staging = pathlib.Path(staging)
    description["description_version"] = DESCRIPTION_VERSION
    graph = description.get("graph")
    if graph is not None:
        description.update(graph_signature(staging / graph))
    description.setdefault("versions", artifacts.package_versions())
    path = staging / DESCRIPTION_FILE
    path.write_text(json.dumps(description, indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return path
