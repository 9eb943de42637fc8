"""Parameter counts in closed form, one row per layer, checked against Keras's own count.

With d the input width (features per step) and u the units:

* Embedding: V*d (vocabulary times embedding width).
* SimpleRNN: u(d+u)+u: an input kernel d*u, a recurrent kernel u*u and a bias u.
* LSTM: 4[u(d+u)+u]: the same for each of the four gates i, f, g (the candidate) and o.
* GRU: 3[u(d+u)+u] with `reset_after=False`; 3[u(d+u)+2u] with Keras's default
  `reset_after=True`, which keeps a second bias for the recurrent kernel.
* Bidirectional: twice its layer (forward plus backward), TimeDistributed: its layer once.
* Dense: (i+1)*o. Conv1D: (k*d+1)*f. Without a bias the "+1" / "+u" terms go.
* Input, dropout, masking, pooling, reshape, concatenate, identity, ...: 0.

None of these contains the sequence length: every step reuses the same weights, so a model
built for 10 steps and for 1000 steps has the same count (`counts_by_length` shows it). For a
model that takes raw texts the steps are the token ids its `TextVectorization` makes
(`time_axes` names what counts as the steps).

A layer this module does not know (a custom layer, a CRF, a quantised or LoRA layer) gets
"no formula" rather than a guess; other modules teach it theirs with `register_formula`. A
layer that holds no weight at all (string preprocessing: `TextVectorization`, `StringLookup`)
counts 0, which is no guess.
Formulas are looked up by the layer's exact class: a subclass may add weights, so it must be
registered itself (as `MaskedConv1D` is below).

The wiring diagnosis (`diagnose_wiring`, `explain_build_error`) lives in
`seqrecipes.models.diagnosis` and is re-exported here.
"""

import ast
import copy
import numbers
import operator

import keras
import pandas as pd

from seqrecipes import _validation
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.models.diagnosis import diagnose_wiring, explain_build_error  # noqa: F401
from seqrecipes.models.embedding import Embedding
from seqrecipes.models.layers import (
    MaskedConv1D,
    MaskedGlobalAveragePooling1D,
    MaskedGlobalMaxPooling1D,
)

NO_FORMULA = "no formula"
COLUMNS = (
    "layer", "class", "input_width", "output_shape", "formula", "count", "keras_count",
    "trainable",
)

# Exact layer class -> formula(layer, input_width) returning an arithmetic string or None.
_FORMULAS = {}


def register_formula(layer_class, formula):
    """Teaches `parameter_table` the closed-form count of one layer class.

    Args:
        layer_class: a `keras.layers.Layer` subclass. Matched exactly (not its subclasses).
        formula: callable `formula(layer, input_width) -> str | None`: the count as arithmetic
            on integers with the layer's numbers put in (e.g. ``"4*(8*(4+8)+8)"``), or None
            when this layer's configuration has no formula. `input_width` is the last
            dimension of the layer's input (None if unknown).

    Example:

    >>> class Scale(keras.layers.Layer):
    ...     def build(self, input_shape):
    ...         self.scale = self.add_weight(shape=(input_shape[-1],))
    ...     def call(self, x):
    ...         return x * self.scale
    >>> register_formula(Scale, lambda layer, d: f"{d}")
    >>> model = keras.Sequential([keras.Input((5, 3)), Scale(name="scale")])
    >>> parameter_table(model)[["layer", "formula", "count", "keras_count"]].values.tolist()
    [['scale', '3', 3, 3]]
    """
    if not (isinstance(layer_class, type) and issubclass(layer_class, keras.layers.Layer)):
        raise InvalidArgumentError(
            "`layer_class` must be a keras.layers.Layer subclass. "
            f"Received: layer_class={layer_class!r} ({type(layer_class).__name__})."
        )
    if not callable(formula):
        raise InvalidArgumentError(
            "`formula` must be a callable formula(layer, input_width) -> str | None. "
            f"Received: formula={formula!r} ({type(formula).__name__})."
        )
    _FORMULAS[layer_class] = formula


