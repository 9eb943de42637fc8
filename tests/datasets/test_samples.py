import datetime
import re

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from seqrecipes.datasets import (
    load_conll,
    load_series,
    load_table,
    load_text,
    sample_names,
    sample_path,
    split_text,
)
from seqrecipes.errors import InvalidArgumentError

SAMPLES = [
    "char_lm.txt",
    "ner_en.conll",
    "ner_en.dev.conll",
    "ner_en.test.conll",
    "sentiment_en.csv",
    "sentiment_ko.tsv",
    "timeseries.csv",
]
NER_SPLITS = ["ner_en.conll", "ner_en.dev.conll", "ner_en.test.conll"]


def test_sample_names_and_paths():
    assert sample_names() == SAMPLES
    for name in SAMPLES:
        assert sample_path(name).is_file()
    assert sample_path("sentiment_ko") == sample_path("sentiment_ko.tsv")
    assert sample_path("ner_en") == sample_path("ner_en.conll")
    assert sample_path("ner_en.dev").name == "ner_en.dev.conll"


@pytest.mark.parametrize("name", ["nope", "README.md", "", None, "ner"])
def test_unknown_sample_lists_the_names(name):
    with pytest.raises(InvalidArgumentError) as info:
        sample_path(name)
    assert all(repr(sample) in str(info.value) for sample in SAMPLES)


def test_readme_documents_every_sample():
    readme = (sample_path("char_lm").parent / "README.md").read_text(encoding="utf-8")
    for name in SAMPLES:
        assert f"`{name}`" in readme
    assert "License" in readme


def _cross_validated_accuracy(texts, labels, **vectorizer):
    features = TfidfVectorizer(**vectorizer).fit_transform(texts)
    return cross_val_score(LogisticRegression(max_iter=1000), features, labels, cv=5).mean()


def test_sentiment_en():
    data = load_table(sample_path("sentiment_en"))
    assert data.format == "csv" and len(data) >= 300 and data.num_empty == 0
    assert data.label_counts == {0: len(data) // 2, 1: len(data) // 2}
    assert len(set(data.texts)) == len(data)
    lengths = [len(text.split()) for text in data.texts]
    assert min(lengths) <= 5 and max(lengths) >= 60 and sum(n >= 40 for n in lengths) >= 10
    assert len({w.lower() for t in data.texts for w in split_text(t, level="word")}) > 1000
    # learnable: a bag of words already separates the classes well above chance
    assert _cross_validated_accuracy(data.texts, data.labels) > 0.75


def test_sentiment_ko_nsmc_layout():
    path = sample_path("sentiment_ko")
    assert path.read_text(encoding="utf-8").split("\n", 1)[0] == "id\tdocument\tlabel"
    data = load_table(path)
    assert data.format == "tsv" and len(data) >= 300 and data.num_empty == 0
    assert data.label_counts == {0: len(data) // 2, 1: len(data) // 2}
    assert all(re.search("[가-힣]", text) for text in data.texts)
    assert not any('"' in text or "\t" in text for text in data.texts)
    accuracy = _cross_validated_accuracy(
        data.texts, data.labels, analyzer="char_wb", ngram_range=(1, 3)
    )
    assert accuracy > 0.7


@pytest.mark.parametrize("name", NER_SPLITS)
def test_ner_splits_are_valid_iob2_with_all_four_types(name):
    data = load_conll(sample_path(name))  # strict IOB2: raises on any broken tag
    assert data.scheme == "iob2" and data.num_repaired == 0 and data.num_documents > 10
    assert set(data.entity_counts()) == {"LOC", "MISC", "ORG", "PER"}
    assert min(data.entity_counts().values()) >= 10
    lines = sample_path(name).read_text(encoding="utf-8").splitlines()
    assert all(len(line.split(" ")) == 4 for line in lines if line)
    assert load_conll(sample_path(name), scheme="auto").scheme == "iob2"
    assert load_conll(sample_path(name), tag_column=2).num_tokens == data.num_tokens


def test_ner_train_size_and_disjoint_splits():
    splits = {name: load_conll(sample_path(name)) for name in NER_SPLITS}
    assert len(splits["ner_en.conll"]) >= 150
    assert len(splits["ner_en.dev.conll"]) >= 40 and len(splits["ner_en.test.conll"]) >= 40
    sentences = [{" ".join(tokens) for tokens in data.tokens} for data in splits.values()]
    assert not sentences[0] & sentences[1] and not sentences[0] & sentences[2]
    assert not sentences[1] & sentences[2]


def test_char_lm_text():
    text = load_text(sample_path("char_lm"))
    assert 20_000 <= len(text) <= 100_000 and text.isascii()
    assert 40 <= len(set(text)) <= 70
    assert "MARTHA:\n" in text and text.endswith("\n")


def test_timeseries_matches_its_documented_formula():
    path = sample_path("timeseries")
    values = load_series(path, "value")
    t = np.arange(730)
    noise = np.random.RandomState(7).normal(0.0, 3.0, size=730)
    expected = (
        200 + 0.05 * t + 20 * np.sin(2 * np.pi * t / 365.25) + 8 * np.sin(2 * np.pi * t / 7) + noise
    )
    np.testing.assert_allclose(values, np.round(expected, 2), atol=0.0051)
    dates = [line.split(",")[0] for line in path.read_text().splitlines()[1:]]
    first = datetime.date(2022, 1, 1)
    assert dates == [str(first + datetime.timedelta(days=i)) for i in range(730)]
