import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from seqrecipes import datasets
from seqrecipes.portable import korean  # where `_kiwi` (the cached analyser) lives
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.models import build_sequence_classifier, build_sequence_tagger

TRAIN = ["a good film", "a bad film", "good good fun", "bad acting", "the film was good"]
TEST = ["a splendid film", "bad"]


def vocabulary(layer):
    return [str(token) for token in layer.get_vocabulary()]


def test_padding_is_0_and_unknown_is_1():
    vectorizer = datasets.build_text_vectorizer(TRAIN, min_frequency=1)
    assert vocabulary(vectorizer)[:2] == [datasets.PAD_TOKEN, datasets.OOV_TOKEN] == ["", "[UNK]"]
    ids = vectorizer(["a splendid film", "bad"]).numpy()
    words = vocabulary(vectorizer)
    assert ids.tolist() == [[words.index("a"), 1, words.index("film")], [words.index("bad"), 0, 0]]


def test_adapted_on_train_only_so_a_test_word_is_oov():
    vectorizer = datasets.build_text_vectorizer(TRAIN, min_frequency=1)
    assert "splendid" not in vocabulary(vectorizer)
    assert datasets.encode_texts(TEST, vectorizer).to_list()[0][1] == datasets.OOV_ID


def test_min_frequency_drops_rare_tokens_and_max_tokens_keeps_the_most_frequent():
    # counts: good 4, film 3, a 2, bad 2, then singletons
    kept = vocabulary(datasets.build_text_vectorizer(TRAIN, min_frequency=2, max_tokens=None))
    assert kept[2:] == ["good", "film", "bad", "a"]  # Keras's order: count, then token desc.
    top = vocabulary(datasets.build_text_vectorizer(TRAIN, min_frequency=1, max_tokens=4))
    assert top == ["", "[UNK]", "good", "film"]
    both = vocabulary(datasets.build_text_vectorizer(TRAIN, min_frequency=3, max_tokens=10))
    assert both[2:] == ["good", "film"]


def test_token_and_char_lookups_count_the_same_way():
    sentences = [["EU", "rejects", "EU"], ["Peter", "EU"], ["Peter"]]
    tokens = datasets.build_token_lookup(sentences, min_frequency=2)
    assert vocabulary(tokens) == ["", "[UNK]", "EU", "Peter"]
    assert tokens([["rejects", "EU", ""]]).numpy().tolist() == [[1, 2, 0]]
    chars = datasets.build_char_lookup(["aab", "ac"], max_tokens=3)
    assert vocabulary(chars) == ["", "[UNK]", "a"]
    chars = datasets.build_char_lookup(sentences, min_frequency=3)  # token lists are joined
    assert vocabulary(chars) == ["", "[UNK]", "e", "E", "U", "r", "t"]  # e: 6, others: 3


def test_a_vocabulary_from_a_stream_reads_only_max_samples():
    stream = iter(["good film"] * 3 + ["surprise"] * 50)
    vectorizer = datasets.build_text_vectorizer(stream, min_frequency=1, max_samples=3)
    assert vocabulary(vectorizer) == ["", "[UNK]", "good", "film"]


def test_script_splitting_separates_hangul_jamo_and_punctuation():
    texts = ["영화ㅋㅋ!! 최고", "영화 10점"]
    vectorizer = datasets.build_text_vectorizer(
        texts, min_frequency=1, standardize="lower_and_split_scripts"
    )
    expected = ["영화", "ㅋㅋ", "!!", "최고", "10", "점"]
    assert sorted(vocabulary(vectorizer)[2:]) == sorted(expected)


def test_tag_lookup_reserves_0_for_padding_and_has_no_oov():
    tags = datasets.build_tag_lookup([["O", "B-PER", "I-PER"], ["B-LOC", "O"]])
    assert vocabulary(tags) == ["", "B-LOC", "B-PER", "I-PER", "O"]
    ids = datasets.encode_tags([["B-PER", "I-PER", "O"]], tags)
    assert ids.to_list() == [[2, 3, 4]]
    with pytest.raises(InvalidArgumentError, match=r"Sentence 1 has tag\(s\) \['B-MISC'\]"):
        datasets.encode_tags([["O"], ["B-MISC"]], tags)


