"""`LazyAdam`: Adam's update on the embedding rows a batch uses, the others left alone.

On TensorFlow the embedding's gradient is a `tf.IndexedSlices`; on JAX it is dense and the
table of our `Embedding` is marked for the row-wise update. The same tests hold on both.
"""

import keras
import numpy as np
import pytest
from backend_helpers import dense, gradients

from seqrecipes.models import Embedding, LazyAdam
from seqrecipes.models.lazy_adam import is_row_sparse

TENSORFLOW_ONLY = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="tf.IndexedSlices are TensorFlow's: JAX's gradient of a gather is dense",
)


def _model(optimizer):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((3,), dtype="int32"), Embedding(10, 4),
        keras.layers.Flatten(), keras.layers.Dense(1),
    ])
    model.compile(optimizer=optimizer, loss="mse")
    return model


def _adam_rows(table, gradients, rate=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """Adam by hand on a dict row -> list of per-step gradients (None: row not used)."""
    out = table.copy()
    for row, steps in gradients.items():
        m = v = np.zeros(table.shape[1])
        used = 0
        for step, gradient in enumerate(steps, start=1):
            if gradient is None:
                continue
            used += 1
            m = beta_1 * m + (1 - beta_1) * gradient
            v = beta_2 * v + (1 - beta_2) * gradient**2
            alpha = rate * np.sqrt(1 - beta_2**step) / (1 - beta_1**step)
            out[row] -= alpha * m / (np.sqrt(v) + epsilon)
    return out


def _embedding_gradient(model, x):
    """The embedding's gradient for batch `x` as the backend gives it, and its dense sum."""
    def loss():
        return keras.ops.sum(keras.losses.mean_squared_error(np.array([[1.0]]), model(x)))

    (gradient,) = gradients(loss, variables=[model.layers[0].embeddings])
    return gradient, dense(gradient)  # duplicates summed


def test_first_step_is_adam_and_a_repeated_token_counts_once():
    """Token 1 appears twice: Adam's moments take the row's summed gradient, squared.

    (Keras 3.15's own Adam squares each occurrence's gradient before summing them,
    `ops.square` on the IndexedSlices, so it does not pass this test; see the module.)
    """
    x, y = np.array([[1, 1, 2]]), np.array([[1.0]])
    lazy, dense = _model(LazyAdam(0.01)), _model(keras.optimizers.Adam(0.01))
    table = lazy.get_weights()[0].copy()
    _, summed = _embedding_gradient(lazy, x)
    lazy.train_on_batch(x, y)
    dense.train_on_batch(x, y)
    expected = _adam_rows(table, {row: [summed[row]] for row in (1, 2)})
    np.testing.assert_allclose(lazy.get_weights()[0], expected, rtol=1e-5, atol=1e-7)
    for mine, theirs in zip(lazy.get_weights()[1:], dense.get_weights()[1:]):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-7)  # dense: Keras's Adam


def test_rows_a_batch_does_not_use_stay_where_they_are():
    lazy, dense = _model(LazyAdam(0.01)), _model(keras.optimizers.Adam(0.01))
    start = lazy.get_weights()[0].copy()
    y = np.array([[1.0]])
    lazy.train_on_batch(np.array([[1, 2, 3]]), y)
    after_first = lazy.get_weights()[0].copy()
    dense.train_on_batch(np.array([[1, 2, 3]]), y)
    lazy.train_on_batch(np.array([[4, 5, 6]]), y)
    dense.train_on_batch(np.array([[4, 5, 6]]), y)
    table, dense_table = lazy.get_weights()[0], dense.get_weights()[0]
    np.testing.assert_array_equal(table[1:4], after_first[1:4])  # not used in step 2
    assert not np.allclose(dense_table[1:4], after_first[1:4])  # dense Adam kept moving them
    np.testing.assert_array_equal(table[[0, 7, 8, 9]], start[[0, 7, 8, 9]])  # never used


