"""Every recipe trains on the Keras backend of the process, and its run serves afterwards.

The end-to-end tests (`@pytest.mark.backends`) run twice in CI: in the normal run (TensorFlow)
and again with `KERAS_BACKEND=jax python -m pytest -m backends`. Each trains a tiny run
in-process on whichever backend the process has, checks that config.json records it, then
serves the run: `evaluate` / `predict` / `sample` run on TensorFlow (a saved model splits raw
strings with TensorFlow's string ops), in-process on TensorFlow and, in a JAX process, through
the command line in a new process whose KERAS_BACKEND=jax the command line overrides.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from seqrecipes.recipes.engine import artifacts as _artifacts
from seqrecipes.recipes.engine import backend as _backend
from tests.cli_runner import run_main

BACKEND = keras.backend.backend()
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _environment(**extra):
    environ = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3", **extra)
    return environ


def serve(*argv):
    """`seqrecipes ARGV` for a serving verb: (status, stdout, stderr), in-process on
    TensorFlow, else in a new process (Keras here is loaded on another backend)."""
    if BACKEND == _backend.SERVING_BACKEND:
        return run_main(*argv)
    done = subprocess.run(
        [sys.executable, "-m", "seqrecipes", *map(str, argv)], capture_output=True, text=True,
        env=_environment(KERAS_BACKEND=BACKEND), cwd=ROOT, timeout=300,
    )
    return done.returncode, done.stdout, done.stderr


def train(*argv):
    status, out, err = run_main(*argv, "--verbose", "0")
    assert status == 0, err
    return out


def config_of(run_dir):
    return json.loads((run_dir / "config.json").read_text(encoding="utf-8"))


SENTIMENT_MODELS = {
    "nbsvm": [],  # the default family
    "cnn": ["--model", "cnn", "--filters", "4", "--embedding-dim", "4"],
    "bilstm": ["--model", "lstm", "--bidirectional", "--units", "4", "--embedding-dim", "4"],
}


@pytest.mark.backends
@pytest.mark.parametrize("family", sorted(SENTIMENT_MODELS))
def test_sentiment_trains_then_predicts_and_evaluates(tmp_path, family):
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


@pytest.mark.backends
def test_ner_trains_then_evaluates(tmp_path):
    run_dir = tmp_path / "run"
    train("ner", "train", "--epochs", "1", "--units", "4", "--embedding-dim", "4",
          "--run-dir", run_dir)
    config = config_of(run_dir)
    assert config["backend"] == BACKEND
    status, out, err = serve("ner", "predict", run_dir, "Peter lives in Paris")
    assert status == 0, err
    assert json.loads(out.splitlines()[0])["tokens"] == ["Peter", "lives", "in", "Paris"]


@pytest.mark.backends
def test_char_lm_trains_then_samples(tmp_path):
    run_dir = tmp_path / "run"
    train("char-lm", "train", "--units", "6", "--embedding-dim", "4", "--sequence-length",
          "10", "--batch-size", "4", "--epochs", "1", "--sample-length", "10",
          "--run-dir", run_dir)
    assert config_of(run_dir)["backend"] == BACKEND
    status, out, err = serve("char-lm", "sample", run_dir, "--prompt", "TOBIAS:", "--length",
                             "12", "--seed", "1")
    assert status == 0, err
    assert out.startswith("TOBIAS:") and len(out.rstrip("\n")) >= len("TOBIAS:") + 10


@pytest.mark.backends
def test_seq2seq_trains_then_predicts(tmp_path):
    run_dir = tmp_path / "run"
    out = train("seq2seq", "train", "--task", "addition", "--max-digits", "2", "--units", "4",
                "--train-size", "40", "--validation-size", "8", "--test-size", "8",
                "--epochs", "1", "--batch-size", "8", "--run-dir", run_dir)
    assert "test exact match" in out
    assert config_of(run_dir)["backend"] == BACKEND
    status, out, err = serve("seq2seq", "predict", run_dir, "12+34")
    assert status == 0, err
    assert len(out.splitlines()) == 1


@pytest.mark.backends
def test_timeseries_trains_then_exports(tmp_path):
    path = tmp_path / "prices.csv"
    values = 100 + np.cumsum(np.random.default_rng(0).normal(size=120))
    path.write_text("close\n" + "\n".join(f"{value:.3f}" for value in values) + "\n")
    run_dir = tmp_path / "run"
    train("timeseries", "train", "--data", path, "--column", "close", "--window", "8",
          "--units", "4", "--epochs", "1", "--run-dir", run_dir)
    assert config_of(run_dir)["backend"] == BACKEND
    status, _, err = serve("timeseries", "export", run_dir, tmp_path / "export")
    assert status == 0, err
    assert (tmp_path / "export" / "saved_model.pb").is_file()


def _loads_and_runs(run_dir):
    """The run's model.keras loads on this process's backend and runs on a batch of ones
    (3 steps where the length is free), one array per named input."""
    model = _artifacts.load_run(run_dir).model
    inputs = {layer.name: np.ones((2, *(size or 3 for size in layer.shape[1:])), layer.dtype)
              for layer in model.inputs}
    outputs = keras.tree.flatten(model(inputs))
    assert outputs and all(np.isfinite(keras.ops.convert_to_numpy(output)).all()
                           for output in outputs)


@pytest.mark.backends
def test_generate_from_vector_trains_then_loads(tmp_path):
    run_dir = tmp_path / "run"
    out = train("generate-from-vector", "train", "--max-digits", "2", "--feature-dim", "8",
                "--units", "4", "--train-size", "30", "--validation-size", "5",
                "--test-size", "5", "--epochs", "1", "--batch-size", "8", "--run-dir", run_dir)
    assert "held-out strings" in out
    assert config_of(run_dir)["backend"] == BACKEND
    _loads_and_runs(run_dir)


@pytest.mark.backends
def test_bilm_trains_then_loads(tmp_path):
    run_dir = tmp_path / "run"
    train("bilm", "train", "--units", "4", "--epochs", "1", "--run-dir", run_dir)
    assert config_of(run_dir)["backend"] == BACKEND
    _loads_and_runs(run_dir)


# --- the flag ---------------------------------------------------------------------------


def test_backend_flag_refuses_an_unknown_backend(tmp_path):
    status, _, err = run_main("sentiment", "train", "--backend", "torch",
                              "--run-dir", tmp_path / "run")
    assert status == 2
    assert "--backend" in err and "'torch'" in err and "jax" in err
    assert not (tmp_path / "run").exists()


def test_backend_flag_is_refused_when_keras_runs_another(tmp_path):
    other = "jax" if BACKEND == "tensorflow" else "tensorflow"
    status, _, err = run_main("timeseries", "train", "--backend", other,
                              "--run-dir", tmp_path / "run")
    assert status == 2
    assert f"imported Keras with the {BACKEND!r} backend" in err
    assert f"--backend {other}" in err and "new process" in err
    assert not (tmp_path / "run").exists()


def test_choose_takes_the_flag_then_the_environment_then_the_default(monkeypatch):
    monkeypatch.setattr(_backend, "loaded", lambda: None)  # as before Keras is imported
    environ = {}
    assert _backend.choose(None, default="jax", environ=environ) == "jax"
    assert environ == {"KERAS_BACKEND": "jax"}
    environ = {"KERAS_BACKEND": "tensorflow"}
    assert _backend.choose(None, default="jax", environ=environ) == "tensorflow"
    assert _backend.choose("jax", environ=environ) == "jax"
    assert environ == {"KERAS_BACKEND": "jax"}
    with pytest.raises(_backend.BackendError, match="KERAS_BACKEND='torch'"):
        _backend.choose(None, environ={"KERAS_BACKEND": "torch"})


def test_choose_names_the_extra_when_jax_is_missing(monkeypatch):
    from seqrecipes.errors import MissingDependencyError

    monkeypatch.setattr(_backend, "loaded", lambda: None)
    monkeypatch.setattr(_backend.importlib.util, "find_spec", lambda name: None)
    environ = {}
    with pytest.raises(MissingDependencyError, match=r'pip install "seqrecipes\[jax\]"'):
        _backend.choose("jax", environ=environ)
    assert environ == {}  # nothing set: Keras is not half-configured
    # A recipe whose default is JAX trains on TensorFlow where JAX is not installed.
    assert _backend.choose(None, default="jax", environ=environ) == "tensorflow"
    assert environ == {"KERAS_BACKEND": "tensorflow"}


def test_a_resume_on_another_backend_is_refused(tmp_path):
    """An interrupted run resumes on the backend it started on only (other dropout masks)."""
    from seqrecipes.errors import RunDirectoryError
    from seqrecipes.recipes.engine import lock as _lock
    from seqrecipes.recipes.engine import training as _training

    run_dir = tmp_path / "run"
    other = "jax" if BACKEND == "tensorflow" else "tensorflow"
    state = {"config": {"seed": 1, "backend": other}, "history": [], "epochs_done": 0,
             "best_value": None, "best_epoch": None, "best_weights": None,
             "last_weights": None, "wait": 0, "stopped_early": False}
    (run_dir / ".training").mkdir(parents=True)
    (run_dir / ".training" / _training.STATE_FILE).write_text(json.dumps(state))
    try:
        with pytest.raises(RunDirectoryError, match=f"`backend`: {other!r} then, "
                           f"{BACKEND!r} now"):
            _training.prepare_run_dir(run_dir, {"seed": 1})
        config = {"seed": 1}
        _training.prepare_run_dir(run_dir, config, overwrite=True)  # the way out
        assert config["backend"] == BACKEND
    finally:
        _lock.release(run_dir)


@pytest.mark.skipif(BACKEND != "tensorflow", reason="trains on TensorFlow, then predicts under "
                    "a JAX environment in a new process")
def test_predict_under_a_jax_environment_runs_on_tensorflow(tmp_path):
    pytest.importorskip("jax")
    run_dir = tmp_path / "run"
    train("sentiment", "train", "--epochs", "1", "--run-dir", run_dir)
    done = subprocess.run(
        [sys.executable, "-m", "seqrecipes", "sentiment", "predict", str(run_dir), "Great"],
        capture_output=True, text=True, env=_environment(KERAS_BACKEND="jax"), cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["text"] == "Great"


def test_strategy_mirrored_on_jax_trains_data_parallel(tmp_path):
    """Two fake CPU devices: `--strategy mirrored` on JAX is keras.distribution.DataParallel."""
    pytest.importorskip("jax")
    run_dir = tmp_path / "run"
    argv = ["sentiment", "train", "--backend", "jax", "--strategy", "mirrored", "--model",
            "cnn", "--filters", "4", "--embedding-dim", "4", "--epochs", "1", "--verbose", "0",
            "--run-dir", str(run_dir)]
    done = subprocess.run(
        [sys.executable, "-m", "seqrecipes", *argv], capture_output=True, text=True, cwd=ROOT,
        env=_environment(XLA_FLAGS="--xla_force_host_platform_device_count=2"), timeout=300,
    )
    assert done.returncode == 0, done.stderr
    config = config_of(run_dir)
    assert config["backend"] == "jax"
    assert config["distribution"] == {"strategy": "mirrored", "keras_distribution": "DataParallel",
                                      "replicas": 2, "workers": 1}
    done = subprocess.run(
        [sys.executable, "-m", "seqrecipes", *argv[:-2], "--strategy", "multi-worker",
         "--run-dir", str(tmp_path / "other")],
        capture_output=True, text=True, cwd=ROOT, env=_environment(), timeout=300,
    )
    assert done.returncode == 2
    assert "--strategy multi-worker trains on the TensorFlow backend only" in done.stderr
