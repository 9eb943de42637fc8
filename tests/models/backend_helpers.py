"""Gradients in tests, on the backend Keras runs: `tf.GradientTape`, `jax.grad` or
`torch.autograd.grad`. (A model's output is read with `keras.ops.convert_to_numpy`, which
works on all three; `np.asarray` fails on a PyTorch tensor that requires a gradient.)

PyTorch is not a backend seqrecipes trains on (README, "Backends": masked recurrent layers take
Keras's generic loop there), but the model tests run on it too when torch is installed:
`KERAS_BACKEND=torch python -m pytest -m backends tests/models`.
"""

import keras


def gradients(loss, inputs=(), variables=()):
    """d loss(*inputs) / d(inputs, then variables), as the backend gives them.

    `loss` returns a scalar. TensorFlow: tensors, or `tf.IndexedSlices` for a gathered table;
    JAX and PyTorch: arrays (a gathered table's gradient is dense). `dense` turns any into
    NumPy.
    """
    inputs = [keras.ops.convert_to_tensor(value) for value in inputs]
    variables = list(variables)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(inputs)
            value = loss(*inputs)
        return tape.gradient(value, inputs + [variable.value for variable in variables])
    if backend == "jax":
        import jax

        def pure(input_values, variable_values):
            with keras.StatelessScope(state_mapping=list(zip(variables, variable_values))):
                return loss(*input_values)

        of_inputs, of_variables = jax.grad(pure, argnums=(0, 1))(
            inputs, [variable.value for variable in variables]
        )
        return list(of_inputs) + list(of_variables)
    if backend == "torch":
        import torch

        inputs = [value.detach().clone().requires_grad_(True) for value in inputs]
        value = loss(*inputs)
        return list(torch.autograd.grad(value, inputs + [variable.value for variable in variables],
                                        allow_unused=True))
    raise NotImplementedError(f"gradients on the {backend} backend")



def dense(gradient):
    """A gradient as a dense NumPy array (the rows of a `tf.IndexedSlices` summed)."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        gradient = tf.convert_to_tensor(gradient)
    return keras.ops.convert_to_numpy(gradient)

