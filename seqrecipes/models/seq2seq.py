"""Decoders that generate a sequence: encoder-decoder (seq2seq) and one-to-many.

Both train with teacher forcing: the decoder reads the target shifted right behind a start
token (``<s> 1 7 0 4``) and learns to predict the target followed by an end token
(``1 7 0 4 </s>``), all steps in one pass. Where the decoder's initial states come from is the
only difference:

* `build_seq2seq`: an encoder (`build_recurrent_encoder`) reads the source and its final
  `return_state` states become the decoder's `initial_state`. A bidirectional encoder's
  forward and backward states are concatenated, so the decoder has `2 * units`.
* `build_vector_decoder`: one feature vector (an image embedding, say) goes through a `Dense`
  layer per state; the image-captioning shape.

At inference time there is no target to read, so `inference_models` rewires the same trained
layers into two models: the *state model* (source or vector -> initial states) and the *step
model* (one token and the states -> next-token probabilities and the new states).
`greedy_decode` calls the step model one step at a time for a whole batch of examples at
once, feeding back the most probable token, until every example has produced its end token.

Token ids shared by every decoder here: 0 padding (masked), 1 start, 2 end (`seqrecipes.ids`,
where `datasets.seq2seq_tasks` finds them too).
"""

import keras
import numpy as np

from seqrecipes import _validation
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.ids import END_ID, PAD_ID, START_ID
from seqrecipes.models import wiring
from seqrecipes.models.embedding import Embedding
from seqrecipes.models.recurrent import LAYER_CLASSES, build_recurrent_encoder, recurrent_layer

_CELL_NAMES = {layer_class: cell for cell, layer_class in LAYER_CLASSES.items()}


def _check_decoder(target_vocabulary_size, cell, units, embedding_dim, dropout):
    _validation.check_positive_int("target_vocabulary_size", target_vocabulary_size)
    _validation.check_conflict(
        target_vocabulary_size <= END_ID + 1,
        "`target_vocabulary_size` counts padding, start and end (ids 0, 1, 2) and at least one "
        f"real token, so it must be at least 4. Received: "
        f"target_vocabulary_size={target_vocabulary_size!r}.",
    )
    _validation.check_choice("cell", cell, wiring.CELLS)
    _validation.check_positive_int("units", units)
    _validation.check_positive_int("embedding_dim", embedding_dim)
    _validation.check_fraction("dropout", dropout)


def _decoder(decoder_input, states, *, vocabulary_size, cell, units, embedding_dim, dropout):
    """The teacher-forced decoder: Embedding -> recurrent layer from `states` -> softmax."""
    embedded = Embedding(
        vocabulary_size, embedding_dim, mask_zero=True, name="decoder_embedding"
    )(decoder_input)
    outputs = recurrent_layer(
        cell,
        units,
        return_sequences=wiring.return_sequences(1, "many_to_many")[0],
        return_state=True,  # only the step model reads them, but the layer is shared
        dropout=dropout,
        name="decoder_rnn",
    )(embedded, initial_state=states)[0]
    return keras.layers.Dense(vocabulary_size, activation="softmax", name="decoder_head")(outputs)


