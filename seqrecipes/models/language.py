"""Character (or word) language models, stateful truncated BPTT, and running them step by step.

A language model here is `Embedding -> recurrent stack (every layer returns sequences) ->
Dense` giving next-token logits at every step (many-to-many: `wiring.return_sequences(n,
"many_to_many")`). Two ways to train it:

* fixed windows (`language_model_dataset(ids, sequence_length=L)`): every window starts from
  a zero state, so the model never sees more than L tokens of context;
* stateful truncated back-propagation through time (`stateful=True` here and in
  `language_model_dataset`): the corpus is laid out as `batch_size` long streams, batch k
  holds chunk k of every stream, and each recurrent layer keeps its final state as the next
  batch's initial state (Keras's `stateful=True`: the state lives in non-trainable variables
  that `RNN.call` reads and assigns). Gradients stop at the chunk boundary (the variable read
  is a constant for the tape) while the state, and so the context, runs on through the whole
  stream. `StatefulResets` zeroes the states at the start of every epoch.

Validation and generation never touch those state variables: `run_recurrent` runs the same
cells with states passed in and returned explicitly (`keras.ops.scan` over time), for any
batch size, and also returns every hidden unit's value at every step (`inspect-cells`).
"""

import weakref

import keras
import numpy as np
import tensorflow as tf

from seqrecipes import _validation
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.models import wiring
from seqrecipes.models.recurrent import _LAYER_CLASSES


def build_language_model(
    vocabulary_size,
    *,
    cell="lstm",
    units=256,
    embedding_dim=64,
    dropout=0.0,
    stateful=False,
    batch_size=None,
    name="language_model",
):
    """Builds a next-token language model: Embedding -> recurrent stack -> Dense logits.

    Every recurrent layer returns sequences (many-to-many) and the head is a `Dense` of
    `vocabulary_size` logits at every step (train with
    `SparseCategoricalCrossentropy(from_logits=True)`). There is no padding mask: a
    language-model corpus is one unbroken stream of ids.

    Args:
        vocabulary_size: int. Number of token ids (padding 0 and OOV 1 included).
        cell: str. "lstm", "gru" or "simple_rnn". Defaults to "lstm".
        units: int or tuple of ints. One recurrent layer per entry. Defaults to 256.
        embedding_dim: int. Defaults to 64.
        dropout: float. `Dropout` after each recurrent layer (between layers and before the
            head, never on the recurrent connection). Defaults to 0.
        stateful: bool. Keep each layer's final state as the next batch's initial state
            (truncated BPTT over `language_model_dataset(stateful=True)` batches). Needs a
            fixed `batch_size`. Defaults to False.
        batch_size: int or None. The fixed batch size of a stateful model (the number of
            streams); leave None when `stateful=False`.
        name: str. The model's name.

    Returns:
        A `keras.Sequential` model whose output is `(batch, steps, vocabulary_size)` logits.

    Example:

    >>> model = build_language_model(20, cell="gru", units=(8, 4))
    >>> model.output_shape
    (None, None, 20)
    >>> build_language_model(20, units=4, stateful=True, batch_size=3).output_shape
    (3, None, 20)
    """
    _validation.check_positive_int("vocabulary_size", vocabulary_size)
    _validation.check_choice("cell", cell, wiring.CELLS)
    units = _validation.check_positive_ints("units", units)
    _validation.check_positive_int("embedding_dim", embedding_dim)
    _validation.check_fraction("dropout", dropout)
    _validation.check_bool("stateful", stateful)
    _validation.check_positive_int("batch_size", batch_size, allow_none=True)
    _validation.check_string("name", name)
    _validation.check_conflict(
        stateful and batch_size is None,
        "`stateful=True` keeps one state per stream, so it needs a fixed `batch_size` (the "
        "number of streams). Pass batch_size=... or set stateful=False.",
    )
    _validation.check_conflict(
        not stateful and batch_size is not None,
        f"`batch_size` fixes the batch of a stateful model. Received: batch_size={batch_size!r}"
        " with stateful=False. Leave batch_size out, or set stateful=True.",
    )
    layers = [
        keras.Input(batch_shape=(batch_size, None), dtype="int32", name="token_ids"),
        keras.layers.Embedding(vocabulary_size, embedding_dim, name="embedding"),
    ]
    flags = wiring.return_sequences(len(units), "many_to_many")
    for index, (layer_units, flag) in enumerate(zip(units, flags)):
        layers.append(
            _LAYER_CLASSES[cell](
                layer_units, return_sequences=flag, stateful=stateful, name=f"{cell}_{index + 1}"
            )
        )
        if dropout:
            layers.append(keras.layers.Dropout(dropout, name=f"dropout_{index + 1}"))
    layers.append(keras.layers.Dense(vocabulary_size, name="logits"))
    return keras.Sequential(layers, name=name)


def recurrent_layers(model):
    """Returns the recurrent layers of a language model, input side first."""
    return [layer for layer in model.layers if isinstance(layer, keras.layers.RNN)]


