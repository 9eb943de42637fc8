"""Vectorise once: texts, sentences, characters and tags -> ragged id tensors (no padding).

The pipelines (`seqrecipes.datasets.pipeline`) slice these tensors every epoch, so strings
are turned into ids exactly once and the ids, not the strings, are what is kept in memory.
Each function returns a `tf.RaggedTensor` of int32 with one row per input; ids are never 0
inside a row (0 is padding), so a row's length is its number of tokens.
"""

import numpy as np
import tensorflow as tf

from seqrecipes import _validation
from seqrecipes.datasets.options import without_autotuner
from seqrecipes.datasets.vocab import in_pipeline
from seqrecipes.errors import InvalidArgumentError


def encode_texts(texts, vectorizer, *, batch_size=1024):
    """Vectorises raw texts in batches (`tf.data`) into one row of ids per text.

    Args:
        texts: list of str.
        vectorizer: the `TextVectorization` from `build_text_vectorizer`.
        batch_size: int. Texts per vectorisation batch. Defaults to 1024.

    Returns:
        `tf.RaggedTensor` int32 `(texts, (tokens))`.

    Example:

    >>> from seqrecipes.datasets.vocab import build_text_vectorizer
    >>> vectorizer = build_text_vectorizer(["a good film", "a bad film"], min_frequency=2)
    >>> encode_texts(["a film", "", "good"], vectorizer).to_list()
    [[3, 2], [], [1]]
    """
    _validation.check_positive_int("batch_size", batch_size)
    if not callable(vectorizer):
        raise InvalidArgumentError(
            "`vectorizer` must be the `TextVectorization` layer from `build_text_vectorizer`. "
            f"Received: vectorizer={vectorizer!r:.80} ({type(vectorizer).__name__})."
        )
    texts = _validation.check_strings("texts", texts)
    batches = without_autotuner(
        tf.data.Dataset.from_tensor_slices(tf.constant(texts, tf.string)).batch(batch_size))
    # The vectorizer pads each batch with 0; real ids are >= 1, so stripping the trailing
    # zeros gives back each text's exact tokens.
    vectorize = in_pipeline(vectorizer)
    parts = list(batches.map(
        lambda batch: tf.RaggedTensor.from_tensor(tf.cast(vectorize(batch), tf.int32), padding=0)
    ))
    if not parts:
        return tf.RaggedTensor.from_row_lengths(tf.zeros([0], tf.int32), tf.zeros([0], tf.int64))
    return tf.concat(parts, axis=0)


def _flat_tokens(name, sentences):
    rows = _validation.check_token_rows(name, sentences)
    flat = tf.constant([token for row in rows for token in row], tf.string)
    return flat, np.array([len(row) for row in rows], np.int64)


def encode_tokens(sentences, token_lookup):
    """Looks up pre-tokenised sentences: `tf.RaggedTensor` int32 `(sentences, (tokens))`."""
    flat, lengths = _flat_tokens("sentences", sentences)
    ids = tf.cast(token_lookup(flat), tf.int32)
    return tf.RaggedTensor.from_row_lengths(ids, lengths)


def encode_characters(sentences, char_lookup, *, max_chars=None):
    """Character ids of every token: `tf.RaggedTensor` int32 `(sentences, (tokens), (chars))`.

    Args:
        sentences: list of token lists.
        char_lookup: the `StringLookup` from `build_char_lookup`.
        max_chars: int or None. Keep the first `max_chars` characters of each token.
    """
    _validation.check_positive_int("max_chars", max_chars, allow_none=True)
    flat, lengths = _flat_tokens("sentences", sentences)
    chars = tf.strings.unicode_split(flat, "UTF-8")  # (tokens, (chars))
    if max_chars is not None:
        chars = chars[:, :max_chars]
    ids = tf.ragged.map_flat_values(lambda values: tf.cast(char_lookup(values), tf.int32), chars)
    return tf.RaggedTensor.from_row_lengths(ids, lengths)