def build_seq2seq(
    source_vocabulary_size,
    target_vocabulary_size,
    *,
    cell="lstm",
    units=64,
    encoder_layers=1,
    bidirectional=False,
    embedding_dim=32,
    dropout=0.0,
    name="seq2seq",
):
    """Builds an encoder-decoder trained with teacher forcing.

    The encoder (a nested model named "encoder", from `build_recurrent_encoder`) embeds the
    source ids (0 is padding and masked) and runs `encoder_layers` recurrent layers; the last
    one's final states, passed through `Identity` layers named `initial_h` (and `initial_c`
    for LSTM), are the decoder's `initial_state`. With `bidirectional=True` every encoder
    layer is bidirectional (the 2-layer bidirectional encoder of neural machine translation)
    and forward and backward states are concatenated, so the decoder has `2 * units`.

    Args:
        source_vocabulary_size: int. Source token ids, padding (0) included.
        target_vocabulary_size: int. Target token ids: padding 0, start 1, end 2, then tokens.
        cell: str. "simple_rnn", "lstm" or "gru", for encoder and decoder. Defaults to "lstm".
        units: int. Width of each encoder layer (per direction). Defaults to 64.
        encoder_layers: int. Stacked encoder layers. Defaults to 1.
        bidirectional: bool. Bidirectional encoder layers. Defaults to False.
        embedding_dim: int. Width of source and target embeddings. Defaults to 32.
        dropout: float. Dropout on each recurrent layer's inputs. Defaults to 0.
        name: str. The model's name.

    Returns:
        A functional `keras.Model`: `[source_ids, decoder_input_ids]` ->
        `(batch, target_steps, target_vocabulary_size)` probabilities.

    Example:

    >>> model = build_seq2seq(13, 15, cell="lstm", units=4, encoder_layers=2, bidirectional=True)
    >>> model.output_shape
    (None, None, 15)
    >>> model.get_layer("decoder_rnn").units
    8
    """
    _validation.check_positive_int("source_vocabulary_size", source_vocabulary_size)
    _check_decoder(target_vocabulary_size, cell, units, embedding_dim, dropout)
    _validation.check_positive_int("encoder_layers", encoder_layers)
    _validation.check_bool("bidirectional", bidirectional)
    encoder = build_recurrent_encoder(
        source_vocabulary_size,
        embedding_dim=embedding_dim,
        cell=cell,
        units=(units,) * encoder_layers,
        bidirectional=bidirectional,
        dropout=dropout,
        concatenate_states=bidirectional,  # one state of 2 * units per kind
        name="encoder",
    )
    source = keras.Input(shape=(None,), dtype="int32", name="source_ids")
    decoder_input = keras.Input(shape=(None,), dtype="int32", name="decoder_input_ids")
    states = [
        keras.layers.Identity(name=f"initial_{state_name}")(state)
        for state_name, state in zip(wiring.state_names(cell), encoder(source)[1:])
    ]
    probabilities = _decoder(
        decoder_input, states, vocabulary_size=target_vocabulary_size, cell=cell,
        units=wiring.output_width(units, bidirectional), embedding_dim=embedding_dim,
        dropout=dropout,
    )
    return keras.Model([source, decoder_input], probabilities, name=name)


def build_vector_decoder(
    input_dim,
    target_vocabulary_size,
    *,
    cell="lstm",
    units=64,
    embedding_dim=32,
    dropout=0.0,
    name="vector_decoder",
):
    """Builds a one-to-many decoder: one feature vector in, a token sequence out.

    Each of the decoder's initial states (`h`, and `c` for LSTM) is `Dense(units, tanh)` of
    the vector (layers named `initial_h`, `initial_c`); the decoder is then trained with
    teacher forcing like `build_seq2seq`'s.

    Args:
        input_dim: int. Width of the feature vector.
        target_vocabulary_size: int. Token ids: padding 0, start 1, end 2, then tokens.
        Others: as in `build_seq2seq`.

    Returns:
        A functional `keras.Model`: `[vectors, decoder_input_ids]` ->
        `(batch, target_steps, target_vocabulary_size)` probabilities.

    Example:

    >>> model = build_vector_decoder(16, 13, cell="gru", units=4)
    >>> model.output_shape
    (None, None, 13)
    """
    _validation.check_positive_int("input_dim", input_dim)
    _check_decoder(target_vocabulary_size, cell, units, embedding_dim, dropout)
    vector = keras.Input(shape=(input_dim,), name="vectors")
    decoder_input = keras.Input(shape=(None,), dtype="int32", name="decoder_input_ids")
    states = [
        keras.layers.Dense(units, activation="tanh", name=f"initial_{state_name}")(vector)
        for state_name in wiring.state_names(cell)
    ]
    probabilities = _decoder(
        decoder_input, states, vocabulary_size=target_vocabulary_size, cell=cell, units=units,
        embedding_dim=embedding_dim, dropout=dropout,
    )
    return keras.Model([vector, decoder_input], probabilities, name=name)


