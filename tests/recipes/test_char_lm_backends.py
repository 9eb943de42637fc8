"""char-lm trains on the process's Keras backend and samples on TensorFlow (tests/backend_e2e.py)."""

import pytest

from tests.backend_e2e import BACKEND, config_of, serve, train


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
