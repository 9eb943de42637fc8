"""Convolutions over token sequences: a text classifier and a tagger's encoder.

`build_conv_classifier`: Embedding -> Conv1D -> GlobalMaxPooling1D -> Dense. One kernel size
gives a `Sequential` model; several (Kim 2014 uses 3, 4 and 5) give a functional model with one
convolution + max-pool branch per size, concatenated before the head.

`dilated_conv_stack`: one vector per token from a stack of dilated convolutions with residual
connections, the encoder of `build_ner_tagger(encoder="cnn")`.
"""

import keras

from seqrecipes import _validation
from seqrecipes.errors import InvalidArgumentError
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


def check_conv_stack(filters, kernel_size, dilations, dropout, *, names=None):
    """Checks `dilated_conv_stack`'s settings; returns `dilations` as a tuple of ints.

    `names` maps each setting to the argument name the caller's user knows it by
    (`build_ner_tagger`'s `conv_filters`, say)."""
    names = {"filters": "filters", "kernel_size": "kernel_size", **(names or {})}
    _validation.check_positive_int(names["filters"], filters)
    _validation.check_positive_int(names["kernel_size"], kernel_size)
    _validation.check_fraction("dropout", dropout)
    return _validation.check_positive_ints("dilations", dilations)


def dilated_conv_stack(features, *, filters=200, kernel_size=3, dilations=(1, 2, 4, 8),
                       dropout=0.2, name="conv"):
    """Encodes every token with dilated convolutions; returns `[batch, words, filters]`.

    After the iterated dilated CNN of Strubell et al. (2017, "Fast and Accurate Entity
    Recognition with Iterated Dilated Convolutions"), without its parameter sharing: a ReLU
    `Dense` projection to `filters`, then one ReLU convolution per entry of `dilations`, each
    added to its input (a residual connection) after dropout. Dilations 1, 2, 4, 8 with
    windows of 3 let each token see 15 words on either side in four layers, and every
    position is computed at once, where a recurrent layer steps through the words one by
    one. The mask of `features` is kept, and masked steps are zeroed before every convolution
    (`MaskedConv1D`), so a token's output does not depend on how far its batch is padded.

    Args:
        features: a symbolic float tensor `[batch, words, width]`, masked at padding.
        filters: int. The width of every layer and of the output. Defaults to 200.
        kernel_size: int. The window of every convolution. Defaults to 3.
        dilations: int or tuple of ints. One convolution per entry, with that dilation
            rate. Defaults to (1, 2, 4, 8).
        dropout: float. Dropout on each convolution's output. Defaults to 0.2.
        name: str. Prefix of the layers' names.

    Returns:
        The encoded tensor, with the mask of `features`.

    Example:

    >>> words = keras.Input(shape=(None, 8))
    >>> dilated_conv_stack(words, filters=4, dilations=(1, 2)).shape
    (None, None, 4)
    """
    dilations = check_conv_stack(filters, kernel_size, dilations, dropout)
    _validation.check_string("name", name)
    x = keras.layers.Dense(filters, activation="relu", name=f"{name}_projection")(features)
    for index, rate in enumerate(dilations, start=1):
        x = ResidualConv1D(filters, kernel_size, dilation_rate=rate, dropout=dropout,
                           name=f"{name}_{index}")(x)
    return x


@keras.saving.register_keras_serializable(package="seqrecipes")
class ResidualConv1D(keras.layers.Layer):
    """`inputs + Dropout(MaskedConv1D(inputs))` with a ReLU, keeping the mask: one layer of
    `dilated_conv_stack`.

    One layer rather than `MaskedConv1D`, `Dropout` and `Add`: Keras's `Add` merges its two
    (equal) masks with a `logical_or` op of the functional graph, and such ops, named by a
    per-process counter, can clash when a model saved on JAX is reloaded on TensorFlow and a
    model is made from its tensors (`CRFModel.predict_marginals`: "The name ... is used 2
    times in the model"); `tests/models/test_cross_backend.py` reloads one.

    Args:
        filters: int. The width of the input and of the output (a residual keeps it).
        kernel_size: int. The convolution's window.
        dilation_rate: int. The convolution's dilation.
        dropout: float. Dropout on the convolution's output, in training.
    """

    def __init__(self, filters, kernel_size, dilation_rate=1, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size = filters, kernel_size
        self.dilation_rate, self.rate = dilation_rate, dropout
        self.conv = MaskedConv1D(filters, kernel_size, dilation_rate=dilation_rate,
                                 activation="relu", name="conv")
        self.dropout = keras.layers.Dropout(dropout, name="dropout")
        self.supports_masking = True

    def build(self, input_shape):
        if input_shape[-1] != self.filters:
            raise InvalidArgumentError(
                f"A residual convolution keeps its input's width, so the input must have "
                f"`filters` = {self.filters} features. Received: input of shape "
                f"{tuple(input_shape)}.")
        self.conv.build(input_shape)

    def call(self, inputs, mask=None, training=None):
        return inputs + self.dropout(self.conv(inputs, mask=mask), training=training)

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "dilation_rate": self.dilation_rate,
                "dropout": self.rate}