def inference_models(model):
    """Rewires a model from `build_seq2seq` / `build_vector_decoder` for step-by-step decoding.

    Both models share the trained layers (no weights are copied).

    Returns:
        `(state_model, step_model)`. `state_model` maps the model's first input (source ids
        or vectors) to the decoder's initial states; `step_model` maps
        `[token_ids (batch, 1), *states]` to `[probabilities (batch, 1, vocabulary), *states]`.

    Example:

    >>> model = build_seq2seq(13, 15, cell="lstm", units=4, bidirectional=True)
    >>> state_model, step_model = inference_models(model)
    >>> [tuple(shape) for shape in state_model.output_shape]
    [(None, 8), (None, 8)]
    >>> [tuple(shape) for shape in step_model.output_shape]
    [(None, 1, 15), (None, 8), (None, 8)]
    """
    try:
        rnn = model.get_layer("decoder_rnn")
        embedding = model.get_layer("decoder_embedding")
        head = model.get_layer("decoder_head")
    except ValueError:
        raise InvalidArgumentError(
            f"`model` ({model.name!r}) was not built by `build_seq2seq` or "
            "`build_vector_decoder`: it has no decoder_embedding / decoder_rnn / decoder_head "
            "layers."
        ) from None
    names = wiring.state_names(_CELL_NAMES[type(rnn)])
    state_model = keras.Model(
        model.inputs[0],
        [model.get_layer(f"initial_{state_name}").output for state_name in names],
        name=f"{model.name}_states",
    )
    token = keras.Input(shape=(1,), dtype="int32", name="token_ids")
    state_inputs = [keras.Input(shape=(rnn.units,), name=f"state_{n}") for n in names]
    output, *states = rnn(embedding(token), initial_state=state_inputs)
    step_model = keras.Model(
        [token, *state_inputs], [head(output), *states], name=f"{model.name}_step"
    )
    return state_model, step_model


def greedy_decode(state_model, step_model, inputs, *, max_length, batch_size=1024):
    """Generates token ids greedily, one step at a time, for a batch of examples at once.

    Each step feeds every example's last token and states to `step_model` and takes the most
    probable next token (padding and start are never chosen). An example is finished when it
    produces the end token; decoding stops when all are finished or after `max_length` steps.

    Args:
        state_model, step_model: from `inference_models`.
        inputs: array. Source ids `(n, steps)` or vectors `(n, input_dim)`.
        max_length: int. Most tokens generated per example, the end token included.
        batch_size: int. Examples decoded together.

    Returns:
        An int32 array `(n, max_length)`: the generated ids, the end token included,
        padded with 0 after it.
    """
    _validation.check_positive_int("max_length", max_length)
    _validation.check_positive_int("batch_size", batch_size)
    inputs = np.asarray(inputs)
    generated = np.full((len(inputs), max_length), PAD_ID, dtype="int32")
    for first in range(0, len(inputs), batch_size):
        chunk = inputs[first : first + batch_size]
        states = state_model.predict_on_batch(chunk)
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        tokens = np.full((len(chunk), 1), START_ID, dtype="int32")
        finished = np.zeros(len(chunk), dtype=bool)
        for step in range(max_length):
            probabilities, *states = step_model.predict_on_batch([tokens, *states])
            next_ids = choose_next(probabilities[:, 0])
            next_ids[finished] = PAD_ID
            generated[first : first + len(chunk), step] = next_ids
            finished |= next_ids == END_ID
            if finished.all():
                break
            tokens = np.where(finished, END_ID, next_ids)[:, None].astype("int32")
    return generated


def choose_next(probabilities):
    """Returns the most probable id of each row, never padding (0) or start (1)."""
    probabilities = np.array(probabilities, dtype="float64")
    probabilities[..., [PAD_ID, START_ID]] = -np.inf
    return probabilities.argmax(axis=-1).astype("int32")
