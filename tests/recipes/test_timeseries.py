import json

import numpy as np
import pytest

from seqrecipes.cli import main
from seqrecipes.datasets import load_series, sample_path
from seqrecipes.datasets.series import chronological_split, regime_sequences, sliding_windows
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.recipes import timeseries

TINY = dict(units=4, epochs=2, batch_size=64, verbose=0)


@pytest.fixture(scope="module")
def regression(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("timeseries") / "regression"
    return timeseries.run(run_dir=run_dir, window=10, **TINY)


def test_windows_and_targets():
    inputs, targets, at = sliding_windows(np.arange(10.0), window=3, horizon=2)
    assert inputs[0].tolist() == [0, 1, 2] and targets[0] == 4 and at[0] == 4
    assert inputs[-1].tolist() == [5, 6, 7] and targets[-1] == 9
    np.testing.assert_array_equal(targets, np.arange(10.0)[at])
    with pytest.raises(InvalidArgumentError, match="`window`"):
        sliding_windows(np.arange(4.0), window=4, horizon=1)


def test_chronological_split():
    assert chronological_split(730) == (510, 620)
    with pytest.raises(InvalidArgumentError, match="leave something to train on"):
        chronological_split(10, validation_fraction=0.5, test_fraction=0.5)


def test_baseline_and_splits_are_computed_by_hand(regression):
    values = load_series(sample_path("timeseries"), "value")
    train_end, validation_end = 510, 620  # 70% / 15% / 15% of 730 days
    metrics = regression.metrics
    # Statistics of the training part only.
    assert metrics["normalisation"]["mean"] == pytest.approx(values[:train_end].mean())
    assert metrics["normalisation"]["std"] == pytest.approx(values[:train_end].std())
    assert metrics["normalisation"]["train_values"] == train_end
    # Test windows predict days 620..729; "tomorrow = today" by hand.
    truth, today = values[validation_end:], values[validation_end - 1 : -1]
    test = metrics["test"]
    assert test["windows"] == len(values) - validation_end
    assert test["last_value_baseline"]["mae"] == pytest.approx(np.abs(truth - today).mean())
    assert test["last_value_baseline"]["rmse"] == pytest.approx(
        np.sqrt(((truth - today) ** 2).mean())
    )
    assert metrics["validation"]["windows"] == validation_end - train_end
    for part in ("validation", "test"):
        assert metrics[part]["model"]["mae"] > 0
        assert metrics[part]["model"]["rmse"] >= metrics[part]["model"]["mae"]
    assert (regression.run_dir / "predictions.png").stat().st_size > 0


def test_no_leakage_from_the_later_parts(tmp_path):
    """Changing the validation and test values changes no statistic and no training window."""
    values = load_series(sample_path("timeseries"), "value")
    changed = values.copy()
    changed[510:] *= 10
    for series in (values, changed):
        assert timeseries.scaling(series, 510) == timeseries.scaling(values, 510)
    inputs, _, at, parts, train_end = timeseries._regression_data(values, 30, 1, 0.15, 0.15)
    changed_inputs, changed_targets, _, _, _ = timeseries._regression_data(
        changed, 30, 1, 0.15, 0.15
    )
    train = parts["train"]
    assert train_end == 510 and at[train].max() == 509
    np.testing.assert_array_equal(inputs[train], changed_inputs[train])
    np.testing.assert_array_equal(values[at[train]], changed_targets[train])
    # Chronological: every training target precedes every validation target, and so on.
    assert at[train].max() < at[parts["validation"]].min() <= at[parts["validation"]].max()
    assert at[parts["validation"]].max() < at[parts["test"]].min()


def test_model_features_use_the_training_scale():
    inputs = np.array([[1.0, 2.0, 4.0]])
    features = timeseries.window_features(inputs, mean=2.0, std=2.0)
    np.testing.assert_allclose(features[0, :, 0], [-1.5, -1.0, 0.0])
    np.testing.assert_allclose(features[0, :, 1], [-0.5, 0.0, 1.0])


def test_regime_sequences_are_seeded():
    values, labels = regime_sequences(4, length=50, seed=3)
    again, again_labels = regime_sequences(4, length=50, seed=3)
    np.testing.assert_array_equal(values, again)
    np.testing.assert_array_equal(labels, again_labels)
    volatile = np.abs(np.diff(values, axis=1))[labels[:, 1:] == 1].mean()
    calm = np.abs(np.diff(values, axis=1))[labels[:, 1:] == 0].mean()
    assert volatile > 2 * calm


def test_labelling_against_its_baselines(tmp_path):
    result = timeseries.run(task="labelling", train_sequences=40, validation_sequences=8,
                            test_sequences=8, sequence_steps=30, run_dir=tmp_path / "label",
                            **TINY)
    test = result.metrics["test"]
    assert test["frames"] == 8 * 30
    _, labels = regime_sequences(56, length=30, seed=1234)
    test_labels = labels[48:]
    majority = np.bincount(labels[:40].ravel()).argmax()
    assert test["majority_baseline_accuracy"] == pytest.approx((test_labels == majority).mean())
    assert 0 <= test["model_accuracy"] <= 1
    assert 0.5 <= test["jump_threshold_baseline_accuracy"] <= 1


@pytest.mark.parametrize(
    "kwargs, match",
    [({"task": "forecast"}, "`task`"), ({"window": 0}, "`window`"),
     ({"task": "labelling", "data": "x.csv"}, "`data`"), ({"horizon": 1.5}, "`horizon`")],
)
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        timeseries.run(run_dir=tmp_path / "run", **{**TINY, **kwargs})


def test_cli_with_a_csv_column(tmp_path, capsys):
    path = tmp_path / "prices.csv"
    rng = np.random.default_rng(0)
    rows = "\n".join(f"{day},{100 + value:.3f}" for day, value in
                     enumerate(np.cumsum(rng.normal(size=120))))
    path.write_text("day,close\n" + rows + "\n")
    status = main(["timeseries", "train", "--data", str(path), "--column", "close", "--window", "8",
                   "--horizon", "2", "--units", "4", "--epochs", "1",
                   "--run-dir", str(tmp_path / "run"), "--verbose", "0"])
    assert status == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["test"]["windows"] == 18  # targets at rows 102..119
    assert main(["timeseries", "train", "--data", str(path), "--column", "open",
                 "--run-dir", str(tmp_path / "other")]) == 2
    assert "The columns are ['day', 'close']" in capsys.readouterr().err