def _recurrent(layer, d):
    if d is None:
        return None
    cell = getattr(layer, "cell", layer)
    u, bias = cell.units, cell.use_bias
    core = f"{u}*({d}+{u})"  # input kernel d*u plus recurrent kernel u*u
    if isinstance(cell, keras.layers.LSTMCell):
        return f"4*({core}+{u})" if bias else f"4*{core}"
    if isinstance(cell, keras.layers.GRUCell):
        if not bias:
            return f"3*{core}"
        return f"3*({core}+2*{u})" if cell.reset_after else f"3*({core}+{u})"
    return f"{core}+{u}" if bias else core


def _dense(layer, d):
    if d is None:
        return None
    return f"({d}+1)*{layer.units}" if layer.use_bias else f"{d}*{layer.units}"


def _conv1d(layer, d):
    if d is None:
        return None
    k, f = layer.kernel_size[0], layer.filters
    width = d // layer.groups  # each filter sees d/groups input channels
    return f"({k}*{width}+1)*{f}" if layer.use_bias else f"{k}*{width}*{f}"


def _bidirectional(layer, d):
    forward = layer_formula(layer.forward_layer, d)
    backward = layer_formula(layer.backward_layer, d)
    if forward is None or backward is None:
        return None
    return f"2*({forward})" if forward == backward else f"({forward})+({backward})"


_ZERO_PARAMETER_LAYERS = (
    keras.layers.InputLayer, keras.layers.Dropout, keras.layers.SpatialDropout1D,
    keras.layers.GaussianNoise, keras.layers.GaussianDropout, keras.layers.Masking,
    keras.layers.MaxPooling1D, keras.layers.AveragePooling1D, keras.layers.GlobalMaxPooling1D,
    keras.layers.GlobalAveragePooling1D, MaskedGlobalMaxPooling1D, MaskedGlobalAveragePooling1D,
    keras.layers.Reshape,
    keras.layers.Flatten, keras.layers.Permute, keras.layers.RepeatVector,
    keras.layers.UpSampling1D, keras.layers.ZeroPadding1D, keras.layers.Cropping1D,
    keras.layers.Concatenate, keras.layers.Add, keras.layers.Subtract, keras.layers.Multiply,
    keras.layers.Average, keras.layers.Maximum, keras.layers.Minimum, keras.layers.Identity,
    keras.layers.Activation,
)
for _class in _ZERO_PARAMETER_LAYERS:
    register_formula(_class, lambda layer, d: "0")
for _class in (keras.layers.SimpleRNN, keras.layers.LSTM, keras.layers.GRU):
    register_formula(_class, _recurrent)
register_formula(keras.layers.Embedding, lambda layer, d: f"{layer.input_dim}*{layer.output_dim}")
register_formula(Embedding, _FORMULAS[keras.layers.Embedding])  # Keras's weights, a faster call
register_formula(keras.layers.Dense, _dense)
register_formula(keras.layers.Conv1D, _conv1d)
register_formula(MaskedConv1D, _conv1d)  # Conv1D's weights; only the call differs
register_formula(keras.layers.Bidirectional, _bidirectional)
register_formula(keras.layers.TimeDistributed, lambda layer, d: layer_formula(layer.layer, d))


def layer_formula(layer, input_width=None):
    """Returns the count formula of `layer` with its numbers put in, or None if there is none.

    Example:

    >>> layer = keras.layers.LSTM(128)
    >>> layer_formula(layer, 100)
    '4*(128*(100+128)+128)'
    >>> evaluate_formula(layer_formula(layer, 100))
    117248
    """
    formula = _FORMULAS.get(type(layer))
    if formula is None and layer.built and not layer.weights:
        # A built layer that holds no weight at all counts 0, nothing guessed: string
        # preprocessing (TextVectorization, StringLookup, lower-casing) and the like.
        return "0"
    if formula is None or getattr(layer, "lora_enabled", False):
        return None  # LoRA adds low-rank weights that no table here describes
    if getattr(layer, "quantization_mode", None):
        return None  # quantised kernels are stored in other shapes and dtypes
    return formula(layer, input_width)


