"""The sentiment recipe end to end through `main([...])`, on the embedded samples, tiny models."""

import io
import json
import sys

import keras
import numpy as np
import pandas as pd
import pytest
from cli_runner import run_main
import tensorflow as tf

from seqrecipes.datasets import pretokenize_korean, sample_path
from seqrecipes.errors import MissingDependencyError
from seqrecipes.recipes import sentiment
from seqrecipes.recipes.engine import artifacts as _artifacts
from seqrecipes.recipes.engine import training as _training
from seqrecipes.recipes.sentiment import model as _model_flags
from seqrecipes.recipes.sentiment import serve as _sentiment_serve
from seqrecipes.recipes.sentiment import training as _sentiment_train

TINY = ["--model", "fasttext", "--embedding-dim", "8", "--verbose", "0", "--seed", "5"]
# Three epochs with patience 3: nothing stops early, so an interrupted run has epochs left.
BASE = [*TINY, "--epochs", "3", "--patience", "3"]




@pytest.fixture(scope="module")
def data_files(tmp_path_factory):
    """The English sample split into a training file and a test file (stratified by label)."""
    folder = tmp_path_factory.mktemp("data")
    table = pd.read_csv(sample_path("sentiment_en"), keep_default_na=False)
    test = table.groupby("label").head(20)
    table.drop(test.index).to_csv(folder / "train.csv", index=False)
    test.to_csv(folder / "test.csv", index=False)
    table.groupby("label").head(30).to_csv(folder / "small.csv", index=False)
    return folder / "train.csv", folder / "test.csv"


@pytest.fixture(scope="module")
def small_file(data_files):
    """60 English reviews, 30 per class: enough for the code paths of slower models."""
    return data_files[0].parent / "small.csv"


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_files):
    """One run shared by the tests that only read it."""
    run_dir = tmp_path_factory.mktemp("runs") / "run"
    train, test = data_files
    status, out, err = run_main(
        "sentiment", "train", "--data", str(train), "--test", str(test), "--run-dir",
        str(run_dir), *BASE,
    )
    assert status == 0, err
    return run_dir, out


def test_train_writes_a_complete_run_and_a_summary(trained, data_files):
    run_dir, out = trained
    names = {path.name for path in run_dir.iterdir()}
    assert set(_sentiment_train.FILES) | {"run.json"} <= names
    run = _artifacts.load_run(run_dir)
    config, metrics = run.config, run.metrics
    assert config["classes"] == [0, 1] and config["model"] == "fasttext"
    assert config["seed"] == 5 and config["embedding_dim"] == 8 and config["ngrams"] == 2
    assert config["test"] == str(data_files[1]) and config["test_from"] == "file"
    assert "keras" in config["versions"]
    assert config["distribution"] == {"strategy": "default", "replicas": 1, "workers": 1,
                                      "tf_strategy": "_DefaultDistributionStrategy"}
    test = metrics["test"]
    matrix = np.array(test["confusion_matrix"])
    assert matrix.sum() == test["num_texts"] == 40
    assert test["accuracy"] == pytest.approx(np.trace(matrix) / matrix.sum())
    assert len(run.history()) == metrics["epochs_trained"] == 3
    assert metrics["sizes"]["train"] + metrics["sizes"]["validation"] == 324 - 40
    assert f"accuracy {test['accuracy']:.4f}, macro F1 {test['macro_f1']:.4f}" in out
    assert "train 255 / validation 29 / test 40" in out
    assert "fastText bag" in out and "input: raw text" in out


def test_evaluate_reproduces_the_test_figures(trained, data_files):
    run_dir, _ = trained
    status, out, err = run_main("sentiment", "evaluate", str(run_dir), str(data_files[1]))
    assert status == 0, err
    recorded = _artifacts.load_run(run_dir).metrics["test"]
    assert f"accuracy {recorded['accuracy']:.4f}, macro F1 {recorded['macro_f1']:.4f}" in out
    assert "precision" in out and "Confusion matrix" in out
    figures = sentiment.evaluate(run_dir, data_files[1])
    assert figures["confusion_matrix"] == recorded["confusion_matrix"]
    assert figures["report"]["macro avg"]["f1-score"] == pytest.approx(recorded["macro_f1"])


def predicted_rows(out):
    return [json.loads(line) for line in out.splitlines()]


