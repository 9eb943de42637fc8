"""generate-from-vector trains on the process's Keras backend; its model loads and runs there
(tests/backend_e2e.py)."""

import pytest

from tests.backend_e2e import BACKEND, config_of, loads_and_runs, train


@pytest.mark.backends
def test_generate_from_vector_trains_then_loads(tmp_path):
    run_dir = tmp_path / "run"
    out = train("generate-from-vector", "train", "--max-digits", "2", "--feature-dim", "8",
                "--units", "4", "--train-size", "30", "--validation-size", "5",
                "--test-size", "5", "--epochs", "1", "--batch-size", "8", "--run-dir", run_dir)
    assert "held-out strings" in out
    assert config_of(run_dir)["backend"] == BACKEND
    loads_and_runs(run_dir)
