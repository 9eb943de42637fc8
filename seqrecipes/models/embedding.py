"""`Embedding`: Keras's `Embedding` that reads only the rows it looks up.

Keras 3's `Embedding.call` turns its table into a tensor (`ops.take` calls `convert_to_tensor`)
before gathering rows: a dense read of the whole table. TensorFlow serves a dense read of a
variable without a copy until the variable is first updated sparsely; after that the variable
is in "copy-on-read" mode and every dense read copies the whole table, so that the reader's
tensor cannot change under a later scatter. `LazyAdam` updates embedding tables sparsely, so
with Keras's layer every training step copied each table once more (30,000 x 128 floats,
about 1 ms of a 10 ms step on this CPU). Here the rows are gathered from the variable itself
(`tf.nn.embedding_lookup` on the `tf.Variable`, a `ResourceGather`, as tf.keras 2 did), which
copies only those rows; the gradient is the same `tf.IndexedSlices`, and the results are
Keras's to the bit (tests/test_embedding.py). Everything else (arguments, masks, saving, LoRA,
quantisation) is Keras's own: whenever the table is not a plain variable (LoRA adds to it) or
the backend is not TensorFlow, Keras's `call` runs.
"""

import keras
import tensorflow as tf

from seqrecipes.models import sizes


@keras.saving.register_keras_serializable(package="seqrecipes")
class Embedding(keras.layers.Embedding):
    """`keras.layers.Embedding` that gathers its rows without reading the whole table.

    Takes the arguments of `keras.layers.Embedding` and computes exactly what it computes.

    Example:

    >>> layer = Embedding(10, 4, mask_zero=True)
    >>> tuple(layer(tf.constant([[3, 0]])).shape)
    (1, 2, 4)
    """

    def __init__(self, input_dim, output_dim, **kwargs):
        super().__init__(input_dim, output_dim, **kwargs)
        if not self.built:  # the table is allocated when the layer is built: check it first
            sizes.check_parameters_fit(  # V*d, `params`'s formula for an embedding
                input_dim * output_dim, f"The embedding {self.name!r} of {input_dim:,} rows x "
                f"`embedding_dim`={output_dim}",
                fix="Choose a smaller `embedding_dim` or a smaller vocabulary.",
            )

    def call(self, inputs):
        table = self.embeddings
        if keras.backend.backend() != "tensorflow" or not isinstance(table, keras.Variable):
            return super().call(inputs)
        if inputs.dtype not in ("int32", "int64"):
            inputs = tf.cast(inputs, "int32")
        rows = tf.nn.embedding_lookup(table.value, inputs)
        return keras.ops.cast(rows, self.compute_dtype)