def test_decode_tags_drops_padding_and_never_predicts_class_0():
    tags = datasets.build_tag_lookup([["O", "B-PER"]])  # ['', 'B-PER', 'O']
    scores = np.array([[[0.9, 0.05, 0.05], [0.1, 0.2, 0.7], [1.0, 0.0, 0.0]]])
    assert datasets.decode_tags(scores, [2], tags) == [["B-PER", "O"]]
    assert datasets.decode_tags([[2, 1, 0]], [2], tags) == [["O", "B-PER"]]
    with pytest.raises(InvalidArgumentError, match="0 is padding"):
        datasets.decode_tags([[2, 0, 0]], [2], tags)


@pytest.mark.parametrize(
    "standardize, split",
    [("lower_and_strip_punctuation", "whitespace"), ("lower_and_split_scripts", "whitespace"),
     ("lower", "character")],
)
def test_keras_file_with_the_vectorizer_inside_predicts_the_same_on_raw_strings(
    tmp_path, standardize, split
):
    texts = TRAIN + ["재밌다 ㅋㅋ!!", "별로\n였다\u2028"]
    vectorizer = datasets.build_text_vectorizer(
        texts, min_frequency=1, standardize=standardize, split=split
    )
    core = build_sequence_classifier(vectorizer.vocabulary_size(), 2, embedding_dim=4, units=4)
    core.compile("adam", "binary_crossentropy")
    batches = datasets.classification_dataset(
        texts, [1, 0, 1, 0, 1, 1, 0], vectorizer=vectorizer, batch_size=2
    )
    core.fit(batches, epochs=1, verbose=0, shuffle=False)
    model = datasets.with_text_input(core, vectorizer)
    strings = TEST + ["재밌다 ㅋㅋ", "", "별로\n였다"]
    raw = tf.constant(strings)
    before = model.predict(raw, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(raw, verbose=0), before, rtol=1e-6)
    assert vocabulary(loaded.get_layer(vectorizer.name)) == vocabulary(vectorizer)
    ordered = datasets.predict_in_order(core, strings, vectorizer=vectorizer)
    np.testing.assert_allclose(ordered, before, rtol=1e-5, atol=1e-6)


def test_exported_saved_model_takes_raw_strings(tmp_path):
    vectorizer = datasets.build_text_vectorizer(
        TRAIN + ["영화ㅋㅋ!! 최고"], min_frequency=1, standardize="lower_and_split_scripts"
    )
    core = build_sequence_classifier(vectorizer.vocabulary_size(), 2, embedding_dim=4, units=4)
    model = datasets.with_text_input(core, vectorizer)
    raw = tf.constant(["영화ㅋㅋ!!", "a good film", ""])
    model.export(tmp_path / "exported", verbose=False)
    served = tf.saved_model.load(str(tmp_path / "exported"))  # keep it: it owns the tables
    np.testing.assert_allclose(served.serve(raw).numpy(), model.predict(raw, verbose=0), rtol=1e-6)


