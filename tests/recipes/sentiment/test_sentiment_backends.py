"""Sentiment trains on the process's Keras backend and serves on TensorFlow (tests/backend_e2e.py);
`--strategy mirrored` on JAX is Keras's own data parallelism."""

import json

import pytest

from tests.backend_e2e import BACKEND, config_of, seqrecipes, serve, train
from tests.cli_runner import run_main

SENTIMENT_MODELS = {
    "nbsvm": [],  # the default family
    "cnn": ["--model", "cnn", "--filters", "4", "--embedding-dim", "4"],
    "bilstm": ["--model", "lstm", "--bidirectional", "--units", "4", "--embedding-dim", "4"],
}


@pytest.mark.backends
@pytest.mark.parametrize("family", sorted(SENTIMENT_MODELS))
def test_sentiment_trains_then_predicts(tmp_path, family):
    run_dir = tmp_path / "run"
    train("sentiment", "train", "--epochs", "1", "--run-dir", run_dir,
          *SENTIMENT_MODELS[family])
    assert config_of(run_dir)["backend"] == BACKEND
    status, out, err = serve("sentiment", "predict", run_dir, "What a wonderful film",
                             "A dull, boring mess")
    assert status == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["text"] for row in rows] == ["What a wonderful film", "A dull, boring mess"]
    assert all(0.0 <= row["probability"] <= 1.0 for row in rows)


@pytest.mark.skipif(BACKEND != "tensorflow", reason="trains on TensorFlow, then predicts under "
                    "a JAX environment in a new process")
def test_predict_under_a_jax_environment_runs_on_tensorflow(tmp_path):
    pytest.importorskip("jax")
    run_dir = tmp_path / "run"
    train("sentiment", "train", "--epochs", "1", "--run-dir", run_dir)
    done = seqrecipes("sentiment", "predict", run_dir, "Great", KERAS_BACKEND="jax")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["text"] == "Great"


@pytest.mark.skipif(BACKEND != "jax", reason="JAX's distribution API; a new process with two "
                    "fake CPU devices (the JAX run of CI)")
@pytest.mark.backends
def test_strategy_mirrored_on_jax_trains_data_parallel(tmp_path):
    """Two fake CPU devices: `--strategy mirrored` on JAX is keras.distribution.DataParallel."""
    run_dir = tmp_path / "run"
    argv = ["sentiment", "train", "--backend", "jax", "--strategy", "mirrored", "--model",
            "cnn", "--filters", "4", "--embedding-dim", "4", "--epochs", "1", "--verbose", "0",
            "--run-dir", run_dir]
    done = seqrecipes(*argv, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    assert done.returncode == 0, done.stderr
    config = config_of(run_dir)
    assert config["backend"] == "jax"
    assert config["distribution"] == {"strategy": "mirrored", "keras_distribution": "DataParallel",
                                      "replicas": 2, "workers": 1}


@pytest.mark.skipif(BACKEND != "jax", reason="the refusal JAX gives (the JAX run of CI)")
@pytest.mark.backends
def test_strategy_multi_worker_on_jax_is_refused(tmp_path):
    status, _, err = run_main("sentiment", "train", "--backend", "jax", "--strategy",
                              "multi-worker", "--run-dir", tmp_path / "run")
    assert status == 2
    assert "--strategy multi-worker trains on the TensorFlow backend only" in err
    assert not (tmp_path / "run").exists()
