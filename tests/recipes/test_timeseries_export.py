"""timeseries export: raw values in, series units out, in the three formats; the portable reader."""

import json

import numpy as np
import pytest
import tensorflow as tf
from cli_runner import run_main

import seqrecipes.portable as portable
from seqrecipes.datasets import load_series, sample_path
from seqrecipes.datasets.series import regime_sequences, sliding_windows
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.recipes import timeseries

TINY = dict(units=3, epochs=1, batch_size=64, verbose=0)
FORMATS = ("savedmodel", "onnx", "litert")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """task -> (run, {format: export directory})."""
    root = tmp_path_factory.mktemp("timeseries-export")
    runs = {
        "regression": timeseries.train(run_dir=root / "regression", window=8, **TINY),
        "labelling": timeseries.train(run_dir=root / "labelling", task="labelling",
                                      train_sequences=20, validation_sequences=4,
                                      test_sequences=4, sequence_steps=12, **TINY),
    }
    result = {}
    for task, run in runs.items():
        exports = {}
        for fmt in FORMATS:
            exports[fmt] = root / f"{task}-{fmt}"
            status, out, err = run_main("timeseries", "export", run.run_dir, exports[fmt],
                                        "--format", fmt)
            assert status == 0, err
            assert fmt in out or "SavedModel" in out
        result[task] = run, exports
    return result


def _keras_regression(run):
    """What training computed: last value + std * the model's change, on the sample's windows."""
    from seqrecipes.recipes.engine.artifacts import load_run

    loaded = load_run(run.run_dir)
    values = load_series(sample_path("timeseries"), "value")
    windows, _, _ = sliding_windows(values, window=8, horizon=1)
    scale = run.metrics["normalisation"]
    features = timeseries.window_features(windows, scale["mean"], scale["std"])
    change = loaded.model.predict(features, verbose=0)[:, 0]
    return windows, windows[:, -1] + scale["std"] * change


@pytest.mark.parametrize("fmt", FORMATS)
def test_regression_exports_predict_what_training_predicted(exported, fmt):
    run, exports = exported["regression"]
    windows, expected = _keras_regression(run)
    if fmt == "savedmodel":
        served = tf.saved_model.load(str(exports[fmt]))
        got = served.serve(tf.constant(windows, tf.float32)).numpy()[:, 0]
    else:
        got = portable.load(exports[fmt]).predict(windows)
    assert got.shape == expected.shape
    # float32 graph against float64 arithmetic, on values in the hundreds
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-4)


@pytest.mark.parametrize("fmt", ("onnx", "litert"))
def test_labelling_exports_give_the_model_probabilities(exported, fmt):
    from seqrecipes.recipes.engine.artifacts import load_run

    run, exports = exported["labelling"]
    values, _ = regime_sequences(3, length=15, seed=7)  # a length it was not trained on
    scale = run.metrics["normalisation"]
    scaled = ((values - scale["mean"]) / scale["std"])[..., None].astype("float32")
    expected = load_run(run.run_dir).model.predict(scaled, verbose=0)
    model = portable.load(exports[fmt])
    np.testing.assert_allclose(model.predict(values), expected, atol=1e-5)
    labels = model.predict_labels(values)
    assert [len(row) for row in labels] == [15] * 3
    assert labels[0] == [("calm", "volatile")[i] for i in expected[0].argmax(-1)]


def test_the_description_holds_the_scaling_and_the_window(exported):
    run, exports = exported["regression"]
    described = json.loads((exports["onnx"] / "seqrecipes.json").read_text())
    assert described["task"] == "regression" and described["window"] == 8
    assert described["normalisation"] == run.metrics["normalisation"]
    assert described["inputs"] == [{"name": "window", "dtype": "float32",
                                    "shape": [None, 8]}]
    litert = json.loads((exports["litert"] / "seqrecipes.json").read_text())
    assert litert["inputs"][0]["shape"] == [1, 8]  # recurrent: one window per call
    saved = json.loads((exports["savedmodel"] / "assets.extra" / "seqrecipes.json").read_text())
    assert saved["format"] == "savedmodel" and saved["window"] == 8


@pytest.mark.parametrize("windows, match", [
    (np.zeros((2, 7)), r"shape \(rows, 8\): each of exactly window=8 values.*\(2, 7\)"),
    ([[1.0] * 7 + [np.nan]], "row 0 has NaN"),
    ([["a"] * 8], "must be numbers"),
])
def test_bad_windows_are_refused_with_the_shape_expected(exported, windows, match):
    _, exports = exported["regression"]
    with pytest.raises(InvalidArgumentError, match=match):
        portable.load(exports["onnx"]).predict(windows)


def test_one_window_alone_is_one_row(exported):
    _, exports = exported["regression"]
    model = portable.load(exports["onnx"])
    window = np.linspace(100.0, 110.0, 8)
    assert model.predict(window).shape == (1,)
    assert model.predict(window)[0] == pytest.approx(model.predict([window, window])[1])


def test_export_refuses_a_bad_format_and_an_existing_export(exported, tmp_path):
    run, exports = exported["regression"]
    with pytest.raises(InvalidArgumentError, match="`format`"):
        timeseries.export(run.run_dir, tmp_path / "out", format="tflite")
    assert not (tmp_path / "out").exists()
    status, _, err = run_main("timeseries", "export", run.run_dir, exports["onnx"])
    assert status == 2 and "--overwrite" in err


def test_labels_are_for_a_labelling_export(exported):
    _, exports = exported["regression"]
    with pytest.raises(InvalidArgumentError, match="regression export"):
        portable.load(exports["litert"]).predict_labels(np.zeros((1, 8)))
