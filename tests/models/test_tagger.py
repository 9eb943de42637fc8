import numpy as np
import pytest
import tensorflow as tf

import keras

from seqrecipes import models
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.models.token_features import CharacterEncoder, WordDropout

VOCABULARY, CHARS, NUM_TAGS = 20, 9, 3
TINY = dict(embedding_dim=4, units=4, char_embedding_dim=3, char_filters=4, char_units=2)
TINY_CNN = dict(TINY, units=None, encoder="cnn", conv_filters=4, dilations=(1, 2))


def characters(token_ids):
    """Two or three characters per word, derived from its id; 0 for padding words."""
    chars = np.stack([token_ids % 7 + 1, token_ids // 7 + 1, (token_ids % 3) * 2], -1)
    return np.where(token_ids[..., None] > 0, chars, 0).astype("int32")


def batch(token_ids, char_padding=0):
    token_ids = np.asarray(token_ids, dtype="int32")
    chars = characters(token_ids)
    chars = np.pad(chars, [(0, 0), (0, 0), (0, char_padding)])
    return {"token_ids": token_ids, "char_ids": chars}


SENTENCES = [[3, 4, 5, 6, 0, 0], [7, 8, 9, 10, 11, 12]]


@pytest.mark.parametrize("char_features", ["cnn", "lstm", "none"])
@pytest.mark.parametrize("crf", [True, False])
def test_shapes_and_padding_invariance(char_features, crf):
    kwargs = dict(TINY, char_features=char_features, crf=crf)
    if char_features != "none":
        kwargs["char_vocabulary_size"] = CHARS
    model = models.build_ner_tagger(VOCABULARY, NUM_TAGS, **kwargs)
    assert isinstance(model, models.CRFModel) == crf
    inputs = batch(SENTENCES)
    if char_features == "none":
        inputs.pop("char_ids")
    output = keras.ops.convert_to_numpy(model(inputs))
    assert output.shape == ((2, 6) if crf else (2, 6, NUM_TAGS))
    # More padding words and, with characters, more padding characters change nothing.
    more = batch(np.pad(SENTENCES, [(0, 0), (0, 3)]), char_padding=4)
    if char_features == "none":
        more.pop("char_ids")
    padded = keras.ops.convert_to_numpy(model(more))
    np.testing.assert_allclose(padded[:, :6], output, atol=1e-5)
    if crf:
        assert (padded[0, 4:] == 0).all()


@pytest.mark.parametrize("mode", ["cnn", "lstm"])
def test_character_features_ignore_character_padding(mode):
    encoder = CharacterEncoder(CHARS, mode=mode, embedding_dim=3, filters=4, units=3)
    chars = characters(np.array([[3, 15, 0]]))
    plain = keras.ops.convert_to_numpy(encoder(chars))
    padded = keras.ops.convert_to_numpy(encoder(np.pad(chars, [(0, 0), (0, 0), (0, 5)])))
    np.testing.assert_allclose(padded, plain, atol=1e-6)
    assert plain.shape == (1, 3, encoder.output_width)
    assert encoder.output_width == (4 if mode == "cnn" else 6)  # filters, or 2 x units
    # A word's features are its own: they do not depend on the other words of the sentence.
    alone = keras.ops.convert_to_numpy(encoder(chars[:, :1]))
    np.testing.assert_allclose(alone[0, 0], plain[0, 0], atol=1e-6)
    mask = keras.ops.convert_to_numpy(encoder.compute_mask(chars))
    np.testing.assert_array_equal(mask, [[True, True, False]])


def test_word_dropout_replaces_real_words_by_oov_in_training_only():
    layer = WordDropout(0.5, seed=3)
    token_ids = np.tile(np.array([[5, 6, 7, 8, 0, 0]], "int32"), (200, 1))
    dropped = keras.ops.convert_to_numpy(layer(token_ids, training=True))
    real = token_ids > 0
    assert (dropped[~real] == 0).all()
    assert set(np.unique(dropped[real])) <= {1, 5, 6, 7, 8}
    assert 0.4 < (dropped[real] == 1).mean() < 0.6
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(token_ids)), token_ids)


