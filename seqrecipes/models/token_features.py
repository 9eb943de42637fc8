"""Per-token input features for taggers: character encodings of each word, and word dropout.

`CharacterEncoder` turns character ids `[batch, words, chars]` into one vector per word, either
with a character CNN and a max-pool over the word's characters (Ma & Hovy 2016) or with the
final states of a character BiLSTM (Lample et al. 2016). It folds the words into the batch
(`[batch * words, chars]`) rather than using `TimeDistributed`, which in Keras 3 maps the
encoder over the words with `vectorized_map` when their number is unknown. Character id 0 is
padding and is masked, so a word's features do not depend on how many padding characters its
batch has.

`WordDropout` replaces real token ids by the OOV id at random during training, so the OOV
embedding is trained on real contexts and the tagger learns to lean on characters and context
for unknown words (Lample et al. 2016 drop singletons; this drops any word).
"""

import keras
from keras import ops

from seqrecipes import _validation
from seqrecipes.models import wiring
from seqrecipes.models.embedding import Embedding
from seqrecipes.models.layers import MaskedConv1D, MaskedGlobalMaxPooling1D
from seqrecipes.models.options import CHAR_FEATURES
from seqrecipes.models.recurrent import recurrent_layer


@keras.saving.register_keras_serializable(package="seqrecipes")
class CharacterEncoder(keras.layers.Layer):
    """Encodes the characters of every word into one vector per word.

    Args:
        char_vocabulary_size: int. Number of character ids (padding 0 included).
        mode: str. "cnn" (convolution + max-pool over the word) or "lstm" (the final states
            of a bidirectional LSTM, forward and backward concatenated). Defaults to "cnn".
        embedding_dim: int. Width of each character's embedding. Defaults to 30.
        filters: int. Convolution filters ("cnn"): the output width. Defaults to 30.
        kernel_size: int. Characters per convolution window ("cnn"). Defaults to 3.
        units: int. LSTM units per direction ("lstm"); the output width is `2 * units`.
            Defaults to 25.

    Call arguments:
        char_ids: int tensor `[batch, words, chars]`, 0 for padding.

    Returns:
        A float tensor `[batch, words, width]`, masked where a word has no characters (a
        padding word, whose features are those of a lone padding character).
    """

    def __init__(
        self,
        char_vocabulary_size,
        mode="cnn",
        embedding_dim=30,
        filters=30,
        kernel_size=3,
        units=25,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.char_vocabulary_size = _validation.check_positive_int(
            "char_vocabulary_size", char_vocabulary_size
        )
        self.mode = _validation.check_choice("mode", mode, CHAR_FEATURES)
        self.embedding_dim = _validation.check_positive_int("embedding_dim", embedding_dim)
        self.filters = _validation.check_positive_int("filters", filters)
        self.kernel_size = _validation.check_positive_int("kernel_size", kernel_size)
        self.units = _validation.check_positive_int("units", units)
        self.embedding = Embedding(
            char_vocabulary_size, embedding_dim, name="char_embedding"
        )
        if mode == "cnn":
            self.encoder = MaskedConv1D(
                filters, kernel_size, activation="tanh", name="char_conv"
            )
            self.pooling = MaskedGlobalMaxPooling1D(name="char_max_pool")
        else:
            self.encoder = recurrent_layer(
                "lstm",
                units,
                return_sequences=wiring.return_sequences(1, "many_to_one")[0],
                bidirectional=True,
                name="char_lstm",
            )
            self.pooling = None

    @property
    def output_width(self):
        return self.filters if self.mode == "cnn" else wiring.output_width(self.units, True)

    def build(self, input_shape):
        chars = input_shape[-1]
        self.embedding.build((None, chars))
        self.encoder.build((None, chars, self.embedding_dim))
        if self.pooling is not None:
            self.pooling.build((None, chars, self.filters))

    def call(self, char_ids):
        shape = ops.shape(char_ids)
        chars = ops.reshape(ops.cast(char_ids, "int32"), (-1, shape[-1]))
        mask = ops.not_equal(chars, 0)
        # A padding word has no characters: give it one (padding) step, so that no row is
        # fully masked (cuDNN LSTMs fall back to the slow kernel on fully masked rows).
        empty = ops.logical_not(ops.any(mask, axis=-1, keepdims=True))
        first = ops.expand_dims(ops.equal(ops.arange(shape[-1]), 0), 0)
        mask = ops.logical_or(mask, ops.logical_and(empty, first))
        embedded = self.embedding(chars)
        if self.mode == "cnn":
            encoded = self.pooling(self.encoder(embedded, mask=mask), mask=mask)
        else:
            encoded = self.encoder(embedded, mask=mask)
        return ops.reshape(encoded, (shape[0], shape[1], self.output_width))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], self.output_width)

    def compute_mask(self, inputs, mask=None):
        # A word is real when it has a character. This matters: Keras's `Concatenate` treats
        # an input without a mask as all real and ORs the masks, so an unmasked encoder
        # would unmask every padding word of the concatenated features.
        return ops.any(ops.not_equal(inputs, 0), axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update(
            char_vocabulary_size=self.char_vocabulary_size,
            mode=self.mode,
            embedding_dim=self.embedding_dim,
            filters=self.filters,
            kernel_size=self.kernel_size,
            units=self.units,
        )
        return config


@keras.saving.register_keras_serializable(package="seqrecipes")
class WordDropout(keras.layers.Layer):
    """Replaces each real token id (not 0) by `oov_id` with probability `rate` in training.

    Args:
        rate: float in [0, 1). Probability of dropping a word.
        oov_id: int. The id that replaces dropped words. Defaults to 1 (the OOV id of
            seqrecipes vocabularies).
        seed: int or None. Random seed.
    """

    def __init__(self, rate, oov_id=1, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _validation.check_fraction("rate", rate)
        self.oov_id = _validation.check_positive_int("oov_id", oov_id)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, token_ids, training=None):
        if not training or self.rate == 0:
            return token_ids
        noise = keras.random.uniform(ops.shape(token_ids), seed=self.seed_generator)
        drop = ops.logical_and(noise < self.rate, ops.not_equal(token_ids, 0))
        return ops.where(drop, ops.cast(self.oov_id, token_ids.dtype), token_ids)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, oov_id=self.oov_id, seed=self.seed)
        return config


def _character_encoder_formula(layer, d):
    # A character embedding (V*e), then a convolution ((k*e+1)*f) or a BiLSTM (2*LSTM(e->u)).
    v, e = layer.char_vocabulary_size, layer.embedding_dim
    if layer.mode == "cnn":
        return f"{v}*{e}+({layer.kernel_size}*{e}+1)*{layer.filters}"
    u = layer.units
    return f"{v}*{e}+2*4*({u}*({e}+{u})+{u})"


def _register():
    from seqrecipes.models.params import register_formula

    register_formula(CharacterEncoder, _character_encoder_formula)
    register_formula(WordDropout, lambda layer, d: "0")


_register()
