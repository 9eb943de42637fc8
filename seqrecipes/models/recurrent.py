"""Recurrent model builders: classifier (many-to-one), tagger (many-to-many), regressor, encoder.

Each builder is assembled from three pieces: `input_layers` (an `Embedding` for token ids, or a
numeric input of `input_dim` features), `recurrent_stack` (SimpleRNN / LSTM / GRU layers, each
optionally `Bidirectional`, wired by `seqrecipes.models.wiring`) and a head. They return
`Sequential` models except `build_recurrent_encoder`, whose several outputs need the functional
API.
"""

import keras

from seqrecipes import _validation
from seqrecipes.models import params, sizes, wiring
from seqrecipes.models.embedding import token_embedding
from seqrecipes.models.layers import MaskedGlobalAveragePooling1D, MaskedGlobalMaxPooling1D
from seqrecipes.models.options import POOLINGS

LAYER_CLASSES = {  # `cell` option -> Keras layer class
    "simple_rnn": keras.layers.SimpleRNN,
    "lstm": keras.layers.LSTM,
    "gru": keras.layers.GRU,
}


def _check_input(vocabulary_size, input_dim, embedding_dim, sequence_length, mask_zero):
    _validation.check_conflict(
        (vocabulary_size is None) == (input_dim is None),
        "Pass exactly one of `vocabulary_size` (token ids go through an Embedding) and "
        "`input_dim` (numeric features per step). "
        f"Received: vocabulary_size={vocabulary_size!r}, input_dim={input_dim!r}.",
    )
    if vocabulary_size is not None:
        _validation.check_positive_int("vocabulary_size", vocabulary_size)
        _validation.check_positive_int("embedding_dim", embedding_dim)
    else:
        _validation.check_positive_int("input_dim", input_dim)
    _validation.check_positive_int("sequence_length", sequence_length, allow_none=True)
    _validation.check_bool("mask_zero", mask_zero)


def _check_stack(cell, units, bidirectional, merge_mode, dropout, recurrent_dropout):
    _validation.check_choice("cell", cell, wiring.CELLS)
    units = _validation.check_positive_ints("units", units)
    _validation.check_bool("bidirectional", bidirectional)
    _validation.check_choice("merge_mode", merge_mode, wiring.MERGE_MODES)
    _validation.check_fraction("dropout", dropout)
    _validation.check_fraction("recurrent_dropout", recurrent_dropout)
    return units


def input_layers(
    vocabulary_size=None,
    *,
    input_dim=None,
    embedding_dim=64,
    sequence_length=None,
    mask_zero=True,
    embeddings=None,
    train_embeddings=True,
):
    """Returns the input layers: `Input` then `Embedding` (or `Masking` for numeric input).

    Args:
        vocabulary_size: int or None. Number of token ids, padding (0) and OOV (1) included.
        input_dim: int or None. Features per step for numeric input (instead of a vocabulary).
        embedding_dim: int. Width of each token's embedding. Defaults to 64.
        sequence_length: int or None. Fixed length, or None for any length (bucketed batches).
        mask_zero: bool. Treat id 0 (or an all-zero feature vector) as padding that recurrent
            layers skip. Defaults to True.
        embeddings: array-like `[vocabulary_size, embedding_dim]` or None. The embedding's
            initial table, e.g. pretrained word vectors (`datasets.vectors_for_vocabulary`);
            it is saved in model.keras as the layer's weights (`token_embedding`). None:
            random.
        train_embeddings: bool. Fine-tune the embedding (True) or freeze it. Defaults to True.

    Returns:
        A list of Keras layers (an `Input` first).
    """
    _check_input(vocabulary_size, input_dim, embedding_dim, sequence_length, mask_zero)
    if vocabulary_size is not None:
        return [
            keras.Input(shape=(sequence_length,), dtype="int32", name="token_ids"),
            token_embedding(vocabulary_size, embedding_dim, embeddings=embeddings,
                            train_embeddings=train_embeddings, mask_zero=mask_zero),
        ]
    _validation.check_conflict(
        embeddings is not None or train_embeddings is not True,
        "`embeddings` and `train_embeddings` are for token ids (`vocabulary_size`), not "
        f"numeric input (`input_dim`={input_dim}). Leave them out.",
    )
    layers = [keras.Input(shape=(sequence_length, input_dim), name="features")]
    if mask_zero:
        layers.append(keras.layers.Masking(mask_value=0.0, name="masking"))
    return layers


