"""Running a language model with explicit states: streams, sampling, every hidden unit.

Keras's recurrent layers keep a stateful model's carried state in variables (one per
stream of a fixed batch) and return only the output of the last layer. Validation of
truncated BPTT, generation one token at a time and looking at hidden units all need more:
the states passed in and returned as values, for any batch size, without disturbing the
training state, and every state of every layer at every step. `run_recurrent` runs the
model's own cells (the same weights, `keras.ops.scan` over time) that way; the rest of this
module builds on it.

The run is compiled once per model (and per input shape) by the backend's own compiler:
`tf.function` on TensorFlow; on JAX `jax.jit` of a pure function of the model's weights
(`keras.StatelessScope` maps each variable to its value), so a jitted run never keeps weights
from before a later training step; other backends run it eagerly.
"""

import weakref

import keras
import numpy as np

from seqrecipes import _validation
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.ids import corpus_ids, stream_chunks
from seqrecipes.models import wiring
# NumPy only, shared with the portable reader (seqrecipes.portable.char_lm).
from seqrecipes.sampling import next_token_distribution


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
    if not all(layer.return_sequences for layer in recurrent):
        head = None  # a many-to-one model has no next-token output at every step
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


_RUNNERS = weakref.WeakKeyDictionary()  # model -> {record: compiled function}


def _compiled(run, weights):
    """`run(ids, states)` compiled by the backend (see the module docstring)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(run, reduce_retracing=True)
    if backend == "jax":
        import jax

        def stateless(values, ids, states):
            with keras.StatelessScope(state_mapping=list(zip(weights, values))):
                return run(ids, states)

        jitted = jax.jit(stateless)
        return lambda ids, states: jitted([weight.value for weight in weights], ids, states)
    return run


def _runner(model, record):
    """One compiled function per (model, record): ids, states -> logits, states (, steps)."""
    cached = _RUNNERS.setdefault(model, {})
    if record in cached:
        return cached[record]
    embedding, recurrent, head = _parts(model)

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

    weights = [*embedding.weights, *(weight for layer in recurrent for weight in layer.weights),
               *head.weights]
    cached[record] = _compiled(run, weights)
    return cached[record]


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
    logits, final, recorded = _runner(model, record)(
        keras.ops.convert_to_tensor(ids, "int32"), states)
    numpy = keras.ops.convert_to_numpy  # not np.asarray: PyTorch's tensors need detaching
    final = [[numpy(state) for state in layer] for layer in final]
    if record:
        return numpy(logits), final, [numpy(values) for values in recorded]
    return numpy(logits), final


def sequence_loss(model, ids, *, streams=1, sequence_length=100, carry_state=True):
    """Mean next-token cross-entropy (nats) of `model` over the corpus `ids`.

    The corpus is laid out as `streams` contiguous streams read in chunks of
    `sequence_length` (`seqrecipes.ids.stream_chunks`, the layout stateful training reads). With
    `carry_state=True` each chunk starts from the state the previous one ended in, so every
    token is predicted from everything before it in its stream; with `carry_state=False` each
    chunk starts from zero, as fixed-window training sees it.

    Returns:
        A dict: `loss` (nats per token) and `tokens` (how many targets were scored).
    """
    _validation.check_positive_int("streams", streams)
    _validation.check_positive_int("sequence_length", sequence_length)
    _validation.check_bool("carry_state", carry_state)
    ids = corpus_ids(ids)
    chunks = stream_chunks(ids, streams=streams, sequence_length=sequence_length)
    if not len(chunks[0]):
        raise InvalidArgumentError(
            f"The corpus has {len(ids)} ids, too few for one chunk of every stream: it needs "
            f"at least {streams * sequence_length + 1} (streams={streams}, "
            f"sequence_length={sequence_length}). Pass fewer `streams` or a shorter "
            "`sequence_length`."
        )
    states, total, count = None, 0.0, 0
    for inputs, targets in zip(*chunks):
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


def build_step_model(model):
    """One step of a language model, its states as inputs and outputs (for export).

    A stateful model keeps its states in variables and a plain one starts every call from
    zero, so neither serves generation outside Keras one character at a time. This model
    takes `token_ids` `(batch, 1)` and one input per state (`state_names`, "/" written "_":
    `gru_1_h`, `lstm_1_c`, ...), and returns `[logits (batch, vocabulary_size), new states in
    the same order]`. It shares the embedding and head of `model` and copies its recurrent
    weights into layers that return their states and are unrolled (one step: no loop in the
    graph, which is what lets ONNX and LiteRT take it, measured with TF 2.21).

    Args:
        model: a model from `build_language_model` (stateful or not).

    Returns:
        A functional `keras.Model`.

    Example:

    >>> from seqrecipes.models.language import build_language_model
    >>> step = build_step_model(build_language_model(20, cell="lstm", units=(8, 4)))
    >>> [tuple(tensor.shape) for tensor in step.outputs]
    [(None, 20), (None, 8), (None, 8), (None, 4), (None, 4)]
    """
    embedding, recurrent, head = _parts(model)
    ids = keras.Input(shape=(1,), dtype="int32", name="token_ids")
    names = iter(name.replace("/", "_") for name in state_names(model))
    features = embedding(ids)
    state_inputs, state_outputs = [], []
    for layer in recurrent:
        initial = [keras.Input(shape=(size,), dtype="float32", name=next(names))
                   for size in _state_sizes(layer)]
        config = {**layer.get_config(), "return_sequences": True, "return_state": True,
                  "stateful": False, "unroll": True}
        step = type(layer).from_config(config)
        outputs = step(features, initial_state=initial)
        step.set_weights(layer.get_weights())
        features, new = outputs[0], list(outputs[1:])
        state_inputs += initial
        state_outputs += new
    logits = keras.layers.Reshape((head.units,), name="next_token_logits")(head(features))
    return keras.Model([ids, *state_inputs], [logits, *state_outputs],
                       name=f"{model.name}_step")
