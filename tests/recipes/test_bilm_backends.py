"""bilm trains on the process's Keras backend; its model loads and runs there
(tests/backend_e2e.py)."""

import pytest

from tests.backend_e2e import BACKEND, config_of, loads_and_runs, train


@pytest.mark.backends
def test_bilm_trains_then_loads(tmp_path):
    run_dir = tmp_path / "run"
    train("bilm", "train", "--units", "4", "--epochs", "1", "--run-dir", run_dir)
    assert config_of(run_dir)["backend"] == BACKEND
    loads_and_runs(run_dir)
