"""`LazyAdam`: Adam that updates only the embedding rows a batch used.

An `Embedding`'s gradient is a `tf.IndexedSlices`: a few rows of a large table. Keras 3's Adam
turns it into a dense tensor and rewrites the whole table and both of its moment tables at
every step; for a 30,000 x 128 vocabulary that is about 4 ms of a 25 ms LSTM step on this CPU,
a fixed cost that weighs most on the short batches a length-bucketed pipeline makes
(README, "Performance"). Keras 3 has no sparse Adam (TensorFlow Addons' `LazyAdam`, which did
this, does not import on Keras 3), so this one is ours.

For a row that a batch uses, the update is Adam's, with the moments of that row decayed once
per step in which it appears (the "lazy" moments of `tfa.optimizers.LazyAdam` and PyTorch's
`SparseAdam`); rows a batch does not use are left alone, where dense Adam would keep moving
them along their old momentum. Every other gradient (weights, biases, and every gradient when
`amsgrad` is on) gets Keras's Adam update.

It also corrects what Keras 3.15 does with a token used more than once in a batch. The
embedding's gradient then lists that row once per use, and Keras's `ops.square` squares each
listed piece before they are summed: Adam's second moment gets the sum of squares instead of
the square of the row's gradient, and `clipnorm` measures the wrong norm (and then turns the
gradient dense). Here the pieces of a row are summed first (`tf.unique`), for the update and
for `clipnorm` alike, which keeps the gradient sparse.

TensorFlow only (chosen by `keras.backend.backend()`): the sparse path above, and two more
costs of a step that are gone. The moment rows are gathered from the variables themselves
(`_gather`): once a table has been updated sparsely, TensorFlow copies it whole on every dense
read, which `tf.gather` on a Keras variable is. And dense gradients go through TensorFlow's
fused `ResourceApplyAdam` kernel, which computes exactly what Keras's Adam writes out in about
ten ops per variable (the same formula, with epsilon added to the square root); on the short
batches of a bucketed NER or CNN step the per-op cost of those small ops was about 1-2 ms.

JAX differentiates a gather into a dense gradient (the rows a batch used, summed, zeros
elsewhere: a token used twice already counts once, and Keras's `clipnorm` of it measures the
summed rows). There the tables of `seqrecipes.models.Embedding` (marked when the layer is
built, `mark_row_sparse`) take a masked dense update: a row is "used" when its gradient is
not all zero, and only used rows get Adam's update and have their moments decayed, the
semantics above. The one difference from TensorFlow: a used row whose summed gradient is
exactly zero stays where it is (on TensorFlow its moments decay). Every other variable gets
Keras's own `Adam.update_step`. The masked update still reads and writes the whole table (XLA
fuses it into one pass); measured on this CPU for a 20,000 x 100 table, see `bench/`.
"""

import keras
from keras import ops

# The attribute `mark_row_sparse` sets on an embedding table (a Keras variable).
_ROW_SPARSE = "_seqrecipes_row_sparse"


def mark_row_sparse(variable):
    """Marks `variable` (an embedding table) for `LazyAdam`'s row-wise update on JAX."""
    setattr(variable, _ROW_SPARSE, True)


def is_row_sparse(variable):
    """Whether `mark_row_sparse` marked `variable`."""
    return getattr(variable, _ROW_SPARSE, False)


def _is_indexed_slices(value):
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf  # TensorFlow only: its sparse gradient type

    return isinstance(value, tf.IndexedSlices)


