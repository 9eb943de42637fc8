import keras
import numpy as np
import pytest
from backend_helpers import gradients

from seqrecipes.errors import InvalidArgumentError
from seqrecipes.models import reference

BATCH, STEPS, FEATURES, UNITS = 3, 6, 4, 5
# Post-padding: full, two padded steps, four padded steps.
MASK = np.array([[1] * 6, [1] * 4 + [0] * 2, [1] * 2 + [0] * 4], dtype=bool)

CELLS = {
    "simple_rnn": lambda **kw: keras.layers.SimpleRNN(UNITS, **kw),
    "lstm": lambda **kw: keras.layers.LSTM(UNITS, **kw),
    "gru": lambda **kw: keras.layers.GRU(UNITS, **kw),
    "gru_reset_before": lambda **kw: keras.layers.GRU(UNITS, reset_after=False, **kw),
    "lstm_no_bias": lambda **kw: keras.layers.LSTM(UNITS, use_bias=False, **kw),
}


def inputs():
    return np.random.default_rng(0).normal(size=(BATCH, STEPS, FEATURES)).astype("float32")


def keras_run(layer, x, mask):
    return [keras.ops.convert_to_numpy(tensor) for tensor in layer(x, mask=mask)]


def assert_matches(layer, x, mask):
    output, *states = keras_run(layer, x, mask)
    ref_output, ref_states = reference.forward(layer, x, mask)
    assert ref_output.shape == output.shape
    np.testing.assert_allclose(ref_output, output, atol=1e-5)
    assert len(ref_states) == len(states)
    for ref_state, state in zip(ref_states, states):
        np.testing.assert_allclose(ref_state, state, atol=1e-5)


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_forward_matches_keras(cell, return_sequences, masked, go_backwards):
    layer = CELLS[cell](return_sequences=return_sequences, return_state=True,
                        go_backwards=go_backwards)
    assert_matches(layer, inputs(), MASK if masked else None)


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("masked", [False, True])
def test_bidirectional_matches_keras(cell, return_sequences, masked):
    layer = keras.layers.Bidirectional(
        CELLS[cell](return_sequences=return_sequences, return_state=True)
    )
    assert_matches(layer, inputs(), MASK if masked else None)


@pytest.mark.parametrize("merge_mode", ["sum", "ave", "mul"])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_bidirectional_merge_modes_match_keras(merge_mode, return_sequences):
    layer = keras.layers.Bidirectional(
        keras.layers.GRU(UNITS, return_sequences=return_sequences, return_state=True),
        merge_mode=merge_mode,
    )
    assert_matches(layer, inputs(), MASK)


@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru"])
def test_post_padding_leaves_the_final_state_of_the_real_steps(cell):
    """Padding after a text does not change its final state: it is the state after the last
    real step, the same as running the text alone."""
    layer = CELLS[cell](return_state=True)
    x = inputs()
    layer(x)
    _, padded = reference.forward(layer, x, MASK)
    _, alone = reference.forward(layer, x[2:, :2])
    for padded_state, alone_state in zip(padded, alone):
        np.testing.assert_allclose(padded_state[2:], alone_state, atol=1e-12)


def test_initial_state_is_used():
    layer = keras.layers.LSTM(UNITS, return_state=True)
    x = inputs()
    start = [np.full((BATCH, UNITS), 0.5, "float32"), np.full((BATCH, UNITS), -0.5, "float32")]
    output, *states = [keras.ops.convert_to_numpy(t) for t in layer(x, initial_state=start)]
    ref_output, ref_states = reference.forward(layer, x, initial_state=start)
    np.testing.assert_allclose(ref_output, output, atol=1e-5)
    np.testing.assert_allclose(ref_states[1], states[1], atol=1e-5)


@pytest.mark.skipif(
    keras.backend.backend() == "jax",
    reason="central differences need float64, and Keras 3.15's recurrent cells compute in "
    "float32 on JAX even with dtype='float64' and jax_enable_x64 on (measured: a "
    "SimpleRNNCell with float64 weights returns float32)",
)
@pytest.mark.parametrize("cell", ["simple_rnn", "lstm", "gru", "gru_reset_before"])
def test_numerical_gradient_agrees_with_gradient_tape(cell):
    """Central differences on the NumPy equations give the gradient the backend computes."""
    layer = CELLS[cell](return_sequences=True, dtype="float64")
    x = np.random.default_rng(1).normal(size=(2, 3, 2))
    layer(x)
    weights = np.random.default_rng(2).normal(size=(2, 3, UNITS))  # loss = sum(weights * h)
    kernel = layer.cell.kernel
    (analytic,) = gradients(lambda: keras.ops.sum(keras.ops.multiply(weights, layer(x))),
                            variables=[kernel])
    analytic = keras.ops.convert_to_numpy(analytic)
    saved = keras.ops.convert_to_numpy(kernel)

    def loss_of(array):
        kernel.assign(array)
        output, _ = reference.forward(layer, x)
        return float(np.sum(weights * output))

    numerical = reference.numerical_gradient(loss_of, saved.copy())
    kernel.assign(saved)
    np.testing.assert_allclose(numerical, analytic, rtol=1e-6, atol=1e-9)


def test_numerical_gradient_of_a_known_function():
    array = np.array([1.0, -2.0, 3.0])
    gradient = reference.numerical_gradient(lambda a: float(np.sum(a ** 3)), array)
    np.testing.assert_allclose(gradient, 3 * array ** 2, rtol=1e-8)
    np.testing.assert_array_equal(array, [1.0, -2.0, 3.0])  # restored


def test_bad_inputs_are_refused():
    layer = keras.layers.LSTM(UNITS)
    layer(inputs())
    with pytest.raises(InvalidArgumentError, match="must be 3-D"):
        reference.forward(layer, inputs()[0])
    dense = keras.layers.Dense(2)
    dense(inputs())
    with pytest.raises(InvalidArgumentError, match="SimpleRNN, LSTM or GRU"):
        reference.forward(dense, inputs())
    selu = keras.layers.SimpleRNN(UNITS, activation="selu")
    selu(inputs())
    with pytest.raises(InvalidArgumentError, match="activation='selu'"):
        reference.forward(selu, inputs())