def recurrent_layer(
    cell,
    units,
    *,
    return_sequences,
    return_state=False,
    bidirectional=False,
    merge_mode="concat",
    dropout=0.0,
    recurrent_dropout=0.0,
    name=None,
):
    """Returns one SimpleRNN / LSTM / GRU layer, wrapped in `Bidirectional` if asked.

    `return_sequences` has no default: the caller gets it from `wiring.return_sequences`.
    """
    layer = LAYER_CLASSES[cell](
        units,
        return_sequences=return_sequences,
        return_state=return_state,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        name=None if bidirectional else name,
    )
    if bidirectional:
        layer = keras.layers.Bidirectional(layer, merge_mode=merge_mode, name=name)
    check_recurrent_fits(layer, cell, units)
    return layer


def check_recurrent_fits(layer, cell, units):
    """Refuses an unbuilt recurrent `layer` whose weights cannot fit in memory (`sizes`);
    its input width is not known yet, so 0 stands for it (a lower bound)."""
    count = params.evaluate_formula(params.layer_formula(layer, 0))
    sizes.check_parameters_fit(count, f"{LAYER_CLASSES[cell].__name__}(`units`={units})",
                               fix="Choose fewer `units`.")


def recurrent_stack(
    task,
    *,
    cell="lstm",
    units=64,
    bidirectional=False,
    merge_mode="concat",
    dropout=0.0,
    recurrent_dropout=0.0,
    return_state=False,
):
    """Returns the recurrent layers of a stack, wired for `task` by `wiring.return_sequences`.

    Args:
        task: str. "many_to_one", "many_to_one_pooled" or "many_to_many".
        cell: str. "simple_rnn", "lstm" or "gru". Defaults to "lstm".
        units: int or tuple of ints. One layer, or one layer per entry. Defaults to 64.
        bidirectional: bool. Wrap each layer in `Bidirectional`. Defaults to False.
        merge_mode: str. How `Bidirectional` merges directions; "concat" doubles the width.
        dropout: float. Dropout on each layer's inputs. Defaults to 0.
        recurrent_dropout: float. Dropout on the recurrent state. Defaults to 0.
        return_state: bool. The last layer also returns its final states (functional API).

    Returns:
        A list of layers, input side first.
    """
    units = _check_stack(cell, units, bidirectional, merge_mode, dropout, recurrent_dropout)
    flags = wiring.return_sequences(len(units), task)
    return [
        recurrent_layer(
            cell,
            layer_units,
            return_sequences=flag,
            return_state=return_state and index == len(units) - 1,
            bidirectional=bidirectional,
            merge_mode=merge_mode,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            name=f"{cell}_{index + 1}",
        )
        for index, (layer_units, flag) in enumerate(zip(units, flags))
    ]


def _pooling_task(pooling):
    _validation.check_choice("pooling", pooling, POOLINGS)
    if pooling == "last":
        return "many_to_one", []
    if pooling == "mean":
        return "many_to_one_pooled", [MaskedGlobalAveragePooling1D(name="mean_pool")]
    return "many_to_one_pooled", [MaskedGlobalMaxPooling1D(name="max_pool")]


