"""Every sentiment run fits and reports the TF-IDF + logistic regression baseline; class
weights and early stopping on macro F1 for imbalanced classes."""

import json
import re

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

from seqrecipes.errors import InvalidArgumentError
from seqrecipes.recipes import sentiment
from seqrecipes.recipes.sentiment import baseline
from seqrecipes.recipes.sentiment import data as text

TINY = dict(epochs=2, patience=2, verbose=0, seed=3)  # the default model of each language


@pytest.fixture(scope="module")
def english_run(tmp_path_factory):
    return sentiment.train(run_dir=tmp_path_factory.mktemp("run") / "en", **TINY)


ENGLISH = dict(  # lower case, <br /> as a space; words keep apostrophes, "!" and "?" count
    preprocessor=lambda text: re.sub(r"<br\s*/?>", " ", text, flags=re.IGNORECASE).lower(),
    token_pattern=r"(?u)\b\w[\w']*\b|[!?]",
)


def _fit_in_the_test(texts, labels, analyzer, ngram_range):
    """The baseline written out here with scikit-learn, independently of the package."""
    words = ENGLISH if analyzer == "word" else {}
    vectorizer = TfidfVectorizer(analyzer=analyzer, ngram_range=ngram_range, min_df=2,
                                 sublinear_tf=True, dtype=np.float32, **words)
    classifier = LogisticRegression(C=4.0, solver="liblinear", max_iter=1000, random_state=3)
    classifier.fit(vectorizer.fit_transform(texts), labels)
    return lambda new: classifier.predict(vectorizer.transform(new))


@pytest.mark.parametrize("language, analyzer, ngram_range", [
    ("en", "word", (1, 2)),
    ("ko", "char_wb", (1, 4)),
])
def test_stored_baseline_equals_a_scikit_learn_fit_done_here(
        tmp_path, english_run, language, analyzer, ngram_range):
    result = english_run if language == "en" else sentiment.train(
        run_dir=tmp_path / "ko", language="ko", **TINY)
    stored = json.loads((result["run_dir"] / "metrics.json").read_text())["baseline"]
    splits = text.read_splits(result["config"])  # the run's own split, from its config
    predict = _fit_in_the_test(list(splits.train[0]), splits.train[1], analyzer, ngram_range)
    for split in ("validation", "test"):
        texts, labels = splits.__getattribute__(split)
        predicted = predict(list(texts))
        assert stored[split]["accuracy"] == pytest.approx(accuracy_score(labels, predicted))
        assert stored[split]["macro_f1"] == pytest.approx(
            f1_score(labels, predicted, average="macro"))
    assert stored["features"] == f"{analyzer} {ngram_range[0]}-{ngram_range[1]}-grams"
    assert stored["train_texts"] == len(splits.train[0])


def test_summary_names_the_baseline_and_says_who_wins(english_run):
    summary = english_run["summary"]
    metrics = english_run["metrics"]
    assert "TF-IDF" in summary and "baseline" in summary
    ours, theirs = metrics["validation"]["accuracy"], metrics["baseline"]["validation"]["accuracy"]
    expected = "beats it" if ours > theirs else ("only ties" if ours == theirs else "does NOT beat")
    validation_line = next(line for line in summary.splitlines()
                           if line.strip().startswith("validation accuracy"))
    assert expected in validation_line


def test_comparison_line_says_so_when_the_model_loses():
    line = baseline.comparison_line({"accuracy": 0.80}, {"test": {"accuracy": 0.85,
                                                                   "macro_f1": 0.84}}, "test")
    assert "does NOT beat it (5.00 points behind)" in line
    line = baseline.comparison_line({"accuracy": 0.90}, {"test": {"accuracy": 0.85,
                                                                   "macro_f1": 0.84}}, "test")
    assert "beats it by 5.00 points" in line