def reset_states(model):
    """Zeroes the carried state of every stateful recurrent layer of `model`."""
    for layer in recurrent_layers(model):
        if layer.stateful:
            layer.reset_state()


class StatefulResets(keras.callbacks.Callback):
    """Zeroes a stateful model's carried states at the start of every training epoch.

    Each epoch reads every stream from its beginning, so the state carried out of the last
    chunk of the previous epoch belongs to the streams' ends and must not leak into their
    starts. Evaluation inside `fit` (Keras's own `validation_data`) would run through the same
    state variables; this callback saves them before a test run and puts them back after, so
    validation never changes what the next training batch starts from.
    """

    def __init__(self):
        super().__init__()
        self._saved = None

    def on_epoch_begin(self, epoch, logs=None):
        reset_states(self.model)

    def on_test_begin(self, logs=None):
        self._saved = [
            [keras.ops.copy(state.value) for state in layer.states]
            for layer in recurrent_layers(self.model)
            if layer.stateful
        ]
        reset_states(self.model)

    def on_test_end(self, logs=None):
        stateful = [layer for layer in recurrent_layers(self.model) if layer.stateful]
        for layer, saved in zip(stateful, self._saved or []):
            for state, value in zip(layer.states, saved):
                state.assign(value)
        self._saved = None


def _parts(model):
    """Splits a language model into (embedding, recurrent layers, head), checking its shape."""
    embedding, recurrent, head = None, [], None
    for layer in model.layers:
        if isinstance(layer, keras.layers.Embedding) and embedding is None and not recurrent:
            embedding = layer
        elif isinstance(layer, keras.layers.RNN) and embedding is not None and head is None:
            recurrent.append(layer)
        elif isinstance(layer, keras.layers.Dropout):
            continue  # inactive when predicting
        elif isinstance(layer, keras.layers.Dense) and recurrent and head is None:
            head = layer
        else:
            head = None
            break
    if embedding is None or not recurrent or head is None:
        raise InvalidArgumentError(
            "`model` must be a language model as `build_language_model` builds it: an "
            "Embedding, recurrent layers (Dropout between them allowed), then a Dense head. "
            f"Received layers: {[type(layer).__name__ for layer in model.layers]}."
        )
    return embedding, recurrent, head


def zero_states(model, batch_size):
    """Returns the initial (zero) states for `run_recurrent`: one list per recurrent layer."""
    _, recurrent, _ = _parts(model)
    return [
        [np.zeros((batch_size, size), "float32") for size in _state_sizes(layer)]
        for layer in recurrent
    ]


def _state_sizes(layer):
    size = layer.cell.state_size
    return list(size) if isinstance(size, (list, tuple)) else [size]


def state_names(model):
    """Names of the per-step values `run_recurrent(record=True)` returns, one per state tensor.

    E.g. `["lstm_1/h", "lstm_1/c", "lstm_2/h", "lstm_2/c"]` (Keras's state order: `h` then
    `c` for LSTM, `h` alone for GRU and SimpleRNN).
    """
    _, recurrent, _ = _parts(model)
    names = []
    for layer in recurrent:
        cell = "lstm" if len(_state_sizes(layer)) == 2 else "gru"
        names += [f"{layer.name}/{state}" for state in wiring.state_names(cell)]
    return names


_RUNNERS = weakref.WeakKeyDictionary()  # model -> {record: traced function}


def _runner(model, record):
    """One traced function per (model, record): ids, states -> logits, states (, steps)."""
    cached = _RUNNERS.setdefault(model, {})
    if record in cached:
        return cached[record]
    embedding, recurrent, head = _parts(model)

    @tf.function(reduce_retracing=True)
    def run(ids, states):
        outputs = embedding(ids)
        final, recorded = [], []
        for layer, initial in zip(recurrent, states):

            def step(carry, inputs, cell=layer.cell):
                output, new = cell(inputs, list(carry), training=False)
                new = list(new) if isinstance(new, (list, tuple)) else [new]
                return new, new  # TensorFlow's scan wants y shaped like the carry

            time_major = keras.ops.transpose(outputs, (1, 0, 2))
            last, per_step = keras.ops.scan(step, list(initial), time_major)
            outputs = keras.ops.transpose(per_step[0], (1, 0, 2))  # h is the output
            final.append(last)
            if record:
                recorded += [keras.ops.transpose(values, (1, 0, 2)) for values in per_step]
        return head(outputs), final, recorded

    cached[record] = run
    return run