_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}


def evaluate_formula(formula):
    """Evaluates an arithmetic formula of integers, `+`, `-`, `*` and parentheses."""

    def evaluate(node):
        if isinstance(node, ast.Expression):
            return evaluate(node.body)
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](evaluate(node.left), evaluate(node.right))
        raise InvalidArgumentError(
            "A formula may hold only integers, +, - and * and parentheses. "
            f"Received: formula={formula!r}."
        )

    try:
        tree = ast.parse(formula, mode="eval")
    except (SyntaxError, TypeError) as error:
        raise InvalidArgumentError(
            f"`formula` is not arithmetic. Received: formula={formula!r}."
        ) from error
    return evaluate(tree)


def _first_input(layer):
    # The first positional argument of the layer's first call. `layer.input` would also list
    # the mask Keras passed along as a keyword argument, which is not an input.
    try:
        return layer._inbound_nodes[0].arguments.args[0]
    except (AttributeError, IndexError):
        return None


def _input_width(layer):
    inputs = _first_input(layer)
    if inputs is None or isinstance(inputs, (list, tuple, dict)):
        return None  # merge layers (several inputs) need no width
    width = inputs.shape[-1] if len(inputs.shape) else None
    return width if isinstance(width, numbers.Integral) else None


def _output_shape(layer):
    try:
        output = layer.output
    except (AttributeError, ValueError):
        return ""
    if isinstance(output, (list, tuple)):
        return ", ".join(str(tuple(tensor.shape)) for tensor in output)
    return str(tuple(output.shape))


def _class_name(layer):
    inner = getattr(layer, "forward_layer", None) or getattr(layer, "layer", None)
    if isinstance(layer, (keras.layers.Bidirectional, keras.layers.TimeDistributed)):
        return f"{type(layer).__name__}({type(inner).__name__})"
    return type(layer).__name__


def _walk(model, prefix=""):
    # A nested model (a Sequential used as a layer) is opened up: its layers get rows named
    # "outer/inner", so the rows still add up to the outer model's count.
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _walk(layer, f"{prefix}{layer.name}/")
        else:
            yield prefix, layer


def _size(weights):
    return sum(int(weight.numpy().size) for weight in weights)


def parameter_table(model):
    """Returns one row per layer: its count from the closed-form formula and from Keras.

    Rows follow `model.layers` (a nested model's layers are listed under "outer/inner"
    names). A `Bidirectional` layer is one row whose formula is twice its layer's (forward
    and backward are built from one configuration), so the rows match `model.summary()`.

    Columns: `layer` (name), `class` (e.g. "Bidirectional(LSTM)"), `input_width` (last
    dimension of the input, the formula's d; empty for embeddings and merges), `output_shape`,
    `formula` (numbers put in, or "no formula"), `count` (the formula evaluated; empty
    without a formula), `keras_count` (`layer.count_params()`) and `trainable`.

    Totals are in `table.attrs`: `total` (`model.count_params()`), `trainable` and
    `non_trainable` (from the model's weights), `embedding` (the `Embedding` rows),
    `formula_total` (None when some layer has no formula), `no_formula` and `mismatched`
    (names of layers without a formula, and with a formula that disagrees with Keras).

    Args:
        model: a built `keras.Model` (Sequential or functional).

    Returns:
        A `pandas.DataFrame`.

    Example:

    >>> model = keras.Sequential(
    ...     [keras.Input((None, 100)), keras.layers.LSTM(128, name="lstm")]
    ... )
    >>> table = parameter_table(model)
    >>> table[["layer", "formula", "count", "keras_count"]].values.tolist()
    [['lstm', '4*(128*(100+128)+128)', 117248, 117248]]
    >>> table.attrs["total"]
    117248
    """
    if not isinstance(model, keras.Model):
        raise InvalidArgumentError(
            "`model` must be a keras.Model (Sequential or functional). "
            f"Received: model={model!r} ({type(model).__name__})."
        )
    _validation.check_conflict(
        not model.built,
        f"Model {model.name!r} is not built, so its layers have no weights to count. Start it "
        "with keras.Input(shape=...) or call model.build(input_shape) first.",
    )
    rows = []
    for prefix, layer in _walk(model):
        width = _input_width(layer)
        formula = layer_formula(layer, width)
        rows.append({
            "layer": prefix + layer.name,
            "class": _class_name(layer),
            "input_width": width,
            "output_shape": _output_shape(layer),
            "formula": NO_FORMULA if formula is None else formula,
            "count": None if formula is None else evaluate_formula(formula),
            "keras_count": layer.count_params() if layer.built else None,
            "trainable": bool(layer.trainable),
        })
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    for column in ("input_width", "count", "keras_count"):
        table[column] = table[column].astype("Int64")
    known = table["formula"] != NO_FORMULA
    table.attrs.update(
        total=int(model.count_params()),
        trainable=_size(model.trainable_weights),
        non_trainable=_size(model.non_trainable_weights),
        embedding=int(table.loc[table["class"] == "Embedding", "keras_count"].sum()),
        formula_total=int(table["count"].sum()) if known.all() else None,
        no_formula=table.loc[~known, "layer"].tolist(),
        mismatched=table.loc[known & (table["count"] != table["keras_count"]), "layer"].tolist(),
    )
    return table