@keras.saving.register_keras_serializable(package="seqrecipes")
class LazyAdam(keras.optimizers.Adam):
    """`keras.optimizers.Adam` with sparse (lazy) updates for embedding gradients.

    Takes the arguments of `keras.optimizers.Adam`; saves and loads like it.

    Example:

    >>> from seqrecipes.models.embedding import Embedding
    >>> model = keras.Sequential([keras.Input((3,), dtype="int32"),
    ...                           Embedding(100, 4), keras.layers.Flatten(),
    ...                           keras.layers.Dense(1)])
    >>> model.compile(optimizer=LazyAdam(1e-3), loss="mse")
    """

    def _clip_by_norm(self, values, axes=None):
        if not _is_indexed_slices(values):
            return super()._clip_by_norm(values, axes)
        import tensorflow as tf  # TensorFlow only: IndexedSlices

        values = _summed_rows(values)
        norm = tf.norm(values.values)
        scale = self.clipnorm / tf.maximum(norm, self.clipnorm)
        return tf.IndexedSlices(values.values * tf.cast(scale, values.values.dtype),
                                values.indices, values.dense_shape)

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad:
            return super().update_step(gradient, variable, learning_rate)
        if keras.backend.backend() == "tensorflow":
            return self._tensorflow_update_step(gradient, variable, learning_rate)
        if not is_row_sparse(variable):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        gradient = ops.cast(gradient, dtype)
        beta_1, beta_2, alpha = self._factors(learning_rate, dtype)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        m_old, v_old = ops.convert_to_tensor(m), ops.convert_to_tensor(v)
        used = ops.any(ops.not_equal(gradient, 0), axis=-1, keepdims=True)
        m_new = ops.where(used, beta_1 * m_old + (1 - beta_1) * gradient, m_old)
        v_new = ops.where(used, beta_2 * v_old + (1 - beta_2) * ops.square(gradient), v_old)
        self.assign(m, m_new)
        self.assign(v, v_new)
        self.assign_sub(
            variable, ops.where(used, alpha * m_new / (ops.sqrt(v_new) + self.epsilon), 0)
        )

    def _factors(self, learning_rate, dtype):
        """beta_1, beta_2 and Adam's bias-corrected step size at this step, in `dtype`."""
        step = ops.cast(self.iterations + 1, dtype)
        beta_1 = ops.cast(self.beta_1, dtype)
        beta_2 = ops.cast(self.beta_2, dtype)
        alpha = (ops.cast(learning_rate, dtype) * ops.sqrt(1 - ops.power(beta_2, step))
                 / (1 - ops.power(beta_1, step)))
        return beta_1, beta_2, alpha

    def _tensorflow_update_step(self, gradient, variable, learning_rate):
        """TensorFlow only: IndexedSlices row updates and the fused dense kernel."""
        import tensorflow as tf

        dtype = variable.dtype
        beta_1, beta_2, alpha = self._factors(learning_rate, dtype)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        if not isinstance(gradient, tf.IndexedSlices):
            # Keras's update in one fused kernel (TensorFlow's own Adam, the arithmetic
            # Keras writes out in about ten ops per variable): see the module docstring.
            step = tf.cast(self.iterations + 1, dtype)
            tf.raw_ops.ResourceApplyAdam(
                var=_tf_variable(variable).handle, m=_tf_variable(m).handle,
                v=_tf_variable(v).handle,
                beta1_power=tf.pow(beta_1, step), beta2_power=tf.pow(beta_2, step),
                lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2,
                epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype),
            )
            return
        gradient = _summed_rows(gradient)
        rows, values = gradient.indices, tf.cast(gradient.values, dtype)
        m_rows = beta_1 * _gather(m, rows) + (1 - beta_1) * values
        v_rows = beta_2 * _gather(v, rows) + (1 - beta_2) * tf.square(values)
        self.assign(m, tf.IndexedSlices(m_rows, rows))
        self.assign(v, tf.IndexedSlices(v_rows, rows))
        self.assign_sub(
            variable,
            tf.IndexedSlices(alpha * m_rows / (tf.sqrt(v_rows) + self.epsilon), rows),
        )


def _tf_variable(variable):
    """The `tf.Variable` of a Keras variable (or the `tf.Variable` itself)."""
    return variable.value if isinstance(variable, keras.Variable) else variable


def _gather(variable, rows):
    """`rows` of `variable`, read from the `tf.Variable` itself (a `ResourceGather`).

    `tf.gather` on the Keras variable would first read the whole table, and once a table has
    been updated sparsely TensorFlow copies it on every such dense read (see
    `seqrecipes.models.embedding`): two copies of the vocabulary-sized moment tables per step.
    TensorFlow only.
    """
    import tensorflow as tf

    return tf.gather(_tf_variable(variable), rows)


def _summed_rows(gradient):
    """`gradient` (IndexedSlices) with each row listed once: a row used twice is summed."""
    import tensorflow as tf  # TensorFlow only

    rows, position = tf.unique(gradient.indices)
    values = tf.math.unsorted_segment_sum(gradient.values, position, tf.shape(rows)[0])
    return tf.IndexedSlices(values, rows, gradient.dense_shape)
