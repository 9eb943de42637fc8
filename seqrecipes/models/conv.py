"""Convolutional text classifier: Embedding -> Conv1D -> GlobalMaxPooling1D -> Dense.

One kernel size gives a `Sequential` model; several (Kim 2014 uses 3, 4 and 5) give a functional
model with one convolution + max-pool branch per size, concatenated before the head.
"""

import keras

from seqrecipes import _validation
from seqrecipes.models.embedding import token_embedding
from seqrecipes.models.layers import MaskedConv1D, MaskedGlobalMaxPooling1D


def build_conv_classifier(
    vocabulary_size,
    num_classes=2,
    *,
    embedding_dim=128,
    filters=128,
    kernel_size=(3, 4, 5),
    activation="relu",
    dropout=0.5,
    sequence_length=None,
    mask_zero=True,
    embeddings=None,
    train_embeddings=True,
    name="conv_classifier",
):
    """Builds a 1-D convolutional text classifier.

    With `mask_zero=True` (the default) padding cannot change the answer: padded steps are
    zeroed before each convolution (exactly like `padding="same"`'s own zero padding) and the
    max-pool looks at real steps only, so a text gives the same output in a batch padded to 10
    or to 500 steps, and texts shorter than the kernel still work.

    Args:
        vocabulary_size: int. Number of token ids (padding 0 and OOV 1 included).
        num_classes: int >= 2. Defaults to 2 (one sigmoid unit).
        embedding_dim: int. Defaults to 128.
        filters: int. Feature maps per kernel size. Defaults to 128.
        kernel_size: int or tuple of ints. One size (a `Sequential` model) or several (one
            branch each, concatenated). Defaults to (3, 4, 5).
        activation: str. Activation of the convolutions. Defaults to "relu".
        dropout: float. Dropout on the pooled features before the head. Defaults to 0.5.
        sequence_length: int or None. Defaults to None (any length).
        mask_zero: bool. Defaults to True.
        embeddings: array-like `[vocabulary_size, embedding_dim]` or None. Initial embedding
            table (pretrained word vectors); saved in model.keras as weights. None: random.
        train_embeddings: bool. Fine-tune the embedding (True) or freeze it. Defaults to True.
        name: str. The model's name.

    Returns:
        A `keras.Sequential` (one kernel size) or functional `keras.Model`.

    Example:

    >>> model = build_conv_classifier(100, 2, kernel_size=3, filters=4)
    >>> model.output_shape
    (None, 1)
    >>> build_conv_classifier(100, 5, kernel_size=(3, 4, 5), filters=4).output_shape
    (None, 5)
    """
    _validation.check_positive_int("vocabulary_size", vocabulary_size)
    _validation.check_num_classes(num_classes)
    _validation.check_positive_int("embedding_dim", embedding_dim)
    _validation.check_positive_int("filters", filters)
    sizes = _validation.check_positive_ints("kernel_size", kernel_size)
    _validation.check_string("activation", activation)
    _validation.check_fraction("dropout", dropout)
    _validation.check_positive_int("sequence_length", sequence_length, allow_none=True)
    _validation.check_bool("mask_zero", mask_zero)
    embedding = token_embedding(  # checks `embeddings` with the other arguments
        vocabulary_size, embedding_dim, embeddings=embeddings,
        train_embeddings=train_embeddings, mask_zero=mask_zero,
    )
    if sequence_length is not None and not mask_zero:
        _validation.check_conflict(
            max(sizes) > sequence_length,
            f"`kernel_size` {max(sizes)} is longer than `sequence_length` {sequence_length}, "
            "so no window fits in a text. Use smaller kernels, a longer `sequence_length`, "
            "or `mask_zero=True` (same-padded convolutions).",
        )
    try:
        keras.activations.get(activation)
    except ValueError:
        _validation.check_choice("activation", activation, ("relu", "tanh", "gelu", "elu"))

    binary = num_classes == 2
    inputs = keras.Input(shape=(sequence_length,), dtype="int32", name="token_ids")

    def branch(size):
        if mask_zero:
            conv = MaskedConv1D(filters, size, activation=activation, name=f"conv_{size}")
            return [conv, MaskedGlobalMaxPooling1D(name=f"max_pool_{size}")]
        conv = keras.layers.Conv1D(filters, size, activation=activation, name=f"conv_{size}")
        return [conv, keras.layers.GlobalMaxPooling1D(name=f"max_pool_{size}")]

    tail = [
        keras.layers.Dropout(dropout, name="dropout"),
        keras.layers.Dense(
            1 if binary else num_classes,
            activation="sigmoid" if binary else "softmax",
            name="head",
        ),
    ]
    if len(sizes) == 1:
        return keras.Sequential([inputs, embedding] + branch(sizes[0]) + tail, name=name)
    embedded = embedding(inputs)
    pooled = []
    for size in sizes:
        x = embedded
        for layer in branch(size):
            x = layer(x)
        pooled.append(x)
    x = keras.layers.Concatenate(name="concatenate")(pooled)
    for layer in tail:
        x = layer(x)
    return keras.Model(inputs, x, name=name)