def run_recurrent(model, ids, states=None, *, record=False):
    """Runs a language model over `ids` from explicit states and returns its final states.

    The same weights as `model(ids)`, without touching a stateful model's own state
    variables: the states go in and come out as values, so a caller can carry them across
    consecutive chunks of a stream (validation of truncated BPTT, generation one token at a
    time) for any batch size.

    Args:
        model: a model from `build_language_model` (stateful or not).
        ids: int array `(batch, steps)`.
        states: what `zero_states` or a previous call returned; None for zero states.
        record: bool. Also return every state of every layer at every step.

    Returns:
        `(logits, states)` with logits `(batch, steps, vocabulary_size)` as NumPy, or with
        `record=True` `(logits, states, recorded)`, where `recorded` is a list of
        `(batch, steps, units)` arrays named by `state_names(model)`.
    """
    ids = np.asarray(ids)
    if ids.ndim != 2 or ids.dtype.kind not in "iu" or ids.shape[1] < 1:
        raise InvalidArgumentError(
            "`ids` must be a 2-D array of token ids (batch, steps) with at least one step. "
            f"Received: shape {ids.shape}, dtype {ids.dtype}."
        )
    if states is None:
        states = zero_states(model, ids.shape[0])
    logits, final, recorded = _runner(model, record)(tf.constant(ids, tf.int32), states)
    final = [[np.asarray(state) for state in layer] for layer in final]
    if record:
        return np.asarray(logits), final, [np.asarray(values) for values in recorded]
    return np.asarray(logits), final


def sequence_loss(model, ids, *, streams=1, sequence_length=100, carry_state=True):
    """Mean next-token cross-entropy (nats) of `model` over the corpus `ids`.

    The corpus is laid out as `streams` contiguous streams read in chunks of
    `sequence_length` (as `language_model_dataset(stateful=True)` does). With
    `carry_state=True` each chunk starts from the state the previous one ended in, so every
    token is predicted from everything before it in its stream; with `carry_state=False` each
    chunk starts from zero, as fixed-window training sees it.

    Returns:
        A dict: `loss` (nats per token) and `tokens` (how many targets were scored).
    """
    from seqrecipes.datasets.pipeline import language_model_dataset

    _validation.check_positive_int("streams", streams)
    _validation.check_bool("carry_state", carry_state)
    batches = language_model_dataset(
        ids, sequence_length=sequence_length, batch_size=streams, stateful=True, prefetch=False
    )
    states, total, count = None, 0.0, 0
    for inputs, targets in batches.as_numpy_iterator():
        logits, final = run_recurrent(model, inputs, states if carry_state else None)
        states = final
        log_probs = logits - _logsumexp(logits)
        picked = np.take_along_axis(log_probs, targets[..., None].astype("int64"), axis=-1)
        total -= float(picked.sum(dtype="float64"))
        count += targets.size
    return {"loss": total / count, "tokens": count}


def _logsumexp(logits):
    top = logits.max(axis=-1, keepdims=True)
    return top + np.log(np.exp(logits - top).sum(axis=-1, keepdims=True))


def next_token_distribution(logits, *, temperature=1.0, top_k=None, forbidden=()):
    """Turns one step's logits into sampling probabilities (temperature, then top-k).

    Args:
        logits: 1-D array of next-token logits.
        temperature: float > 0. Divides the logits: below 1 sharpens, above 1 flattens.
        top_k: int or None. Keep only the `top_k` most likely tokens (ties at the k-th
            value are all kept). None keeps all.
        forbidden: ids that are never sampled (padding and the OOV id).

    Returns:
        A 1-D float64 array of probabilities summing to 1.

    Example:

    >>> p = next_token_distribution(np.log([0.1, 0.2, 0.3, 0.4]), top_k=2)
    >>> np.round(p, 3).tolist()
    [0.0, 0.0, 0.429, 0.571]
    """
    _validation.check_positive_float("temperature", temperature)
    _validation.check_positive_int("top_k", top_k, allow_none=True)
    scaled = np.asarray(logits, "float64") / temperature
    scaled[list(forbidden)] = -np.inf
    if top_k is not None and top_k < np.isfinite(scaled).sum():
        threshold = np.sort(scaled)[-top_k]
        scaled[scaled < threshold] = -np.inf
    scaled -= scaled.max()
    probabilities = np.exp(scaled)
    return probabilities / probabilities.sum()


def sample_ids(model, prompt_ids, *, length, temperature=1.0, top_k=None, forbidden=(),
               seed=None):
    """Generates `length` ids after `prompt_ids`, one at a time, carrying the state.

    The prompt is read once (one call over all its ids); every generated id is then fed back
    as a one-step input with the state carried, so generating n ids costs n steps, not n^2.

    Returns:
        A list of `length` generated ids (the prompt not included).
    """
    _validation.check_positive_int("length", length)
    prompt_ids = np.asarray(prompt_ids, "int32").reshape(1, -1)
    if prompt_ids.shape[1] < 1:
        raise InvalidArgumentError("`prompt_ids` must hold at least one id to start from.")
    rng = np.random.default_rng(seed)
    logits, states = run_recurrent(model, prompt_ids)
    generated = []
    for _ in range(length):
        probabilities = next_token_distribution(
            logits[0, -1], temperature=temperature, top_k=top_k, forbidden=forbidden
        )
        token = int(rng.choice(len(probabilities), p=probabilities))
        generated.append(token)
        logits, states = run_recurrent(model, np.array([[token]], "int32"), states)
    return generated
