"""NumPy forward passes of SimpleRNN, LSTM and GRU, written from the equations.

These are for reading and checking, not for speed: each cell is a few lines of the textbook
equations, and `tests/test_reference.py` shows they give Keras's outputs and final states.

Keras keeps a layer's weights as a kernel W (d, k*u) applied to the input, a recurrent kernel
U (u, k*u) applied to the previous state and a bias b, with the k blocks of u columns side by
side, in this order (keras/src/layers/rnn/lstm.py and gru.py):

* SimpleRNN (k=1): h_t = tanh(x_t W + h_{t-1} U + b)
* LSTM (k=4, blocks [i | f | g | o]; Keras calls the candidate g "c"):
      i = sigmoid(x W_i + h U_i + b_i)        input gate: how much of g to write
      f = sigmoid(x W_f + h U_f + b_f)        forget gate: how much of c to keep
      g = tanh(x W_g + h U_g + b_g)           candidate cell values
      o = sigmoid(x W_o + h U_o + b_o)        output gate: how much of c to show
      c_t = f * c_{t-1} + i * g               additive update: gradients pass through f
      h_t = o * tanh(c_t)
* GRU (k=3, blocks [z | r | h~]):
      z = sigmoid(x W_z + h U_z + b_z)        update gate
      r = sigmoid(x W_r + h U_r + b_r)        reset gate
      reset_after=False: h~ = tanh(x W_h + (r * h) U_h + b_h)
      reset_after=True (Keras's default; b has two rows, input bias and recurrent bias):
                         h~ = tanh(x W_h + b_h + r * (h U_h + b'_h))
      h_t = z * h_{t-1} + (1 - z) * h~         z keeps the old state, 1 - z takes the new

A mask (True for real steps, e.g. post-padding) is honoured as Keras does: on a masked step the
states stay as they were and the output repeats the previous one (zeros if the layer has
`zero_output_for_mask`, which `Bidirectional` sets when returning sequences). A backward layer
reads the steps last to first and returns its outputs in that order; `Bidirectional` flips
them back before merging.
"""

import keras
import numpy as np

from seqrecipes.errors import InvalidArgumentError


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


_ACTIVATIONS = {
    "tanh": np.tanh,
    "sigmoid": sigmoid,
    "relu": lambda x: np.maximum(x, 0.0),
    "linear": lambda x: x,
    "hard_sigmoid": lambda x: np.clip(x / 6.0 + 0.5, 0.0, 1.0),  # Keras 3: relu6(x + 3) / 6
}


def simple_rnn_cell(x, h, kernel, recurrent_kernel, bias, activation=np.tanh):
    """One SimpleRNN step: h_t = tanh(x_t W + h_{t-1} U + b)."""
    return activation(x @ kernel + h @ recurrent_kernel + bias)


def lstm_cell(x, h, c, kernel, recurrent_kernel, bias, activation=np.tanh,
              recurrent_activation=sigmoid):
    """One LSTM step; returns the new (h, c)."""
    z = x @ kernel + h @ recurrent_kernel + bias
    z_i, z_f, z_g, z_o = np.split(z, 4, axis=-1)  # Keras's block order: i, f, c (= g), o
    i, f, o = recurrent_activation(z_i), recurrent_activation(z_f), recurrent_activation(z_o)
    g = activation(z_g)
    c = f * c + i * g
    return o * activation(c), c


def gru_cell(x, h, kernel, recurrent_kernel, bias, reset_after=True, activation=np.tanh,
             recurrent_activation=sigmoid):
    """One GRU step; returns the new h. With `reset_after`, `bias` has 2 rows."""
    input_bias, recurrent_bias = (bias[0], bias[1]) if reset_after else (bias, 0.0 * bias)
    x_z, x_r, x_h = np.split(x @ kernel + input_bias, 3, axis=-1)
    u_z, u_r, u_h = np.split(recurrent_kernel, 3, axis=-1)
    b_z, b_r, b_h = np.split(recurrent_bias, 3, axis=-1)
    z = recurrent_activation(x_z + h @ u_z + b_z)
    r = recurrent_activation(x_r + h @ u_r + b_r)
    if reset_after:
        candidate = activation(x_h + r * (h @ u_h + b_h))  # reset after the matrix product
    else:
        candidate = activation(x_h + (r * h) @ u_h)  # reset the state, then multiply
    return z * h + (1.0 - z) * candidate


def run_steps(step, inputs, states, mask=None, go_backwards=False, zero_output_for_mask=False):
    """Runs `step(x_t, states) -> (output, states)` over the steps, as Keras's RNN loop does.

    Returns the outputs (batch, steps, units) in the order they were computed (last step
    first when `go_backwards`) and the final states.
    """
    batch, steps = inputs.shape[:2]
    mask = np.ones((batch, steps), bool) if mask is None else np.asarray(mask, bool)
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    outputs, previous = [], None
    for t in order:
        output, new_states = step(inputs[:, t], states)
        keep = mask[:, t, None]  # (batch, 1): real step or padding
        states = [np.where(keep, new, old) for new, old in zip(new_states, states)]
        if previous is None:
            previous = np.zeros_like(output)
        output = np.where(keep, output, 0.0 if zero_output_for_mask else previous)
        outputs.append(output)
        previous = output
    return np.stack(outputs, axis=1), states


def _numpy(variable):
    return np.asarray(variable.numpy(), dtype=np.float64)