# String preprocessing whose integer output is the sequence the model reads: its length is set
# through the layer's config, since its string input (one text per row) has no steps.
_VECTORIZERS = ("TextVectorization",)


def _is_sequence_input(shape, dtype):
    # (batch, steps) token ids or token strings, (batch, steps, features); a 2-D float input is
    # (batch, features) (a vector per example) and a 1-D input (batch,) is one value or one
    # raw text per example: neither has steps.
    if len(shape) >= 3:
        return True
    return len(shape) == 2 and ("int" in dtype or dtype == "string")


def _with_length(config, length):
    # Every time axis (the axis after the batch) becomes `length`: the sequence inputs', and
    # for raw-text inputs the one a TextVectorization makes. Returns the copy and the names of
    # the inputs and vectorizers whose axis was set, and of the inputs left alone.
    config = copy.deepcopy(config)
    varied, other = [], []  # named at the model's own level, not inside a nested model

    def visit(node, top):
        if isinstance(node, dict):
            layer = node.get("config")
            if node.get("class_name") == "InputLayer":
                shape = list(layer["batch_shape"])
                dtype = str(layer.get("dtype", "float32"))
                if _is_sequence_input(shape, dtype):
                    layer["batch_shape"] = [shape[0], length, *shape[2:]]
                    varied.append((top, f"input {layer.get('name')!r}"))
                else:
                    other.append(f"{layer.get('name')!r} (batch_shape={tuple(shape)}, "
                                 f"dtype={dtype})")
            elif node.get("class_name") in _VECTORIZERS and layer.get("output_mode") == "int":
                layer["output_sequence_length"] = length
                varied.append((top, f"the token ids out of {layer.get('name')!r}"))
            nested = isinstance(layer, dict) and "layers" in layer  # a model used as a layer
            # Each layer's recorded build shape holds the old length; without it the layer is
            # built again when the copy connects it.
            node.pop("build_config", None)
            for key, value in node.items():
                # A model built without an Input: (batch, steps, features), or a rank-2
                # shape whose second axis is open (None), holds steps.
                if key == "build_input_shape" and value is not None and (
                    len(value) >= 3 or (len(value) == 2 and value[1] is None)
                ):
                    node[key] = [value[0], length, *value[2:]]
                    varied.append((top, f"input {tuple(value)}"))
                else:
                    visit(value, top and not nested)
        elif isinstance(node, list):
            for item in node:
                visit(item, top)

    visit(config, True)
    _validation.check_conflict(
        not varied,
        f"The model's inputs have no time axis: {', '.join(other) or 'none found'}, so there "
        "is no sequence length to vary. Sequences are (batch, steps) integer token ids or "
        "token strings, (batch, steps, features), or raw texts (batch,) that a "
        "TextVectorization turns into (batch, steps) token ids.",
    )
    return config, [name for top, name in varied if top] or [name for _, name in varied]


