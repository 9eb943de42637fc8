import numpy as np
import pytest

import keras

from seqrecipes import models
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.models.seq2seq import END_ID, PAD_ID, START_ID, choose_next

VOCABULARY, UNITS = 13, 4
STATES = {"simple_rnn": 1, "gru": 1, "lstm": 2}


def as_list(states):
    states = states if isinstance(states, (list, tuple)) else [states]
    return [keras.ops.convert_to_numpy(state) for state in states]


def sources():
    # The second source is padded after 3 tokens.
    return np.array([[3, 4, 5, 6, 7], [8, 9, 10, 0, 0]], dtype="int32")


def seq2seq(cell="lstm", bidirectional=False, encoder_layers=1):
    return models.build_seq2seq(
        VOCABULARY, VOCABULARY, cell=cell, units=UNITS, encoder_layers=encoder_layers,
        bidirectional=bidirectional, embedding_dim=4,
    )


@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("encoder_layers", [1, 2])
def test_encoder_states_are_wired_into_the_decoder(cell, bidirectional, encoder_layers):
    model = seq2seq(cell, bidirectional, encoder_layers)
    width = 2 * UNITS if bidirectional else UNITS  # forward and backward states concatenated
    decoder = model.get_layer("decoder_rnn")
    assert decoder.units == width
    encoder = model.get_layer("encoder")
    assert len([layer for layer in encoder.layers if cell in layer.name]) == encoder_layers
    state_model, step_model = models.inference_models(model)
    states = as_list(state_model(sources()))
    assert [state.shape for state in states] == [(2, width)] * STATES[cell]
    # The encoder's own outputs are the states (no copy, no other path).
    expected = as_list(encoder(sources()))[1:]
    for state, reference in zip(states, expected):
        np.testing.assert_allclose(state, reference, rtol=1e-6)
    assert [tuple(shape) for shape in step_model.output_shape] == (
        [(None, 1, VOCABULARY)] + [(None, width)] * STATES[cell]
    )
    # Different encoder states give different decoder outputs: the states reach the decoder.
    decoder_input = np.array([[START_ID, 3], [START_ID, 3]], dtype="int32")
    output = keras.ops.convert_to_numpy(model([sources(), decoder_input]))
    assert not np.allclose(output[0], output[1])


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_does_not_change_the_encoder_states(cell, bidirectional):
    state_model, _ = models.inference_models(seq2seq(cell, bidirectional))
    padded = as_list(state_model(sources()))
    unpadded = as_list(state_model(sources()[1:, :3]))
    for with_padding, without in zip(padded, unpadded):
        np.testing.assert_allclose(with_padding[1:], without, rtol=1e-5, atol=1e-6)


def step_by_step(state_model, step_model, first_input, tokens):
    """Feeds `tokens` one at a time through the step model; returns every step's output."""
    states = as_list(state_model(first_input))
    outputs = []
    for step in range(tokens.shape[1]):
        probabilities, *states = as_list(step_model([tokens[:, step : step + 1], *states]))
        outputs.append(probabilities[:, 0])
    return np.stack(outputs, axis=1)


def model_under_test(kind):
    if kind == "vector-lstm":
        vectors = np.random.default_rng(0).normal(size=(2, 6)).astype("float32")
        return models.build_vector_decoder(6, VOCABULARY, units=UNITS), vectors
    if kind == "lstm":
        return seq2seq("lstm"), sources()
    return seq2seq("gru", bidirectional=True, encoder_layers=2), sources()


@pytest.mark.parametrize("kind", ["lstm", "gru-bidirectional-2", "vector-lstm"])
def test_step_model_reproduces_teacher_forcing(kind):
    model, first_input = model_under_test(kind)
    tokens = np.array([[START_ID, 5, 9, 4, 3], [START_ID, 7, 7, 12, 8]], dtype="int32")
    forced = keras.ops.convert_to_numpy(model([first_input, tokens]))
    stepped = step_by_step(*models.inference_models(model), first_input, tokens)
    np.testing.assert_allclose(stepped, forced, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["lstm", "gru-bidirectional-2", "vector-lstm"])
def test_greedy_decode_agrees_with_teacher_forcing_on_its_own_output(kind):
    model, first_input = model_under_test(kind)
    # A bias towards one token gives a run of repeated tokens and then, for some, the end.
    head = model.get_layer("decoder_head")
    kernel, bias = head.get_weights()
    head.set_weights([kernel * 5, bias])
    generated = models.greedy_decode(*models.inference_models(model), first_input,
                                     max_length=6, batch_size=1)
    assert generated.shape == (2, 6)
    decoder_input = np.concatenate(
        [np.full((2, 1), START_ID, "int32"), generated[:, :-1]], axis=1
    )
    forced = choose_next(keras.ops.convert_to_numpy(model([first_input, decoder_input])))
    real = generated != PAD_ID
    np.testing.assert_array_equal(forced[real], generated[real])
    for row in generated:  # padding only after the end token, never start
        assert START_ID not in row
        ends = np.flatnonzero(row == END_ID)
        stop = ends[0] + 1 if len(ends) else len(row)
        assert (row[:stop] != PAD_ID).all() and (row[stop:] == PAD_ID).all()


def test_inference_models_refuses_another_model():
    model = models.build_sequence_classifier(20, 2, units=4)
    with pytest.raises(InvalidArgumentError, match="was not built by `build_seq2seq`"):
        models.inference_models(model)


@pytest.mark.parametrize(
    "kwargs, name",
    [({"units": 0}, "units"), ({"cell": "rnn"}, "cell"), ({"encoder_layers": 0},
     "encoder_layers"), ({"bidirectional": 1}, "bidirectional"), ({"dropout": 1.0}, "dropout"),
     ({"embedding_dim": 2.5}, "embedding_dim")],
)
def test_seq2seq_bad_arguments(kwargs, name):
    with pytest.raises(InvalidArgumentError, match=f"`{name}`"):
        models.build_seq2seq(VOCABULARY, VOCABULARY, **kwargs)


@pytest.mark.parametrize("builder", [models.build_seq2seq, models.build_vector_decoder])
def test_target_vocabulary_needs_a_real_token(builder):
    with pytest.raises(InvalidArgumentError, match="at least 4"):
        builder(5, 3)


def test_greedy_decode_bad_max_length():
    with pytest.raises(InvalidArgumentError, match="`max_length`"):
        models.greedy_decode(None, None, sources(), max_length=0)
