"""Sentiment exports to ONNX and LiteRT: every model family, parity with Keras, the reader."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_main

import seqrecipes.portable as portable
from seqrecipes.datasets import sample_path
from seqrecipes.errors import InvalidArgumentError, MissingDependencyError, RunDirectoryError
from seqrecipes.recipes import sentiment
from seqrecipes.recipes.sentiment import serve as _sentiment_serve

FAMILIES = {  # one tiny run per model family the recipe offers
    "nbsvm": [],
    "fasttext": ["--embedding-dim", "4"],
    "cnn": ["--embedding-dim", "4", "--filters", "2", "--kernel-sizes", "2", "3"],
    "lstm": ["--embedding-dim", "4", "--units", "3", "--bidirectional"],
    "gru": ["--embedding-dim", "4", "--units", "3", "2", "--pooling", "last"],
    "simple_rnn": ["--embedding-dim", "4", "--units", "3", "--pooling", "mean"],
}
FORMATS = ("onnx", "litert")
TEXTS = ["A brilliant, moving film.", "", "Boring.", "DULL, dull, dull <br />and far too "
         "long to sit through -- a plot that goes nowhere", "fine", "Café ÉCOLE\u00a0naïve 😀"]


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "small.csv"
    table = pd.read_csv(sample_path("sentiment_en"), keep_default_na=False)
    table.groupby("label").head(40).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory, small_file):
    """family -> (run directory, {format: export directory})."""
    root = tmp_path_factory.mktemp("portable")
    result = {}
    for family, flags in FAMILIES.items():
        run_dir = root / family
        status, _, err = run_main(
            "sentiment", "train", "--data", small_file, "--model", family, *flags,
            "--epochs", "1", "--verbose", "0", "--seed", "5", "--baseline", "none",
            "--run-dir", run_dir)
        assert status == 0, err
        exports = {}
        for fmt in FORMATS:
            exports[fmt] = root / f"{family}-{fmt}"
            status, out, err = run_main("sentiment", "export", run_dir, exports[fmt],
                                        "--format", fmt)
            assert status == 0, err
            assert "seqrecipes.portable.load" in out
        result[family] = run_dir, exports
    return result


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("family", list(FAMILIES))
def test_the_reader_matches_keras_on_raw_texts(runs, family, fmt):
    run_dir, exports = runs[family]
    expected = sentiment.predict(run_dir, TEXTS)
    model = portable.load(exports[fmt])
    got = model.predict(TEXTS)
    assert [row["text"] for row in got] == TEXTS
    for want, have in zip(expected, got):
        assert have["probabilities"].keys() == want["probabilities"].keys()
        for name, p in want["probabilities"].items():
            assert abs(have["probabilities"][name] - p) <= 2e-6, (family, fmt, want["text"])
        if abs(want["probability"] - 0.5) > 1e-5:  # not a tie a float rounding can turn
            assert have["label"] == want["label"]
    # batches of 2, sorted by length: other paddings, the same probabilities
    np.testing.assert_allclose(model.probabilities(TEXTS, batch_size=2),
                               model.probabilities(TEXTS), atol=1e-6)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_the_reader_ids_equal_the_run_vectorizer(runs, family):
    run_dir, exports = runs[family]
    vectorizer, _ = _sentiment_serve.load(run_dir)._parts()
    expected = vectorizer(TEXTS).numpy()
    ours = portable.load(exports["onnx"]).vectorizer
    assert ours(TEXTS, min_length=expected.shape[1]).tolist() == expected.tolist()


def test_the_description_says_what_the_graph_takes(runs):
    _, exports = runs["nbsvm"]
    described = json.loads((exports["onnx"] / "seqrecipes.json").read_text())
    assert described["recipe"] == "sentiment" and described["format"] == "onnx"
    assert described["graph"] == "model.onnx" and (exports["onnx"] / "model.onnx").is_file()
    assert described["classes"] == [0, 1] and described["input"] == "raw text"
    assert described["vectorizer"]["ngrams"] == 3  # NBSVM reads words, pairs and triples
    assert described["inputs"] == [{"name": "token_ids", "dtype": "int32",
                                    "shape": [None, None]}]
    vocabulary = json.loads((exports["onnx"] / "vocabulary.json").read_text())
    assert vocabulary[:2] == ["", "[UNK]"]
    # LiteRT: recurrent models take one text per call, the others any batch
    recurrent = json.loads((runs["lstm"][1]["litert"] / "seqrecipes.json").read_text())
    assert recurrent["inputs"][0]["shape"] == [1, None]
    bag = json.loads((runs["fasttext"][1]["litert"] / "seqrecipes.json").read_text())
    assert bag["inputs"][0]["shape"] == [None, None]


def test_export_replaces_only_with_overwrite(runs):
    run_dir, exports = runs["fasttext"]
    status, _, err = run_main("sentiment", "export", run_dir, exports["onnx"], "--format",
                              "litert")
    assert status == 2 and "--overwrite" in err
    assert (exports["onnx"] / "model.onnx").is_file()  # untouched
    status, _, err = run_main("sentiment", "export", run_dir, exports["onnx"], "--format",
                              "onnx", "--overwrite")
    assert status == 0, err


def test_an_unknown_format_is_refused_before_loading(tmp_path):
    with pytest.raises(InvalidArgumentError, match="`format`.*'torch'"):
        sentiment.export(tmp_path / "no-run", tmp_path / "out", format="torch")
    status, _, err = run_main("sentiment", "export", tmp_path, tmp_path / "out", "--format",
                              "torch")
    assert status == 2 and "--format" in err


def test_the_reader_refuses_a_saved_model_and_an_empty_folder(runs, tmp_path):
    run_dir, _ = runs["fasttext"]
    sentiment.export(run_dir, tmp_path / "saved")
    with pytest.raises(RunDirectoryError, match="holds a SavedModel.*--format onnx"):
        portable.load(tmp_path / "saved")
    with pytest.raises(RunDirectoryError, match="no seqrecipes.json"):
        portable.load(tmp_path)


def test_a_newer_description_is_refused(runs, tmp_path):
    import shutil

    _, exports = runs["fasttext"]
    copy = tmp_path / "copy"
    shutil.copytree(exports["onnx"], copy)
    described = json.loads((copy / "seqrecipes.json").read_text())
    described["description_version"] = 99
    (copy / "seqrecipes.json").write_text(json.dumps(described))
    with pytest.raises(RunDirectoryError, match="layout version 99.*Upgrade seqrecipes"):
        portable.load(copy)


def test_a_missing_runtime_names_the_extra(runs, monkeypatch):
    _, exports = runs["fasttext"]
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
    with pytest.raises(MissingDependencyError, match=r'pip install "seqrecipes\[portable\]"'):
        portable.load(exports["onnx"])


def test_the_reader_never_imports_tensorflow(runs):
    _, exports = runs["nbsvm"]
    script = (
        "import sys, seqrecipes.portable as portable\n"
        f"for path in {[str(exports[fmt]) for fmt in FORMATS]!r}:\n"
        "    rows = portable.load(path).predict(['A brilliant, moving film.', ''])\n"
        "    assert len(rows) == 2 and rows[0]['label'] in (0, 1), rows\n"
        "print(sorted(name for name in sys.modules\n"
        "             if name.split('.')[0] in ('tensorflow', 'keras', 'tf_keras')))\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(portable.__file__)))
    env = {**os.environ, "PYTHONPATH": root}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
