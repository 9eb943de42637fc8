"""portable.text.TextVectorizer: the ids of the Keras `TextVectorization`, on tricky text."""

import numpy as np
import pytest

from seqrecipes.datasets import build_text_vectorizer, pretokenize_korean
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.portable.text import TextVectorizer
from seqrecipes.recipes.engine.portable_export import text_vectorizer_settings

# Adapted on; every text below is then vectorised, so some tokens are known and some OOV.
CORPUS = [
    "Hello, World! A good film.", "end.<br /><br />The next one", "ÉCOLE café Straße İstanbul",
    "재밌다ㅋㅋ!! 영화123 최고★", "don't stop-believing... #1 (maybe)", "good good film",
    "ㅠㅠ 별로... 2점", "mixed한국어English123!?",
]
TRICKY = CORPUS + [
    "", "   ", "\t\n", "x", "HELLO world", "a<3b <i>it</i> x < y > z <br/>",
    "tab\tsep\nnew\r\nline\x0bvt\x0cff", "no\u00a0break\u3000ideographic\u2028ls\x1cfs",
    "[UNK] [unk] unk", "emoji 😀👍🏽 e\u0301 ﬁ", "数字１２３ ①② ½", "Ὀδυσσεύς ΣΑΣ", "ǅemal Ǆ",
    "<" + "a" * 45 + ">tail", "<b " + "é" * 38 + ">after", "--- ... !!! ??",
    "영화가 너무 재미없어요ㅡㅡ;; 10점중 1점", "ㄱㄴㄷ ㅏㅑ 가나다 123 abc",
]
SETTINGS = [
    ("lower_strip_html_and_punctuation", "whitespace", 3),  # English NBSVM
    ("lower_strip_html_and_punctuation", "whitespace", None),  # English sequence models
    ("lower_and_strip_punctuation", "whitespace", 2),
    ("lower", "character", None),  # Korean syllables
    ("lower_and_split_scripts", "whitespace", None),  # Korean scripts
    ("lower", "whitespace", None),  # Korean morphemes (after kiwipiepy)
    (None, "whitespace", 2),
    ("strip_punctuation", "character", 2),
]


def _both(standardize, split, ngrams, corpus=CORPUS):
    keras_layer = build_text_vectorizer(corpus, standardize=standardize, split=split,
                                        ngrams=ngrams, min_frequency=1)
    settings = text_vectorizer_settings(keras_layer)
    assert settings == {"standardize": standardize, "split": split,
                        "ngrams": ngrams if ngrams != 1 else None}
    return keras_layer, TextVectorizer(keras_layer.get_vocabulary(), **settings)


@pytest.mark.parametrize("standardize,split,ngrams", SETTINGS)
def test_ids_equal_the_keras_vectorizer_on_tricky_text(standardize, split, ngrams):
    keras_layer, ours = _both(standardize, split, ngrams)
    expected = keras_layer(TRICKY).numpy()
    got = ours(TRICKY, min_length=expected.shape[1])
    for text, want, have in zip(TRICKY, expected, got):
        assert want.tolist() == have.tolist(), repr(text)
    assert (got == 1).any() and (got > 1).any()  # both known and unknown tokens were met


def test_each_text_alone_gives_its_own_ids():
    keras_layer, ours = _both("lower_strip_html_and_punctuation", "whitespace", 3)
    for text in TRICKY:
        want = keras_layer([text]).numpy()[0].tolist()
        assert ours.id_lists([text])[0] == want, repr(text)


def test_an_empty_text_is_padding_only():
    _, ours = _both("lower", "character", None)
    assert ours(["", ""], min_length=1).tolist() == [[0], [0]]
    assert ours([]).shape == (0, 0)


@pytest.mark.parametrize("tokenizer, ngrams", [("morphemes", None),
                                               ("syllables_and_morphemes", 4)])
def test_korean_morphemes_are_tokenised_first(tokenizer, ngrams):
    pytest.importorskip("kiwipiepy")
    texts = ["영화가 너무 재미없어요ㅡㅡ;;", "최고의 영화! 10점", "", "  띄어 쓰기  "]
    tokenized = pretokenize_korean(texts, tokenizer)
    keras_layer = build_text_vectorizer(tokenized, standardize="lower", min_frequency=1,
                                        ngrams=ngrams)
    ours = TextVectorizer(keras_layer.get_vocabulary(), standardize="lower", ngrams=ngrams,
                          pretokenize=tokenizer)
    expected = keras_layer(tokenized).numpy()
    assert ours(texts, min_length=expected.shape[1]).tolist() == expected.tolist()


@pytest.mark.parametrize("vocabulary", [["a", "b"], ["[UNK]", ""], []])
def test_a_vocabulary_without_padding_and_oov_first_is_refused(vocabulary):
    with pytest.raises(InvalidArgumentError, match="`vocabulary` must start"):
        TextVectorizer(vocabulary, standardize=None)


def test_an_unknown_standardisation_is_refused():
    with pytest.raises(InvalidArgumentError, match="`standardize`"):
        TextVectorizer(["", "[UNK]"], standardize="upper")


def test_texts_must_be_strings():
    ours = TextVectorizer(["", "[UNK]"], standardize=None)
    with pytest.raises(InvalidArgumentError, match="`texts`"):
        ours("one text")
    with pytest.raises(InvalidArgumentError, match="`texts`"):
        ours([np.nan])
