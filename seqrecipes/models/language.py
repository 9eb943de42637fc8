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

Stateful training needs the TensorFlow backend. Keras 3.15 creates a stateful layer's state
variables untracked (`RNN._create_state_variables`), so they are not among the model's
non-trainable variables, and Keras's JAX trainer, which runs every step as a pure function of
those, drops the state each layer assigns (measured: the carried state stays zero after
`predict_on_batch` and `fit`). `build_language_model(stateful=True)` refuses JAX instead of
training without the carried context.

Validation and generation never touch those state variables: `seqrecipes.models.stepping`
runs the same cells with the states passed in and returned explicitly, for any batch size.
"""

import keras

from seqrecipes import _validation
from seqrecipes.models import wiring
from seqrecipes.models.embedding import Embedding
from seqrecipes.models.recurrent import LAYER_CLASSES, check_recurrent_fits


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
            fixed `batch_size` and the TensorFlow backend (see the module docstring).
            Defaults to False.
        batch_size: int or None. The fixed batch size of a stateful model (the number of
            streams); leave None when `stateful=False`.
        name: str. The model's name.

    Returns:
        A `keras.Sequential` model whose output is `(batch, steps, vocabulary_size)` logits.

    Example:

    >>> model = build_language_model(20, cell="gru", units=(8, 4))
    >>> model.output_shape
    (None, None, 20)
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
    _validation.check_conflict(
        stateful and keras.backend.backend() != "tensorflow",
        "`stateful=True` needs the TensorFlow backend: Keras's "
        f"{keras.backend.backend()} trainer drops the state a stateful layer carries "
        "between batches. Set KERAS_BACKEND=tensorflow, or pass stateful=False (fixed "
        "windows).",
    )
    stack = []
    flags = wiring.return_sequences(len(units), "many_to_many")
    for index, (layer_units, flag) in enumerate(zip(units, flags)):
        layer = LAYER_CLASSES[cell](
            layer_units, return_sequences=flag, stateful=stateful, name=f"{cell}_{index + 1}"
        )
        check_recurrent_fits(layer, cell, layer_units)  # before the embedding: names `units`
        stack.append(layer)
        if dropout:
            stack.append(keras.layers.Dropout(dropout, name=f"dropout_{index + 1}"))
    layers = [
        keras.Input(batch_shape=(batch_size, None), dtype="int32", name="token_ids"),
        Embedding(vocabulary_size, embedding_dim, name="embedding"),
        *stack,
    ]
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
