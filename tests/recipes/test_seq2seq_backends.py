"""seq2seq trains on the process's Keras backend and predicts on TensorFlow (tests/backend_e2e.py)."""

import pytest

from tests.backend_e2e import BACKEND, config_of, serve, train


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
