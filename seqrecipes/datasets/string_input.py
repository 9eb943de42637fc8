"""Models that carry their vocabularies: raw strings in, predictions out.

Training runs on cached token ids (fast, see `pipeline`); the saved model wraps the trained
one with its vocabulary layers, so that `.keras` files (loaded with `safe_mode=True`) and
`model.export()` take raw strings and need nothing else from this package at predict time
beyond the registered layers:

- `with_text_input(model, vectorizer)`: a batch of texts `(batch,)` -> the model's output.
- `with_token_input(model, token_lookup, char_lookup=...)`: a batch of token rows
  `(batch, words)`, padded with "" -> the model's output, per token.
"""

import keras
import tensorflow as tf

from seqrecipes import _validation
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.datasets.vocab import PAD_TOKEN


@keras.saving.register_keras_serializable(package="seqrecipes")
class CharacterIds(keras.layers.StringLookup):
    """Token strings `(batch, words)` -> character ids `(batch, words, chars)`, 0-padded.

    A `StringLookup` over characters that first splits each token into Unicode characters
    (`tf.strings.unicode_split`), so a tagger's per-token character features are computed
    inside the model from the same token strings as its word ids. Padding tokens ("") give
    rows of zeros; unknown characters give 1.

    Args:
        max_chars: int or None. Keep at most this many characters of each token (a URL
            in a CoNLL file would otherwise widen its whole batch). Defaults to None.
        **kwargs: `StringLookup` arguments, usually `vocabulary=` (see `from_lookup`).
    """

    def __init__(self, max_chars=None, **kwargs):
        _validation.check_positive_int("max_chars", max_chars, allow_none=True)
        kwargs.setdefault("mask_token", PAD_TOKEN)
        super().__init__(**kwargs)
        self.max_chars = max_chars

    @classmethod
    def from_lookup(cls, char_lookup, *, max_chars=None, name="char_ids"):
        """Returns a `CharacterIds` with the vocabulary of `build_char_lookup`'s layer."""
        return cls(
            max_chars=max_chars,
            vocabulary=char_lookup.get_vocabulary(include_special_tokens=False),
            mask_token=char_lookup.mask_token,
            oov_token=char_lookup.oov_token,
            name=name,
        )

    def call(self, inputs):
        if not isinstance(inputs, (tf.Tensor, tf.RaggedTensor)):
            inputs = tf.convert_to_tensor(inputs, tf.string)
        chars = tf.strings.unicode_split(inputs, "UTF-8")
        if self.max_chars is not None:
            chars = chars[..., : self.max_chars]
        return super().call(chars).to_tensor(default_value=0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (None,)

    def get_config(self):
        return {**super().get_config(), "max_chars": self.max_chars}


@keras.saving.register_keras_serializable(package="seqrecipes")
class Lowercase(keras.layers.Layer):
    """Lower-cases strings inside a model (Unicode-aware: `tf.strings.lower`, UTF-8).

    For a word vocabulary built on lower-cased tokens, while the characters (and so the case)
    are read from the original tokens.
    """

    def call(self, inputs):
        return tf.strings.lower(inputs, encoding="utf-8")

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs.shape, dtype="string")


def lowercase_differences():
    """`{character: what Lowercase makes of it}` where that is not Python's `str.lower`.

    `tf.strings.lower(..., encoding="utf-8")` is ICU's full case mapping (final sigma
    included), as `str.lower` is, but of the Unicode version TensorFlow was built with:
    measured with TF 2.21 and Python 3.11, 41 single characters differ (40 letters added in
    Unicode 14 that TensorFlow leaves as they are, and U+0000, which it drops). A reader
    outside TensorFlow lower-cases with `str.lower` and these exceptions, so it makes the same
    word ids. One pass over every code point (about 0.6 s).
    """
    characters = [chr(code) for code in range(0x110000) if not 0xD800 <= code < 0xE000]
    lowered = tf.strings.lower(characters, encoding="utf-8").numpy()
    return {
        character: value.decode("utf-8")
        for character, value in zip(characters, lowered)
        if value.decode("utf-8") != character.lower()
    }


def _check_model(model):
    if not isinstance(model, keras.Model):
        raise InvalidArgumentError(
            f"`model` must be a Keras model. Received: model={model!r:.80} "
            f"({type(model).__name__})."
        )


def with_text_input(model, vectorizer, *, name=None):
    """Returns a model that takes raw strings: `vectorizer` then `model`.

    Args:
        model: a Keras model over token ids `(batch, steps)` (e.g.
            `build_sequence_classifier`), trained on ids from the same `vectorizer`.
        vectorizer: the `TextVectorization` from `build_text_vectorizer`.
        name: str or None. Defaults to `"<model name>_text"`.

    Returns:
        A functional `keras.Model` whose input is a string tensor `(batch,)` named "text".
        Save it with `.save("model.keras")`; `keras.saving.load_model(path)` (safe mode)
        restores the vocabulary and the standardisation with it.

    Example:

    >>> from seqrecipes.datasets.vocab import build_text_vectorizer
    >>> vectorizer = build_text_vectorizer(["a good film", "a bad film"], min_frequency=1)
    >>> core = keras.Sequential([keras.Input((None,), dtype="int32"),
    ...                          keras.layers.Embedding(6, 4, mask_zero=True),
    ...                          keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1)])
    >>> with_text_input(core, vectorizer).output_shape
    (None, 1)
    """
    _check_model(model)
    if not isinstance(vectorizer, keras.layers.TextVectorization):
        raise InvalidArgumentError(
            "`vectorizer` must be the `keras.layers.TextVectorization` from "
            f"`build_text_vectorizer`. Received: {type(vectorizer).__name__}."
        )
    _validation.check_string("name", name, allow_none=True)
    text = keras.Input(shape=(), dtype="string", name="text")
    outputs = model(vectorizer(text))
    return keras.Model(text, outputs, name=name or f"{model.name}_text")


def with_token_input(model, token_lookup, *, char_lookup=None, max_chars=None, name=None):
    """Returns a tagger that takes token strings `(batch, words)`, padded with "".

    Args:
        model: a Keras model over `token_ids` `(batch, words)`, or, with `char_lookup`,
            over a dict `{"token_ids": (batch, words), "char_ids": (batch, words, chars)}`
            (its `Input` layers named so), as `tagging_dataset` yields.
        token_lookup: the `StringLookup` from `build_token_lookup`.
        char_lookup: the `StringLookup` from `build_char_lookup`, or None (no characters).
        max_chars: int or None. As in `tagging_dataset` (keep the two equal).
        name: str or None. Defaults to `"<model name>_tokens"`.

    Returns:
        A functional `keras.Model` whose input is a string tensor `(batch, words)` named
        "tokens".
    """
    _check_model(model)
    _validation.check_string("name", name, allow_none=True)
    tokens = keras.Input(shape=(None,), dtype="string", name="tokens")
    token_ids = token_lookup(tokens)
    if char_lookup is None:
        inputs = token_ids
    else:
        char_ids = CharacterIds.from_lookup(char_lookup, max_chars=max_chars)(tokens)
        inputs = {"token_ids": token_ids, "char_ids": char_ids}
    return keras.Model(tokens, model(inputs), name=name or f"{model.name}_tokens")
