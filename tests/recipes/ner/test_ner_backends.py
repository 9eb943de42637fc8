"""NER trains on the process's Keras backend and serves on TensorFlow (tests/backend_e2e.py)."""

import json

import pytest

from tests.backend_e2e import BACKEND, config_of, serve, train


@pytest.mark.backends
def test_ner_trains_then_predicts(tmp_path):
    run_dir = tmp_path / "run"
    train("ner", "train", "--epochs", "1", "--units", "4", "--embedding-dim", "4",
          "--run-dir", run_dir)
    assert config_of(run_dir)["backend"] == BACKEND
    status, out, err = serve("ner", "predict", run_dir, "Peter lives in Paris")
    assert status == 0, err
    assert json.loads(out.splitlines()[0])["tokens"] == ["Peter", "lives", "in", "Paris"]