def build_sequence_classifier(
    vocabulary_size=None,
    num_classes=2,
    *,
    input_dim=None,
    embedding_dim=64,
    sequence_length=None,
    mask_zero=True,
    pooling="last",
    head_dropout=0.0,
    embeddings=None,
    train_embeddings=True,
    name="sequence_classifier",
    **stack,
):
    """Builds a many-to-one classifier: Embedding -> recurrent stack -> Dense.

    The last recurrent layer returns only its final output (or, with `pooling="mean"` or
    `"max"`, every layer returns sequences and a masked pooling layer reduces them), and a
    `Dense` head gives one sigmoid unit for two classes or a softmax over `num_classes`.

    Args:
        vocabulary_size: int or None. Number of token ids (padding 0 and OOV 1 included).
        num_classes: int >= 2. Defaults to 2 (one sigmoid unit).
        input_dim: int or None. Features per step, for numeric input instead of token ids.
        embedding_dim: int. Defaults to 64.
        sequence_length: int or None. Defaults to None (any length).
        mask_zero: bool. Padding (id 0) is skipped. Defaults to True.
        pooling: str. "last" (the last layer's final output), "mean" or "max" over time.
        head_dropout: float. Dropout before the head. Defaults to 0.
        embeddings: array-like `[vocabulary_size, embedding_dim]` or None. Initial embedding
            table (pretrained word vectors); saved in model.keras as weights. None: random.
        train_embeddings: bool. Fine-tune the embedding (True) or freeze it. Defaults to True.
        name: str. The model's name.
        **stack: `cell`, `units`, `bidirectional`, `merge_mode`, `dropout`,
            `recurrent_dropout`, as in `recurrent_stack`.

    Returns:
        A `keras.Sequential` model.

    Example:

    >>> model = build_sequence_classifier(100, 3, cell="gru", units=(8, 4), bidirectional=True)
    >>> model.output_shape
    (None, 3)
    """
    _validation.check_num_classes(num_classes)
    binary = num_classes == 2
    head = keras.layers.Dense(
        1 if binary else num_classes, activation="sigmoid" if binary else "softmax", name="head"
    )
    return _build_stack_model(
        vocabulary_size, input_dim, embedding_dim, sequence_length, mask_zero, pooling,
        head_dropout, head, name, stack,
        embedding={"embeddings": embeddings, "train_embeddings": train_embeddings},
    )


def build_sequence_regressor(
    input_dim=None,
    num_outputs=1,
    *,
    vocabulary_size=None,
    embedding_dim=64,
    sequence_length=None,
    mask_zero=False,
    pooling="last",
    head_dropout=0.0,
    name="sequence_regressor",
    **stack,
):
    """Builds a many-to-one regressor (e.g. next value of a time series): a linear head.

    Args:
        input_dim: int. Features per step. Defaults to None (then give `vocabulary_size`).
        num_outputs: int. Values predicted per sequence. Defaults to 1.
        mask_zero: bool. Treat all-zero steps as padding. Defaults to False, because 0.0 is a
            real value in most series.
        Others: as in `build_sequence_classifier`.

    Returns:
        A `keras.Sequential` model.

    Example:

    >>> model = build_sequence_regressor(3, units=4, sequence_length=10)
    >>> model.output_shape
    (None, 1)
    """
    _validation.check_positive_int("num_outputs", num_outputs)
    head = keras.layers.Dense(num_outputs, name="head")
    return _build_stack_model(
        vocabulary_size, input_dim, embedding_dim, sequence_length, mask_zero, pooling,
        head_dropout, head, name, stack,
    )


def _build_stack_model(
    vocabulary_size, input_dim, embedding_dim, sequence_length, mask_zero, pooling,
    head_dropout, head, name, stack, embedding=None,
):
    _validation.check_fraction("head_dropout", head_dropout)
    inputs = input_layers(
        vocabulary_size,
        input_dim=input_dim,
        embedding_dim=embedding_dim,
        sequence_length=sequence_length,
        mask_zero=mask_zero,
        **(embedding or {}),
    )
    task, pool = _pooling_task(pooling)
    layers = inputs + recurrent_stack(task, **stack) + pool
    if head_dropout:
        layers.append(keras.layers.Dropout(head_dropout, name="head_dropout"))
    return keras.Sequential(layers + [head], name=name)


def build_sequence_tagger(
    vocabulary_size=None,
    num_tags=2,
    *,
    input_dim=None,
    embedding_dim=64,
    sequence_length=None,
    mask_zero=True,
    head_dropout=0.0,
    embeddings=None,
    train_embeddings=True,
    name="sequence_tagger",
    **stack,
):
    """Builds a many-to-many tagger: every recurrent layer returns sequences, Dense per step.

    Args:
        vocabulary_size: int or None. Number of token ids (padding 0 and OOV 1 included).
        num_tags: int >= 2. Size of the softmax at every step.
        input_dim: int or None. Features per step (frame-level labelling of numeric input).
        Others (`embeddings`, `train_embeddings` included): as in
            `build_sequence_classifier`.

    Returns:
        A `keras.Sequential` model whose output is `(batch, steps, num_tags)`.

    Example:

    >>> model = build_sequence_tagger(100, 9, units=(4, 4), bidirectional=True)
    >>> model.output_shape
    (None, None, 9)
    """
    _validation.check_positive_int("num_tags", num_tags)
    _validation.check_fraction("head_dropout", head_dropout)
    layers = input_layers(
        vocabulary_size,
        input_dim=input_dim,
        embedding_dim=embedding_dim,
        sequence_length=sequence_length,
        mask_zero=mask_zero,
        embeddings=embeddings,
        train_embeddings=train_embeddings,
    ) + recurrent_stack("many_to_many", **stack)
    if head_dropout:
        layers.append(keras.layers.Dropout(head_dropout, name="head_dropout"))
    head = keras.layers.Dense(num_tags, activation="softmax", name="head")
    return keras.Sequential(layers + [head], name=name)