def time_axes(model):
    """Names what `counts_by_length` sets to each length: sequence inputs and vectorizers.

    For a model that takes raw strings the steps are the token ids after its
    `TextVectorization` (or, for token strings `(batch, words)`, the words before the
    lookups); inputs without steps (a vector per example) keep their shape.

    Example:

    >>> inputs = keras.Input((None,), dtype="int32", name="token_ids")
    >>> model = keras.Model(inputs, keras.layers.Embedding(20, 4)(inputs))
    >>> time_axes(model)
    ["input 'token_ids'"]
    """
    if not isinstance(model, keras.Model):
        raise InvalidArgumentError(
            "`model` must be a keras.Model (Sequential or functional). "
            f"Received: model={model!r} ({type(model).__name__})."
        )
    return _with_length(model.get_config(), 1)[1]


def counts_by_length(model, lengths=(10, 1000)):
    """Returns `{length: count}` for copies of `model` rebuilt with each input length.

    The copy comes from the model's config with every input's time axis set to the length,
    so the same layers are counted again; only a Sequential or functional model (whose config
    round-trips) can be copied.

    Example:

    >>> model = keras.Sequential([keras.Input((None, 3)), keras.layers.GRU(4)])
    >>> counts_by_length(model)
    {10: 108, 1000: 108}
    """
    lengths = _validation.check_positive_ints("lengths", lengths)
    if not isinstance(model, keras.Model):
        raise InvalidArgumentError(
            "`model` must be a keras.Model (Sequential or functional). "
            f"Received: model={model!r} ({type(model).__name__})."
        )
    counts = {}
    for length in lengths:
        try:
            config, _ = _with_length(model.get_config(), length)
            copy_ = type(model).from_config(config)
        except InvalidArgumentError:
            raise
        except (NotImplementedError, TypeError, KeyError, ValueError) as error:
            raise InvalidArgumentError(
                f"Model {model.name!r} ({type(model).__name__}) cannot be rebuilt from its "
                f"config ({error}); pass a Sequential or functional model."
            ) from error
        counts[length] = int(copy_.count_params())
    return counts


def length_statement(counts, axes=None):
    """Returns a sentence saying whether the counts of `counts_by_length` depend on length.

    Args:
        counts: dict. `{length: count}` from `counts_by_length`.
        axes: list of str or None. What the length is the length of (`time_axes`), named
            in the sentence when given. Defaults to None.

    Example:

    >>> print(length_statement({10: 108, 1000: 108}))
    The count does not grow with sequence length: 108 parameters at length 10 and at length
    1000 alike (every step reuses the same weights).
    >>> print(length_statement({10: 108, 1000: 108}, ["the token ids out of 'vectorizer'"]))
    The count does not grow with sequence length (the steps of the token ids out of
    'vectorizer'): 108 parameters at length 10 and at length 1000 alike (every step reuses the
    same weights).
    """
    of = f" (the steps of {' and '.join(axes)})" if axes else ""
    shown = " and at length ".join(str(length) for length in counts)
    values = set(counts.values())
    if len(values) == 1:
        return (
            f"The count does not grow with sequence length{of}: {values.pop():,} parameters "
            f"at length {shown} alike (every step reuses the same weights)."
        )
    listed = ", ".join(f"{count:,} at length {length}" for length, count in counts.items())
    return (
        f"The count changes with sequence length{of} ({listed}): some layer's weights depend "
        "on the number of steps (e.g. Flatten before Dense); recurrent and convolutional "
        "layers alone never do."
    )