def test_predict_arguments_file_and_stdin_agree_with_the_saved_model(trained, tmp_path,
                                                                     monkeypatch):
    run_dir, _ = trained
    texts = ["A brilliant, moving film.", "", "Boring and a waste of money."]
    status, out, err = run_main("sentiment", "predict", str(run_dir), *texts)
    assert status == 0, err
    rows = predicted_rows(out)
    assert [row["text"] for row in rows] == texts
    model = _artifacts.load_run(run_dir).model
    positive = model.predict(tf.constant(texts), verbose=0)[:, 0]
    for row, p in zip(rows, positive):
        assert row["label"] == int(p >= 0.5)
        assert row["probability"] == pytest.approx(max(p, 1 - p), abs=1e-5)
        assert sum(row["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)

    path = tmp_path / "texts.txt"
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    status, from_file, err = run_main("sentiment", "predict", str(run_dir), "--file", str(path))
    assert status == 0, err
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(path.read_bytes())))
    status, from_stdin, err = run_main("sentiment", "predict", str(run_dir))
    assert status == 0, err
    assert predicted_rows(from_file) == predicted_rows(from_stdin) == rows


TEXTS = ["A brilliant, moving film.", "", "Boring.", "Dull, dull, dull and far too long to "
         "sit through, with a plot that goes nowhere and actors who look lost", "fine"]


def assert_fast_path_matches_pipeline(loaded, texts):
    """The compiled call on a few padded texts == the bucketed pipeline, text by text."""
    direct = loaded._outputs_direct(texts)
    bucketed = loaded._outputs_bucketed(texts, batch_size=2)  # several buckets and batches
    assert direct.shape == bucketed.shape == (len(texts), 1)
    np.testing.assert_allclose(direct, bucketed, atol=1e-5)
    one_by_one = np.concatenate([loaded._outputs_direct([t]) for t in texts])
    np.testing.assert_allclose(direct, one_by_one, atol=1e-5)


def assert_same_rows(rows, expected):
    assert [(r["text"], r["label"]) for r in rows] == [(r["text"], r["label"]) for r in expected]
    for row, other in zip(rows, expected):
        assert row["probability"] == pytest.approx(other["probability"], abs=1e-5)