def test_tagger_with_token_and_character_inputs_round_trips(tmp_path):
    sentences = [["EU", "rejects", "German", "call"], ["Peter", "Blackburn"]]
    tokens = datasets.build_token_lookup(sentences)
    chars = datasets.build_char_lookup(sentences)
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    char_ids = keras.Input((None, None), dtype="int32", name="char_ids")
    words = keras.layers.Embedding(tokens.vocabulary_size(), 4, mask_zero=True)(token_ids)
    letters = keras.layers.Embedding(chars.vocabulary_size(), 3)(char_ids)
    letters = keras.layers.TimeDistributed(keras.layers.GlobalMaxPooling1D())(letters)
    outputs = keras.layers.Dense(3, activation="softmax")(
        keras.layers.Concatenate()([words, letters])
    )
    core = keras.Model({"token_ids": token_ids, "char_ids": char_ids}, outputs)
    model = datasets.with_token_input(core, tokens, char_lookup=chars, max_chars=5)
    raw = tf.constant([["EU", "calls", "Blackburn"], ["Peter", "", ""]])
    before = model.predict(raw, verbose=0)
    model.save(tmp_path / "tagger.keras")
    loaded = keras.saving.load_model(tmp_path / "tagger.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(raw, verbose=0), before, rtol=1e-6)
    layer = datasets.CharacterIds.from_lookup(chars, max_chars=2)
    ids = layer(raw).numpy()
    assert ids.shape == (2, 3, 2) and ids[1, 1:].sum() == 0  # padding tokens give zeros
    assert ids[0, 1].tolist() == chars(["c", "a"]).numpy().tolist()


def test_tagger_model_on_token_ids_alone():
    sentences = [["a", "b"], ["c"]]
    tokens = datasets.build_token_lookup(sentences)
    core = build_sequence_tagger(tokens.vocabulary_size(), 3, embedding_dim=4, units=4)
    model = datasets.with_token_input(core, tokens)
    assert model.predict(tf.constant([["a", "b", "zz"]]), verbose=0).shape == (1, 3, 3)


def test_kiwipiepy_morphemes_with_and_without_tags():
    pytest.importorskip("kiwipiepy")
    tagged = datasets.tokenize_korean(["아 더빙.. 진짜 짜증나네요", ""], num_workers=1)
    assert tagged[0].split()[:2] == ["아/IC", "더빙/NNG"] and tagged[1] == ""
    forms = datasets.pretokenize_korean(["아 더빙.. 진짜 짜증나네요"], "morphemes")
    assert forms[0].split()[:3] == ["아", "더빙", ".."]
    vectorizer = datasets.build_text_vectorizer(
        tagged, min_frequency=1, **datasets.KOREAN_VECTORIZER_OPTIONS["morpheme_tags"]
    )
    assert "더빙/nng" in vocabulary(vectorizer)


def test_missing_kiwipiepy_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "kiwipiepy", None)  # `import kiwipiepy` now fails
    korean._kiwi.cache_clear()
    with pytest.raises(ImportError, match=r'pip install "seqrecipes\[korean\]"'):
        datasets.tokenize_korean(["영화"])
    korean._kiwi.cache_clear()
    assert datasets.pretokenize_korean(["영화"], "syllables") == ["영화"]  # fallback: no kiwi


def test_ngrams_are_counted_and_kept_like_words():
    pairs = TRAIN + ["a good film"]  # "a good" and "good film" now occur twice
    vectorizer = datasets.build_text_vectorizer(pairs, min_frequency=2, ngrams=2)
    assert vocabulary(vectorizer)[2:] == ["good", "film", "a", "good film", "bad", "a good"]
    vectorizer = datasets.build_text_vectorizer(TRAIN, min_frequency=1, ngrams=2)
    words = vocabulary(vectorizer)
    ids = vectorizer(["a good film"]).numpy()[0].tolist()
    assert [words[i] for i in ids] == ["a", "good", "film", "a good", "good film"]


def test_html_line_breaks_become_spaces_before_punctuation_is_stripped():
    vectorizer = datasets.build_text_vectorizer(
        ["The end.<br /><br />The film, I <3 it; a < b"], min_frequency=1,
        standardize="lower_strip_html_and_punctuation",
    )
    assert sorted(vocabulary(vectorizer)[2:]) == ["3", "a", "b", "end", "film", "i", "it", "the"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(ngrams=0), "`ngrams`"),
        (dict(max_tokens=2), "`max_tokens`"),
        (dict(max_tokens=0), "`max_tokens`"),
        (dict(min_frequency=0), "`min_frequency`"),
        (dict(min_frequency=True), "`min_frequency`"),
        (dict(standardize="banana"), "`standardize`"),
        (dict(split="words"), "`split`"),
        (dict(min_frequency=99), "min_frequency=99"),
    ],
)
def test_bad_vectorizer_arguments(kwargs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        datasets.build_text_vectorizer(TRAIN, **kwargs)


@pytest.mark.parametrize(
    "build, data, message",
    [
        (datasets.build_text_vectorizer, ["ok", float("nan")], "keep_default_na=False"),
        (datasets.build_text_vectorizer, "one string", "list"),
        (datasets.build_token_lookup, ["EU", "rejects"], "item 0"),
        (datasets.build_token_lookup, [["EU", ""]], "non-empty string"),
        (datasets.build_tag_lookup, [], "no tag"),
        (datasets.build_char_lookup, [], "No character"),
    ],
)
def test_bad_training_data(build, data, message):
    with pytest.raises(InvalidArgumentError, match=message):
        build(data)


def test_unknown_korean_tokenizer():
    with pytest.raises(InvalidArgumentError, match="`tokenizer`"):
        datasets.pretokenize_korean(["영화"], "jamo")