def toy_tagging_data(count, seed):
    """Words 2-5 are entities: B (1) when the previous word is not one, I (2) when it is."""
    rng = np.random.default_rng(seed)
    token_ids = rng.integers(2, VOCABULARY, size=(count, 8))
    token_ids[rng.random(count) < 0.5, 5:] = 0
    entity = (token_ids >= 2) & (token_ids <= 5)
    after_entity = np.pad(entity, [(0, 0), (1, 0)])[:, :-1]
    tags = np.where(entity, np.where(after_entity, 2, 1), 0)
    return batch(token_ids), tags


@pytest.mark.parametrize("encoder", [dict(units=8), dict(encoder="cnn", conv_filters=8,
                                                           dilations=(1, 2), dropout=0.0)])
def test_tiny_crf_tagger_learns_a_context_rule(encoder):
    model = models.build_ner_tagger(
        VOCABULARY, NUM_TAGS, char_vocabulary_size=CHARS, embedding_dim=8, char_filters=4,
        embedding_dropout=0.0, head_dropout=0.0, word_dropout=0.05, **encoder,
    )
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    x, y = toy_tagging_data(256, seed=0)
    model.fit(x, y, epochs=8, batch_size=32, verbose=0)
    x_test, y_test = toy_tagging_data(64, seed=1)
    predicted = model.predict(x_test, verbose=0)
    real = x_test["token_ids"] > 0
    accuracy = (predicted == y_test)[real].mean()
    assert accuracy > 0.9  # chance (always O) is about 0.8 and I needs the previous word
    inside = real & (y_test == 2)
    assert (predicted == 2)[inside].mean() > 0.8


@pytest.mark.parametrize("char_features, sizes", [("cnn", TINY), ("lstm", TINY),
                                                  ("cnn", TINY_CNN)])
def test_save_and_load_with_safe_mode_decodes_identically(tmp_path, char_features, sizes):
    model = models.build_ner_tagger(
        VOCABULARY, NUM_TAGS, char_vocabulary_size=CHARS, char_features=char_features,
        word_dropout=0.1, **sizes,
    )
    x, y = toy_tagging_data(32, seed=2)
    model.crf.transitions.assign(np.random.default_rng(0).normal(size=(NUM_TAGS, NUM_TAGS)))
    path = tmp_path / "tagger.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded, models.CRFModel)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    np.testing.assert_allclose(
        loaded.predict_marginals(x, verbose=0), model.predict_marginals(x, verbose=0), atol=1e-6
    )
    for tagger in (model, loaded):
        tagger.compile(optimizer="adam")
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="Keras 3.15 exports a JAX model through jax2tf, whose symbolic shapes refuse the "
    "Concatenate of the word and character masks ('Cannot concatenate ... (batch, c, 4), "
    "(batch, a, 4)'); a model saved on JAX loads on TensorFlow and predicts the same "
    "(test_cross_backend.py), and exports there",
)
def test_export_serves_decoded_tags(tmp_path):
    model = models.build_ner_tagger(VOCABULARY, NUM_TAGS, char_vocabulary_size=CHARS, **TINY)
    x = batch(SENTENCES, char_padding=2)
    model.export(str(tmp_path / "serving"), verbose=False)
    serving = tf.saved_model.load(str(tmp_path / "serving"))
    served = serving.serve({name: tf.constant(value) for name, value in x.items()})
    assert served.dtype == tf.int32
    np.testing.assert_array_equal(served.numpy(), model.predict(x, verbose=0))