def _activation(function):
    name = getattr(function, "__name__", str(function))
    if name not in _ACTIVATIONS:
        raise InvalidArgumentError(
            f"The NumPy reference knows the activations {', '.join(sorted(_ACTIVATIONS))}. "
            f"Received: activation={name!r}."
        )
    return _ACTIVATIONS[name]


def _step_function(cell):
    # Returns step(x_t, states) -> (output, new states) for this cell's weights, and how many
    # states it carries ([h] or [h, c]).
    kernel, recurrent_kernel = _numpy(cell.kernel), _numpy(cell.recurrent_kernel)
    reset_after = getattr(cell, "reset_after", False)
    if cell.use_bias:
        bias = _numpy(cell.bias)
    else:
        width = recurrent_kernel.shape[1]
        bias = np.zeros((2, width) if reset_after else width)
    activation = _activation(cell.activation)
    if isinstance(cell, keras.layers.SimpleRNNCell):
        def step(x, states):
            h = simple_rnn_cell(x, states[0], kernel, recurrent_kernel, bias, activation)
            return h, [h]
        return step, 1
    gate = _activation(cell.recurrent_activation)
    if isinstance(cell, keras.layers.LSTMCell):
        def step(x, states):
            h, c = lstm_cell(x, *states, kernel, recurrent_kernel, bias, activation, gate)
            return h, [h, c]
        return step, 2

    def step(x, states):
        h = gru_cell(x, states[0], kernel, recurrent_kernel, bias, reset_after, activation, gate)
        return h, [h]
    return step, 1


def _one_direction(layer, inputs, mask, initial_state):
    cells = (keras.layers.SimpleRNNCell, keras.layers.LSTMCell, keras.layers.GRUCell)
    if not isinstance(getattr(layer, "cell", None), cells) or not layer.built:
        raise InvalidArgumentError(
            "`layer` must be a built SimpleRNN, LSTM or GRU layer (or a Bidirectional of "
            f"one). Received: {type(layer).__name__} (built={layer.built})."
        )
    step, count = _step_function(layer.cell)
    if initial_state is None:
        states = [np.zeros((inputs.shape[0], layer.cell.units))] * count
    else:
        states = [np.asarray(state, np.float64) for state in initial_state]
    sequences, states = run_steps(
        step, inputs, states, mask, layer.go_backwards, layer.zero_output_for_mask
    )
    return (sequences if layer.return_sequences else sequences[:, -1]), states


def forward(layer, inputs, mask=None, initial_state=None):
    """Runs a built Keras recurrent layer's weights through the NumPy equations.

    Gives what `layer(inputs, mask=mask, initial_state=initial_state)` gives with
    `return_state=True`: the output (every step if the layer returns sequences, else the
    last) and the final states ([h] or [h, c]; a `Bidirectional` layer's forward states then
    its backward states).

    Args:
        layer: a built `SimpleRNN`, `LSTM`, `GRU`, or `Bidirectional` of one.
        inputs: array (batch, steps, features).
        mask: boolean array (batch, steps) or None. True marks real steps.
        initial_state: list of arrays or None (zeros).

    Returns:
        A tuple `(output, states)` of float64 arrays.

    Example:

    >>> import keras
    >>> layer = keras.layers.GRU(3, return_sequences=True)
    >>> x = np.random.default_rng(0).normal(size=(2, 5, 4)).astype("float32")
    >>> expected = keras.ops.convert_to_numpy(layer(x))
    >>> output, states = forward(layer, x)
    >>> bool(np.allclose(output, expected, atol=1e-5)), output.shape, len(states)
    (True, (2, 5, 3), 1)
    """
    inputs = np.asarray(inputs, dtype=np.float64)
    if inputs.ndim != 3:
        raise InvalidArgumentError(
            "`inputs` must be 3-D (batch, steps, features). "
            f"Received: inputs with shape {inputs.shape}."
        )
    if not isinstance(layer, keras.layers.Bidirectional):
        return _one_direction(layer, inputs, mask, initial_state)
    half = None if initial_state is None else len(initial_state) // 2
    forward_output, forward_states = _one_direction(
        layer.forward_layer, inputs, mask, None if half is None else initial_state[:half]
    )
    backward_output, backward_states = _one_direction(
        layer.backward_layer, inputs, mask, None if half is None else initial_state[half:]
    )
    if layer.return_sequences:
        backward_output = backward_output[:, ::-1]  # back into reading order
    merged = {
        "concat": lambda a, b: np.concatenate([a, b], axis=-1),
        "sum": lambda a, b: a + b,
        "ave": lambda a, b: (a + b) / 2.0,
        "mul": lambda a, b: a * b,
        None: lambda a, b: [a, b],
    }[layer.merge_mode](forward_output, backward_output)
    return merged, forward_states + backward_states


def numerical_gradient(function, array, epsilon=1e-5):
    """Central differences: d function / d array[k] ~ (f(a + e_k eps) - f(a - e_k eps)) / 2 eps.

    `function` maps the (float64) array to a scalar; the array is changed in place one entry
    at a time and restored.
    """
    gradient = np.zeros_like(array, dtype=np.float64)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + epsilon
        above = function(array)
        array[index] = saved - epsilon
        below = function(array)
        array[index] = saved
        gradient[index] = (above - below) / (2.0 * epsilon)
    return gradient