def test_fast_path_gives_the_predictions_of_the_pipeline(trained, monkeypatch):
    run_dir, _ = trained
    loaded = sentiment.load(run_dir)
    assert_fast_path_matches_pipeline(loaded, TEXTS)
    expected = sentiment.predict(run_dir, TEXTS, batch_size=2)  # through the pipeline

    def no_pipeline(*args, **kwargs):
        raise AssertionError("a few texts must not build a tf.data pipeline")

    with monkeypatch.context() as patch:
        patch.setattr(_sentiment_serve.datasets, "predict_in_order", no_pipeline)
        assert_same_rows(loaded.predict(TEXTS), expected)  # the fast path
        assert_same_rows(loaded.predict(TEXTS[:1]), expected[:1])

    calls = []
    original = _sentiment_serve.datasets.predict_in_order
    monkeypatch.setattr(_sentiment_serve.datasets, "predict_in_order",
                        lambda *a, **k: calls.append(len(a[1])) or original(*a, **k))
    many = TEXTS * (_sentiment_serve.DIRECT_MAX_TEXTS // len(TEXTS) + 1)
    rows = loaded.predict(many)
    assert calls == [len(many)]  # a batch goes through the bucketed pipeline
    assert_same_rows(rows, expected * (len(many) // len(TEXTS)))


def test_exported_saved_model_serves_raw_strings(trained, tmp_path):
    run_dir, _ = trained
    target = tmp_path / "exported"
    status, out, err = run_main("sentiment", "export", str(run_dir), str(target))
    assert status == 0, err
    served = tf.saved_model.load(str(target))  # keep a reference: it owns the lookup tables
    texts = ["A brilliant, moving film.", "Boring and a waste of money.", ""]
    probabilities = served.serve(tf.constant(texts)).numpy()[:, 0]
    expected = [row["probabilities"]["1"] for row in sentiment.predict(run_dir, texts)]
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
    extra = json.loads((target / "assets.extra" / "seqrecipes.json").read_text())
    assert extra["classes"] == [0, 1] and extra["input"] == "raw text"
    status, _, err = run_main("sentiment", "export", str(run_dir), str(target))
    assert status == 2 and "--overwrite" in err


class Interrupt(keras.callbacks.Callback):
    """Stands in for Ctrl-C in the middle of an epoch."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at, self.epoch = (epoch, batch), None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt


def test_interrupted_training_resumes_and_matches_an_uninterrupted_run(
    trained, data_files, tmp_path, monkeypatch
):
    reference_dir, _ = trained
    run_dir = tmp_path / "run"
    argv = ["sentiment", "train", "--data", str(data_files[0]), "--test", str(data_files[1]),
            "--run-dir", str(run_dir), *BASE]
    fit = _training.fit_resumable

    def interrupted_fit(*args, **kwargs):  # one batch per call, so batch 2 begins a call
        callbacks = [*kwargs.pop("callbacks", ()), Interrupt(epoch=1, batch=2)]
        return fit(*args, **kwargs, callbacks=callbacks, steps_per_execution=1)

    monkeypatch.setattr(_sentiment_train._training, "fit_resumable", interrupted_fit)
    status, _, err = run_main(*argv)
    assert status == 130 and "interrupted" in err
    state = json.loads((run_dir / ".training" / "state.json").read_text())
    assert state["epochs_done"] == 1
    assert not (run_dir / "run.json").exists()
    status, _, err = run_main("sentiment", "predict", str(run_dir), "good")
    assert status == 2 and "run the same train command again" in err

    monkeypatch.setattr(_sentiment_train._training, "fit_resumable", fit)
    status, out, err = run_main(*argv)
    assert status == 0, err
    assert "3 epochs, resumed after epoch 1" in out
    resumed = _artifacts.load_run(run_dir)
    reference = _artifacts.load_run(reference_dir)
    assert resumed.metrics["test"] == reference.metrics["test"]  # same seed, same result
    # Every figure but the epochs' wall-clock seconds.
    pd.testing.assert_frame_equal(resumed.history().drop(columns="epoch_seconds"),
                                  reference.history().drop(columns="epoch_seconds"))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--data", "no/such/file.csv"], "no such file"),
        (["--text-column", "review_text"], "is not a column. The columns are ['text', 'label']"),
        (["--model", "transformer"], "`--model` must be one of 'simple_rnn', 'lstm'"),
        (["--model", "lstm", "--kernel-sizes", "3"], "--model lstm does not use `--kernel-sizes` (used by cnn)"),
        (["--units", "0", "--model", "gru"], "`--units` must be a positive integer"),
        (["--language", "fr"], "`--language` must be one of 'en', 'ko'"),
        (["--tokenizer", "syllables"], "`--tokenizer` must be one of 'words'"),
        (["--epochs", "0"], "`--epochs` must be a positive integer"),
        (["--no-such-flag"], "unrecognized arguments"),
    ],
)
def test_bad_training_input_exits_2_with_a_message(tmp_path, argv, message):
    status, out, err = run_main("sentiment", "train", "--run-dir", str(tmp_path / "r"), *TINY,
                                *argv)
    assert status == 2
    assert err.startswith("seqrecipes: error: ") and message in err
    assert not (tmp_path / "r" / "run.json").exists()


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "is empty"),
        ("text,label\n", "no rows"),
        ("text,label\ngood film,1\n,0\nbad film,0\n", None),  # one empty document: dropped
        ("text,label\ngood,1\nbad,0\ngreat,1\n", "every class needs texts on both sides"),
        ("text,label\ngood,1\nfine,1\n", "a classifier needs at least two classes"),
    ],
)
def test_bad_data_files_exit_2_with_a_message(tmp_path, content, message):
    path = tmp_path / "data.csv"
    path.write_text(content)
    argv = ["sentiment", "train", "--data", str(path), "--run-dir", str(tmp_path / "r"), *TINY,
            "--empty", "error"]
    status, _, err = run_main(*argv)
    assert status == 2
    assert (message or "1 empty documents") in err


def test_empty_documents_are_dropped_and_counted(tmp_path):
    table = pd.read_csv(sample_path("sentiment_en"), keep_default_na=False)
    table.loc[[3, 10], "text"] = ["", "   "]
    table.to_csv(tmp_path / "data.csv", index=False)
    status, out, err = run_main("sentiment", "train", "--data", str(tmp_path / "data.csv"),
                                "--run-dir", str(tmp_path / "r"), *TINY, "--epochs", "1")
    assert status == 0, err
    assert "322 texts" in out and "2 empty documents (dropped)" in out
    assert _artifacts.load_run(tmp_path / "r").metrics["num_empty"] == {"data": 2}


def test_bad_predict_and_evaluate_input(trained, tmp_path):
    run_dir, _ = trained
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    status, _, err = run_main("sentiment", "predict", str(run_dir), "--file", str(empty))
    assert status == 2 and "No texts to predict" in err
    status, _, err = run_main("sentiment", "predict", str(tmp_path / "none"), "good")
    assert status == 2 and "No run directory" in err
    labels = tmp_path / "labels.csv"
    labels.write_text("text,label\ngood,1\nodd,7\n")
    status, _, err = run_main("sentiment", "evaluate", str(run_dir), str(labels))
    assert status == 2 and "labels.csv:3: label 7 is not one of the classes [0, 1]" in err


def test_string_labels_and_three_classes_use_softmax(tmp_path):
    rng = np.random.default_rng(0)
    words = {"neg": "awful dull boring", "neu": "okay average plain", "pos": "great superb fun"}
    rows = [(" ".join(rng.choice(words[label].split(), 3)), label)
            for label in words for _ in range(20)]
    pd.DataFrame(rows, columns=["review", "sentiment"]).to_csv(tmp_path / "d.csv", index=False)
    result = sentiment.train(data=tmp_path / "d.csv", run_dir=tmp_path / "r", model="cnn",
                             embedding_dim=8, filters=4, kernel_sizes=[2], epochs=1, verbose=0)
    assert result["config"]["classes"] == ["neg", "neu", "pos"]
    run = _artifacts.load_run(tmp_path / "r")
    assert run.model.output_shape == (None, 3)
    rows = sentiment.predict(tmp_path / "r", ["great fun", "dull"])
    assert all(row["label"] in ("neg", "neu", "pos") for row in rows)
    assert set(rows[0]["probabilities"]) == {"neg", "neu", "pos"}


@pytest.mark.parametrize(
    "flags, described",
    [
        (dict(model="gru", units=[4], bidirectional=True), "BiGRU 4 -> max pooling"),
        (dict(model="lstm", units=[4, 3], pooling="last"), "LSTM 4 3 -> last output"),
        (dict(model="simple_rnn", units=[4], pooling="mean"), "SimpleRNN 4 -> mean pooling"),
        (dict(model="cnn", kernel_sizes=[3, 4], filters=4), "CNN, kernels 3/4 x 4 filters"),
        (dict(model="fasttext", dropout=0.2), "fastText bag"),
        (dict(model="nbsvm", dropout=0.2), "NBSVM (naive-Bayes-scaled weights"),
    ],
)
def test_every_model_family_from_flags(flags, described):
    model = flags.pop("model")
    if "embedding_dim" in _model_flags.SETTINGS[model]:
        flags["embedding_dim"] = 8
    settings = _model_flags.resolve_model_settings(
        model, {**dict.fromkeys(_model_flags.ALL_SETTINGS), **flags}
    )
    assert _model_flags.describe_model(settings).startswith(described)
    model = _model_flags.build_classifier(settings, vocabulary_size=20, num_classes=2)
    empty = tf.zeros((1, 1), "int32")  # an empty text: one padding step, all masked
    assert np.isfinite(model(empty).numpy()).all()
    assert model.output_shape == (None, 1)


def test_the_english_default_is_nbsvm_on_word_trigrams_and_it_exports(tmp_path):
    run_dir = tmp_path / "r"
    result = sentiment.train(run_dir=run_dir, epochs=2, verbose=0, seed=5)
    config = result["config"]
    assert (config["model"], config["ngrams"], config["max_tokens"]) == ("nbsvm", 3, 2_000_000)
    assert "NBSVM" in result["summary"] and "embedding_dim" not in config
    model = _artifacts.load_run(run_dir).model
    ratios = model.get_layer("nbsvm_classifier").get_layer("log_count_ratios").get_weights()[0]
    assert ratios.shape[1] == 1 and (ratios > 0).any() and (ratios < 0).any()  # from the data
    texts = ["A brilliant, moving film.", "Boring and a waste of money.", ""]
    expected = [row["probabilities"]["1"] for row in sentiment.predict(run_dir, texts)]
    sentiment.export(run_dir, tmp_path / "exported")
    served = tf.saved_model.load(str(tmp_path / "exported"))
    np.testing.assert_allclose(served.serve(tf.constant(texts)).numpy()[:, 0], expected,
                               atol=1e-5)
    assert_fast_path_matches_pipeline(sentiment.load(run_dir), TEXTS)


def test_a_recurrent_model_trains_and_predicts(tmp_path, small_file):
    result = sentiment.train(data=small_file, run_dir=tmp_path / "r", model="gru", units=[4],
                             bidirectional=True, embedding_dim=8, epochs=1, verbose=0)
    assert "BiGRU 4 -> max pooling" in result["summary"]
    assert result["config"]["ngrams"] == 1 and result["config"]["max_tokens"] == 30000
    assert len(sentiment.predict(tmp_path / "r", ["good", ""])) == 2
    assert_fast_path_matches_pipeline(sentiment.load(tmp_path / "r"), TEXTS)


def test_the_korean_default_is_nbsvm_on_characters_and_morphemes(tmp_path):
    pytest.importorskip("kiwipiepy")
    result = sentiment.train(language="ko", run_dir=tmp_path / "r", epochs=1, verbose=0)
    config = result["config"]
    assert (config["tokenizer"], config["model"], config["ngrams"]) == (
        "syllables_and_morphemes", "nbsvm", 4)
    assert config["tokenizer_note"] is None and "note:" not in result["summary"]
    assert "kiwipiepy form/TAG" in config["input"]
    vectorizer, _ = sentiment.load(tmp_path / "r")._parts()
    vocabulary = set(vectorizer.get_vocabulary())
    # Both views: characters (a space as \u2581, n-grams across it) and morphemes with tags.
    assert {"재", "\u2581", "영화/nng"} <= vocabulary, sorted(vocabulary)[:50]
    assert any(" " in token and "\u2581" in token for token in vocabulary)
    texts = ["정말 재밌어요 ㅋㅋ", "최악"]
    rows = sentiment.predict(tmp_path / "r", texts)
    assert [row["text"] for row in rows] == texts
    model_rows = sentiment.load(tmp_path / "r").run.model.predict(
        tf.constant(pretokenize_korean(texts, "syllables_and_morphemes")), verbose=0)
    np.testing.assert_allclose(model_rows[:, 0], [row["probabilities"]["1"] for row in rows],
                               atol=1e-5)


def test_without_kiwipiepy_the_korean_default_is_syllables_and_the_run_says_so(
        tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "kiwipiepy", None)  # `import kiwipiepy` fails
    result = sentiment.train(language="ko", run_dir=tmp_path / "r", epochs=1, verbose=0)
    config = result["config"]
    assert (config["tokenizer"], config["model"], config["ngrams"]) == ("syllables", "nbsvm", 4)
    assert config["input"] == "raw text"
    assert 'pip install "seqrecipes[korean]"' in config["tokenizer_note"]
    assert "note: kiwipiepy is not installed, so syllables instead of the default " \
           "syllables_and_morphemes" in result["summary"]
    rows = sentiment.predict(tmp_path / "r", ["정말 재밌어요 ㅋㅋ", "최악"])
    assert [row["text"] for row in rows] == ["정말 재밌어요 ㅋㅋ", "최악"]
    # Asked for by name, a kiwipiepy tokenizer is refused with the command, not replaced.
    with pytest.raises(MissingDependencyError, match="seqrecipes\\[korean\\]"):
        sentiment.train(language="ko", tokenizer="syllables_and_morphemes",
                        run_dir=tmp_path / "r2", epochs=1, verbose=0)


def test_korean_in_model_tokenizer_takes_raw_text(tmp_path):
    result = sentiment.train(language="ko", tokenizer="syllables", run_dir=tmp_path / "r",
                             model="cnn", embedding_dim=8, filters=4, epochs=1, verbose=0)
    assert result["config"]["input"] == "raw text"
    assert result["config"]["kernel_sizes"] == [2, 3, 4, 5]  # the Korean default
    assert result["config"]["ngrams"] == 1
    rows = sentiment.predict(tmp_path / "r", ["정말 재밌어요 ㅋㅋ", "최악"])
    assert [row["text"] for row in rows] == ["정말 재밌어요 ㅋㅋ", "최악"]


def test_korean_morphemes_are_applied_by_predict_and_documented_for_the_export(tmp_path):
    pytest.importorskip("kiwipiepy")
    run_dir = tmp_path / "r"
    result = sentiment.train(language="ko", tokenizer="morpheme_tags", model="cnn",
                             run_dir=run_dir, embedding_dim=8, filters=4, kernel_sizes=[2],
                             epochs=1, verbose=0)
    assert result["config"]["tokenizer"] == "morpheme_tags"
    assert "kiwipiepy" in result["config"]["input"]
    texts = ["정말 재밌어요 ㅋㅋ", "시간 낭비였다"]
    rows = sentiment.predict(run_dir, texts)
    sentiment.export(run_dir, tmp_path / "exported")
    served = tf.saved_model.load(str(tmp_path / "exported"))
    tokenized = pretokenize_korean(texts, "morpheme_tags")
    probabilities = served.serve(tf.constant(tokenized)).numpy()[:, 0]
    np.testing.assert_allclose(probabilities, [row["probabilities"]["1"] for row in rows],
                               atol=1e-5)
    extra = json.loads((tmp_path / "exported" / "assets.extra" / "seqrecipes.json").read_text())
    assert "pretokenize_korean" in extra["input"]