BAD_ARGUMENTS = [
    (dict(num_tags=1), "`num_tags` must be at least 2"),
    (dict(num_tags=2.0), "`num_tags` must be a positive integer"),
    (dict(vocabulary_size=0), "`vocabulary_size` must be a positive integer"),
    (dict(embedding_dim=True), "`embedding_dim` must be a positive integer"),
    (dict(char_features="rnn"), "`char_features` must be one of 'cnn', 'lstm', 'none'"),
    (dict(char_features="cnn"), "`char_features='cnn'` needs `char_vocabulary_size`"),
    (dict(char_vocabulary_size=9, char_features="none"), "`char_features='none'` uses no"),
    (dict(char_vocabulary_size=0), "`char_vocabulary_size` must be a positive integer"),
    (dict(char_filters=0), "`char_filters` must be a positive integer"),
    (dict(char_kernel_size=-3), "`char_kernel_size` must be a positive integer"),
    (dict(word_dropout=1.0), r"`word_dropout` must be a number in \[0, 1\)"),
    (dict(embedding_dropout=-0.1), r"`embedding_dropout` must be a number in \[0, 1\)"),
    (dict(head_dropout="0.5"), r"`head_dropout` must be a number in \[0, 1\)"),
    (dict(crf=1), "`crf` must be True or False"),
    (dict(cell="transformer"), "`cell` must be one of 'simple_rnn', 'lstm', 'gru'"),
    (dict(units=(8, 0)), "`units` must be a positive integer or a non-empty list"),
    (dict(bidirectional="yes"), "`bidirectional` must be True or False"),
    (dict(merge_mode="max"), "`merge_mode` must be one of"),
    (dict(recurrent_dropout=2), r"`recurrent_dropout` must be a number in \[0, 1\)"),
    (dict(name=""), "`name` must be a non-empty string"),
    (dict(encoder="transformer"), "`encoder` must be one of 'rnn', 'cnn'"),
    (dict(encoder="cnn", units=8), r"encoder='cnn' does not use `units` \(used by rnn\)"),
    (dict(encoder="cnn", cell="gru", bidirectional=False), "does not use `cell`"),
    (dict(conv_filters=8), r"encoder='rnn' does not use `conv_filters` \(used by cnn\)"),
    (dict(dilations=(1, 2)), "encoder='rnn' does not use `dilations`"),
    (dict(encoder="cnn", conv_filters=0), "`conv_filters` must be a positive integer"),
    (dict(encoder="cnn", conv_kernel_size=2.5), "`conv_kernel_size` must be a positive"),
    (dict(encoder="cnn", dilations=(1, 0)), "`dilations` must be a positive integer or a"),
    (dict(encoder="cnn", dropout=1.0), r"`dropout` must be a number in \[0, 1\)"),
]


@pytest.mark.parametrize("kwargs, message", BAD_ARGUMENTS)
def test_bad_arguments_are_refused_before_building(kwargs, message):
    arguments = dict(vocabulary_size=VOCABULARY, num_tags=NUM_TAGS)
    arguments.update(kwargs)
    with pytest.raises(InvalidArgumentError, match=message):
        models.build_ner_tagger(arguments.pop("vocabulary_size"), arguments.pop("num_tags"),
                                **arguments)


def test_cnn_encoder_output_does_not_depend_on_padding_or_batch_neighbours():
    """Dilations 1 and 2 with windows of 3 see 1 + 2 = 3 words on either side here: padding
    steps must not be among them, so every weight is made non-zero (a zero bias would hide a
    leak)."""
    model = models.build_ner_tagger(VOCABULARY, NUM_TAGS, char_vocabulary_size=CHARS,
                                    **TINY_CNN)
    rng = np.random.default_rng(0)
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype(weight.dtype))
    scores = next(layer for layer in model.layers if layer.name == "emissions")
    emissions = keras.Model(model.input, scores.output)
    sentences = [[3, 4, 5, 0, 0, 0], [7, 8, 9, 10, 11, 12]]
    both = keras.ops.convert_to_numpy(emissions(batch(sentences)))
    more = keras.ops.convert_to_numpy(
        emissions(batch(np.pad(sentences, [(0, 0), (0, 7)]), char_padding=3)))
    alone = keras.ops.convert_to_numpy(emissions(batch([[3, 4, 5]])))
    np.testing.assert_allclose(more[:, :6], both, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(both[0, :3], alone[0], rtol=1e-4, atol=1e-4)
    # ...while a real word three steps away does change a word's scores.
    changed = keras.ops.convert_to_numpy(emissions(batch([[3, 4, 5, 6]])))
    assert not np.allclose(changed[0, 0], alone[0, 0], atol=1e-3)