def encode_sentences(sentences, token_lookup, *, char_lookup=None, max_chars=None):
    """Token ids, plus character ids with `char_lookup`, of pre-tokenised sentences.

    Returns:
        A dict `{"token_ids": (sentences, (tokens))}`, with `"char_ids": (sentences,
        (tokens), (chars))` when `char_lookup` is given: the model inputs of
        `tagging_dataset` and `predict_in_order`.
    """
    features = {"token_ids": encode_tokens(sentences, token_lookup)}
    if char_lookup is not None:
        features["char_ids"] = encode_characters(sentences, char_lookup, max_chars=max_chars)
    return features


def encode_tags(tag_sequences, tag_lookup):
    """Tag ids (1..K) of every token: `tf.RaggedTensor` int32 `(sentences, (tokens))`.

    Raises:
        InvalidArgumentError: a tag that the training tags (`tag_lookup`) do not have,
            named with the first sentence that holds it; it is never mapped silently.
    """
    rows = _validation.check_token_rows("tags", tag_sequences)
    known = set(tag_lookup.get_vocabulary()[1:])
    for index, row in enumerate(rows):
        unknown = sorted(set(row) - known)
        if unknown:
            raise InvalidArgumentError(
                f"Sentence {index} has tag(s) {unknown} that the training data does not have "
                f"(known tags: {sorted(known)}). Build the tag lookup from data that holds "
                "every tag, or fix the tags."
            )
    return encode_tokens(rows, tag_lookup)


def as_ids(name, texts, vectorizer):
    """`texts` as a ragged id tensor: vectorised when `vectorizer` is given, else checked."""
    if vectorizer is not None:
        return encode_texts(texts, vectorizer)
    if isinstance(texts, tf.RaggedTensor) and texts.shape.rank == 2 and texts.dtype.is_integer:
        return tf.cast(texts, tf.int32)
    raise InvalidArgumentError(
        f"`{name}` must be token ids from `encode_texts` (a 2-D int `tf.RaggedTensor`), or "
        "raw strings together with `vectorizer=`. Received: "
        f"{name} of type {type(texts).__name__} and vectorizer=None."
    )


def as_features(name, inputs):
    """`inputs` as a dict of ragged id tensors with at least "token_ids"."""
    if isinstance(inputs, tf.RaggedTensor):
        inputs = {"token_ids": inputs}
    if not isinstance(inputs, dict) or "token_ids" not in inputs or not set(inputs) <= {
        "token_ids", "char_ids", "bilm_ids",
    }:
        raise InvalidArgumentError(
            f"`{name}` must be encoded ids: a ragged tensor from `encode_texts`, or the dict "
            "from `encode_sentences` ('token_ids' and optionally 'char_ids'), or raw input "
            f"together with its lookup layer. Received: {type(inputs).__name__}."
        )
    features = {"token_ids": as_ids(name, inputs["token_ids"], None)}
    if "char_ids" in inputs:
        features["char_ids"] = tf.cast(inputs["char_ids"], tf.int32)
        check_aligned(features["char_ids"], features["token_ids"], what="char_ids")
    if "bilm_ids" in inputs:  # the same tokens in a language model's vocabulary (ELMo)
        features["bilm_ids"] = as_ids(name, inputs["bilm_ids"], None)
        check_aligned(features["bilm_ids"], features["token_ids"], what="bilm_ids")
    return features


def check_aligned(values, token_ids, *, what="tags"):
    """Checks that `values` has one entry per token of every row of `token_ids`."""
    if not isinstance(values, tf.RaggedTensor):
        raise InvalidArgumentError(
            f"`{what}` must be a list of lists, one entry per token, or ids from "
            f"`encode_tags`. Received: {type(values).__name__}."
        )
    expected = token_ids.row_lengths().numpy()
    received = values.row_lengths().numpy()
    if len(expected) != len(received) or (expected != received).any():
        if len(expected) != len(received):
            detail = f"{len(received)} rows for {len(expected)} sentences"
        else:
            row = int(np.argmax(expected != received))
            detail = f"sentence {row} has {expected[row]} tokens and {received[row]} {what}"
        raise InvalidArgumentError(f"`{what}` must have one entry per token: {detail}.")
    return tf.cast(values, tf.int32)
