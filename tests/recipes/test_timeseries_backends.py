"""timeseries trains on the process's Keras backend and exports on TensorFlow
(tests/backend_e2e.py)."""

import numpy as np
import pytest

from tests.backend_e2e import BACKEND, config_of, serve, train


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
