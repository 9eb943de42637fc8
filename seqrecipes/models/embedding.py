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
the backend is not TensorFlow, Keras's `call` runs (the gather from the variable is TensorFlow
only: JAX has no variables to read from, and differentiates Keras's `ops.take` densely).

The layer marks its table for `LazyAdam` when it is built (`lazy_adam.mark_row_sparse`): on
JAX, where no gradient says which rows a batch used, that mark is what gives this table, and
no other variable, LazyAdam's row-wise update.
"""

import keras
import numpy as np

from seqrecipes import _validation
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.models import sizes
from seqrecipes.models.lazy_adam import mark_row_sparse


@keras.saving.register_keras_serializable(package="seqrecipes")
class Embedding(keras.layers.Embedding):
    """`keras.layers.Embedding` that gathers its rows without reading the whole table.

    Takes the arguments of `keras.layers.Embedding` and computes exactly what it computes.

    Example:

    >>> layer = Embedding(10, 4, mask_zero=True)
    >>> tuple(layer(np.array([[3, 0]])).shape)
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

    def build(self, input_shape=None):
        super().build(input_shape)
        if isinstance(getattr(self, "_embeddings", None), keras.Variable):  # not quantised
            mark_row_sparse(self._embeddings)

    def call(self, inputs):
        table = self.embeddings
        if keras.backend.backend() != "tensorflow" or not isinstance(table, keras.Variable):
            return super().call(inputs)
        import tensorflow as tf  # TensorFlow only: the gather from the tf.Variable

        if inputs.dtype not in ("int32", "int64"):
            inputs = tf.cast(inputs, "int32")
        rows = tf.nn.embedding_lookup(table.value, inputs)
        return keras.ops.cast(rows, self.compute_dtype)


def _check_embeddings(embeddings, vocabulary_size, embedding_dim, train_embeddings):
    """Checks a builder's `embeddings` and `train_embeddings`; returns the matrix (or None)."""
    _validation.check_bool("train_embeddings", train_embeddings)
    if embeddings is None:
        return None
    try:
        matrix = np.asarray(embeddings, dtype="float32")
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            "`embeddings` must be a [vocabulary_size, embedding_dim] matrix of numbers (e.g. "
            "from `datasets.vectors_for_vocabulary`) or None. Received: embeddings of type "
            f"{type(embeddings).__name__}."
        ) from None
    if matrix.shape != (vocabulary_size, embedding_dim):
        fix = (f" Pass embedding_dim={matrix.shape[1]}."
               if matrix.ndim == 2 and matrix.shape[0] == vocabulary_size else "")
        raise InvalidArgumentError(
            "`embeddings` must be a [vocabulary_size, embedding_dim] = "
            f"[{vocabulary_size}, {embedding_dim}] matrix. Received: embeddings of shape "
            f"{tuple(matrix.shape)}.{fix}"
        )
    if not np.all(np.isfinite(matrix)):
        raise InvalidArgumentError(
            "`embeddings` holds NaN or infinite values (e.g. row "
            f"{int(np.argwhere(~np.isfinite(matrix))[0][0])}). Pass finite numbers."
        )
    return matrix


def token_embedding(vocabulary_size, embedding_dim, *, embeddings=None, train_embeddings=True,
                    mask_zero=True, name="embedding"):
    """Returns the `Embedding` of token ids every builder uses, started from `embeddings`.

    The matrix becomes the layer's weights once it is built (Keras's own `weights=`), never
    a `Constant` initializer: an initializer is part of the layer's config and would be
    written as a list of V x d numbers into the config.json inside model.keras. As a weight it
    is saved in model.keras like any other, so a saved model needs no vector file.
    `train_embeddings=False` freezes the table (`trainable=False`): it gets no gradient, so
    no optimizer (`LazyAdam` included) updates it.

    Args:
        vocabulary_size: int. Rows of the table.
        embedding_dim: int. Width of each row.
        embeddings: array-like `[vocabulary_size, embedding_dim]` or None. The initial table
            (e.g. pretrained word vectors, `datasets.vectors_for_vocabulary`); None: Keras's
            random initializer.
        train_embeddings: bool. Fine-tune the table (True) or keep it as given. Defaults to
            True.
        mask_zero: bool. Id 0 is padding. Defaults to True.
        name: str. The layer's name.

    Example:

    >>> layer = token_embedding(3, 2, embeddings=[[0, 0], [1, 1], [2, 2]],
    ...                         train_embeddings=False)
    >>> keras.ops.convert_to_numpy(layer(np.array([[2, 0]]))).tolist(), layer.trainable
    ([[[2.0, 2.0], [0.0, 0.0]]], False)
    """
    matrix = _check_embeddings(embeddings, vocabulary_size, embedding_dim, train_embeddings)
    return Embedding(vocabulary_size, embedding_dim, mask_zero=mask_zero, weights=matrix,
                     trainable=train_embeddings, name=name)
