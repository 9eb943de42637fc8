"""Bag-of-n-grams text classifier (fastText): Embedding -> masked mean -> Dense.

Joulin et al. (2017), "Bag of Tricks for Efficient Text Classification": average the
embeddings of a text's words and n-grams and classify the average with a linear layer. Word
order enters only through the n-grams, which the vectorizer makes
(`build_text_vectorizer(..., ngrams=2)` gives words and word pairs); the model itself sees a
set of ids. On long reviews whose sentiment is spread over many phrases (IMDB) it generalises
better than sequence models trained from scratch, and it trains in seconds per epoch.
"""

import keras

from seqrecipes import _validation
from seqrecipes.models.embedding import token_embedding
from seqrecipes.models.layers import MaskedGlobalAveragePooling1D


def build_bag_classifier(
    vocabulary_size,
    num_classes=2,
    *,
    embedding_dim=64,
    dropout=0.0,
    sequence_length=None,
    embeddings=None,
    train_embeddings=True,
    name="bag_classifier",
):
    """Builds a fastText-style classifier: the mean of the token embeddings, then `Dense`.

    Padding (id 0) is masked out of the mean, so a text gives the same output whatever its
    batch is padded to, and an empty text gives the head's bias alone (never NaN).

    Args:
        vocabulary_size: int. Number of token ids (padding 0 and OOV 1 included); with an
            n-gram vectorizer, words and n-grams share these ids.
        num_classes: int >= 2. Defaults to 2 (one sigmoid unit).
        embedding_dim: int. Width of each token's embedding. Defaults to 64.
        dropout: float. Dropout on the averaged embedding. Defaults to 0.
        sequence_length: int or None. Defaults to None (any length).
        embeddings: array-like `[vocabulary_size, embedding_dim]` or None. Initial embedding
            table (pretrained word vectors); saved in model.keras as weights. None: random.
        train_embeddings: bool. Fine-tune the embedding (True) or freeze it. Defaults to True.
        name: str. The model's name.

    Returns:
        A `keras.Sequential` model.

    Example:

    >>> model = build_bag_classifier(100, 2, embedding_dim=8)
    >>> model.output_shape
    (None, 1)
    >>> build_bag_classifier(100, 4, embedding_dim=8).output_shape
    (None, 4)
    """
    _validation.check_positive_int("vocabulary_size", vocabulary_size)
    _validation.check_num_classes(num_classes)
    _validation.check_positive_int("embedding_dim", embedding_dim)
    _validation.check_fraction("dropout", dropout)
    _validation.check_positive_int("sequence_length", sequence_length, allow_none=True)
    _validation.check_string("name", name)
    binary = num_classes == 2
    layers = [
        keras.Input(shape=(sequence_length,), dtype="int32", name="token_ids"),
        token_embedding(vocabulary_size, embedding_dim, embeddings=embeddings,
                        train_embeddings=train_embeddings),
        MaskedGlobalAveragePooling1D(name="mean_pool"),
    ]
    if dropout:
        layers.append(keras.layers.Dropout(dropout, name="dropout"))
    layers.append(
        keras.layers.Dense(
            1 if binary else num_classes,
            activation="sigmoid" if binary else "softmax",
            name="head",
        )
    )
    return keras.Sequential(layers, name=name)