def build_recurrent_encoder(
    vocabulary_size=None,
    *,
    input_dim=None,
    embedding_dim=64,
    sequence_length=None,
    mask_zero=True,
    return_sequences=False,
    return_state=True,
    concatenate_states=False,
    embeddings=None,
    train_embeddings=True,
    name="recurrent_encoder",
    **stack,
):
    """Builds a functional encoder that returns its output and, by name, its final states.

    The outputs are a list in Keras's order, each an `Identity` layer named after what it is:
    `["output", "h"]` for SimpleRNN / GRU, `["output", "h", "c"]` for LSTM and, bidirectional,
    `["output", "forward_h", ("forward_c",) "backward_h", ("backward_c")]`: 5 tensors for LSTM
    and 3 for GRU / SimpleRNN. With `concatenate_states=True` each forward / backward pair is
    joined into one state twice as wide (`["output", "h", "c"]`), ready to initialise a
    decoder of `2 * units`. Only the last layer of a stack gives states.

    Args:
        return_sequences: bool. Output every step (True) or the last output (False).
        return_state: bool. Add the final states after the output. Defaults to True.
        concatenate_states: bool. Join forward and backward states (bidirectional only).
        Others: as in `input_layers` and `recurrent_stack`.

    Returns:
        A functional `keras.Model`.

    Example:

    >>> model = build_recurrent_encoder(100, cell="lstm", units=4, bidirectional=True)
    >>> model.output_names
    ['output', 'forward_h', 'forward_c', 'backward_h', 'backward_c']
    >>> [tuple(shape) for shape in model.output_shape]
    [(None, 8), (None, 4), (None, 4), (None, 4), (None, 4)]
    """
    _validation.check_bool("return_sequences", return_sequences)
    _validation.check_bool("return_state", return_state)
    _validation.check_bool("concatenate_states", concatenate_states)
    cell = stack.get("cell", "lstm")
    bidirectional = stack.get("bidirectional", False)
    _validation.check_conflict(
        concatenate_states and not (bidirectional and return_state),
        "`concatenate_states=True` joins forward and backward states, so it needs "
        "`bidirectional=True` and `return_state=True`. Received: "
        f"concatenate_states=True, bidirectional={bidirectional!r}, "
        f"return_state={return_state!r}.",
    )
    task = "many_to_many" if return_sequences else "many_to_one"
    layers = input_layers(
        vocabulary_size,
        input_dim=input_dim,
        embedding_dim=embedding_dim,
        sequence_length=sequence_length,
        mask_zero=mask_zero,
        embeddings=embeddings,
        train_embeddings=train_embeddings,
    ) + recurrent_stack(task, return_state=return_state, **stack)
    inputs = layers[0]
    results = inputs
    for layer in layers[1:]:
        results = layer(results)
    if not return_state:
        output = keras.layers.Identity(name="output")(results)
        return keras.Model(inputs, output, name=name)
    output, states = results[0], list(results[1:])
    names = list(wiring.state_names(cell, bidirectional))
    if concatenate_states:
        half = len(states) // 2
        states = [
            keras.layers.Concatenate(name=f"{names[i][len('forward_'):]}_concat")(
                [states[i], states[half + i]]
            )
            for i in range(half)
        ]
        names = list(wiring.state_names(cell))
    outputs = [keras.layers.Identity(name="output")(output)] + [
        keras.layers.Identity(name=state_name)(state) for state_name, state in zip(names, states)
    ]
    return keras.Model(inputs, outputs, name=name)