def test_evaluate_scores_the_stored_baseline_on_the_new_data(english_run, tmp_path):
    splits = text.read_splits(english_run["config"])
    texts, labels = splits.test
    path = tmp_path / "held_out.csv"
    classes = english_run["config"]["classes"]
    import pandas as pd

    pd.DataFrame({"text": texts, "label": [classes[i] for i in labels]}).to_csv(path, index=False)
    evaluated = sentiment.evaluate(english_run["run_dir"], path)
    stored = english_run["metrics"]["baseline"]["test"]
    assert evaluated["baseline"]["accuracy"] == pytest.approx(stored["accuracy"])
    assert evaluated["baseline"]["confusion_matrix"] == stored["confusion_matrix"]


def test_baseline_none_skips_it(tmp_path):
    result = sentiment.train(run_dir=tmp_path / "none", baseline="none", **TINY)
    assert result["metrics"]["baseline"] is None
    assert not (result["run_dir"] / baseline.FILE).exists()
    assert not [line for line in result["summary"].splitlines()
                if line.strip().startswith("baseline")]
    assert sentiment.evaluate(result["run_dir"], sentiment_sample())["baseline"] is None


def sentiment_sample():
    from seqrecipes.datasets import sample_path

    return sample_path("sentiment_en")


def _imbalanced(tmp_path):
    """Three classes, the third a 10% minority, from the embedded English sample."""
    import pandas as pd

    table = pd.read_csv(sentiment_sample())
    table["label"] = np.where(np.arange(len(table)) % 10 == 0, "mixed",
                              table["label"].map({0: "neg", 1: "pos"}))
    path = tmp_path / "three.csv"
    table.to_csv(path, index=False)
    return path


def test_balanced_class_weight_is_n_over_k_times_count(tmp_path, monkeypatch):
    from seqrecipes.recipes.engine import training as engine_training

    seen = {}
    real = engine_training.fit_resumable

    def spy(*args, **kwargs):
        seen["class_weight"] = kwargs["class_weight"]
        return real(*args, **kwargs)

    monkeypatch.setattr(engine_training, "fit_resumable", spy)
    result = sentiment.train(data=_imbalanced(tmp_path), run_dir=tmp_path / "w",
                             class_weight="balanced", **TINY)
    splits = text.read_splits(result["config"])
    counts = np.bincount(splits.train[1])
    expected = {i: counts.sum() / (3 * c) for i, c in enumerate(counts)}
    assert seen["class_weight"] == pytest.approx(expected)
    assert result["config"]["class_weight"] == "balanced"
    # The baseline is weighted like the model it is compared with.
    assert "class weights" in result["metrics"]["baseline"]["model"]
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True,
                                 dtype=np.float32, **ENGLISH)
    classifier = LogisticRegression(C=4.0, solver="lbfgs", max_iter=1000, random_state=3,
                                    class_weight=expected)  # three classes: multinomial
    classifier.fit(vectorizer.fit_transform(list(splits.train[0])), splits.train[1])
    texts, labels = splits.test
    accuracy = accuracy_score(labels, classifier.predict(vectorizer.transform(list(texts))))
    assert result["metrics"]["baseline"]["test"]["accuracy"] == pytest.approx(accuracy)


def test_class_weight_mapping_names_classes(tmp_path):
    with pytest.raises(InvalidArgumentError, match="`class_weight` names classes.*'nope'"):
        sentiment.train(data=_imbalanced(tmp_path), run_dir=tmp_path / "m",
                        class_weight={"nope": 2.0}, **TINY)
    with pytest.raises(InvalidArgumentError, match="`class_weight` must be None"):
        sentiment.train(run_dir=tmp_path / "b", class_weight="equal", **TINY)


def test_monitor_macro_f1_logs_it_and_stops_on_it(tmp_path):
    result = sentiment.train(data=_imbalanced(tmp_path), run_dir=tmp_path / "f1",
                             monitor="macro_f1", **TINY)
    history = result["history"]
    assert all(0 <= row["val_macro_f1"] <= 1 for row in history)
    best = max(history, key=lambda row: row["val_macro_f1"])
    assert result["best_epoch"] == best["epoch"]
