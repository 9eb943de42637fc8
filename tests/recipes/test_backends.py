"""`--backend`: which Keras backend a training runs on, chosen before Keras loads.

The end-to-end tests, one recipe per file, are tests/recipes/**/test_*_backends.py
(helpers in tests/backend_e2e.py).
"""

import json

import pytest

from seqrecipes.recipes.engine import backend as _backend
from tests.backend_e2e import BACKEND, OTHER_BACKEND
from tests.cli_runner import run_main


def test_backend_flag_refuses_an_unknown_backend(tmp_path):
    status, _, err = run_main("sentiment", "train", "--backend", "torch",
                              "--run-dir", tmp_path / "run")
    assert status == 2
    assert "--backend" in err and "'torch'" in err and "jax" in err
    assert not (tmp_path / "run").exists()


def test_backend_flag_is_refused_when_keras_runs_another(tmp_path):
    other = OTHER_BACKEND
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
    other = OTHER_BACKEND
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