def test_the_update_of_a_used_row_follows_adam_with_lazy_moments():
    """Rows 1-3 are used in steps 1 and 3, not in step 2; their moments skip step 2."""
    model = _model(LazyAdam(0.01))
    embedding = model.layers[0]
    table = embedding.get_weights()[0].copy()
    gradients = {row: [] for row in (1, 2, 3)}
    for x in ([[1, 2, 3]], [[4, 5, 6]], [[1, 2, 3]]):
        x = np.array(x)
        gradient, summed = _embedding_gradient(model, x)
        for row in gradients:
            gradients[row].append(summed[row] if row in x[0] else None)
        model.optimizer.apply_gradients([(gradient, embedding.embeddings)])
    expected = _adam_rows(table, gradients)
    np.testing.assert_allclose(embedding.get_weights()[0][1:4], expected[1:4], rtol=1e-5,
                               atol=1e-7)


def test_clipnorm_measures_each_row_once():
    model = _model(LazyAdam(0.01, clipnorm=1e-4))
    gradient, summed = _embedding_gradient(model, np.array([[1, 1, 2]]))
    clipped = dense(model.optimizer._clip_gradients([gradient])[0])
    np.testing.assert_allclose(np.linalg.norm(clipped), 1e-4, rtol=1e-4)
    np.testing.assert_allclose(clipped, summed * 1e-4 / np.linalg.norm(summed), rtol=1e-4)


@TENSORFLOW_ONLY
def test_clipnorm_keeps_the_gradient_sparse():
    import tensorflow as tf

    model = _model(LazyAdam(0.01, clipnorm=1e-4))
    gradient, _ = _embedding_gradient(model, np.array([[1, 1, 2]]))
    assert isinstance(gradient, tf.IndexedSlices)
    assert isinstance(model.optimizer._clip_gradients([gradient])[0], tf.IndexedSlices)


def test_only_our_embedding_tables_are_marked_for_the_row_update():
    model = _model(LazyAdam(0.01))
    assert is_row_sparse(model.layers[0].embeddings)
    assert not any(is_row_sparse(weight) for weight in model.layers[-1].weights)
    plain = keras.layers.Embedding(5, 2)  # Keras's own layer: not marked
    plain.build()
    assert not is_row_sparse(plain.embeddings)


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="JAX's dense gradients only")
def test_on_jax_a_used_row_with_a_zero_summed_gradient_stays_put():
    """The one difference from TensorFlow's sparse path, written in the module's docstring."""
    model = _model(LazyAdam(0.01))
    variable = model.layers[0].embeddings
    table = keras.ops.convert_to_numpy(variable).copy()
    gradient = np.zeros_like(table)
    gradient[2] = 0.5
    model.optimizer.apply_gradients([(gradient, variable)])
    after = keras.ops.convert_to_numpy(variable)
    np.testing.assert_array_equal(np.delete(after, 2, axis=0), np.delete(table, 2, axis=0))
    assert np.all(after[2] < table[2])  # a positive gradient moves the row down


def test_a_model_saved_with_lazy_adam_loads_with_it(tmp_path):
    model = _model(LazyAdam(0.02))
    model.train_on_batch(np.array([[1, 2, 3]]), np.array([[1.0]]))
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.optimizer, LazyAdam)
    assert float(loaded.optimizer.learning_rate) == pytest.approx(0.02)


@pytest.mark.parametrize("options", [{}, {"clipnorm": 0.5, "weight_decay": 0.01}])
def test_dense_weights_follow_keras_adam_step_after_step(options):
    """Dense gradients get Keras's arithmetic (on TensorFlow in one fused kernel)."""
    def model(optimizer):
        keras.utils.set_random_seed(1)
        built = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="tanh"),
                                  keras.layers.Dense(1)])
        built.compile(optimizer=optimizer, loss="mse")
        return built

    lazy = model(LazyAdam(0.05, **options))
    dense = model(keras.optimizers.Adam(0.05, **options))
    rng = np.random.default_rng(0)
    start = lazy.get_weights()
    for _ in range(6):
        x, y = rng.normal(size=(16, 5)), rng.normal(size=(16, 1))
        lazy.train_on_batch(x, y)
        dense.train_on_batch(x, y)
    for mine, theirs, before in zip(lazy.get_weights(), dense.get_weights(), start):
        assert not np.allclose(mine, before, atol=1e-2)  # each weight moved ~0.05 a step
        # float32 rounding: the fused kernel orders the same operations differently
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-5)
