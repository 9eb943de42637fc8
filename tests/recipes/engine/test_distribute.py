"""`--strategy`: the helper (`recipes/_strategy.py`) and two real workers on 127.0.0.1."""

import json
import os
import pathlib
import socket
import subprocess
import sys

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from seqrecipes.datasets import sample_path
from seqrecipes.errors import SeqrecipesError
from seqrecipes.recipes.engine import artifacts as _artifacts
from seqrecipes.recipes.engine import strategy as _strategy
from seqrecipes.recipes.engine import training as _training

REPO = pathlib.Path(__file__).resolve().parents[3]
TINY = ["--model", "fasttext", "--embedding-dim", "4", "--max-tokens", "50", "--verbose", "0", "--seed", "3",
        "--epochs", "1"]
WORKERS_TIMEOUT_S = 120  # each worker takes ~15 s on an idle 2-core machine


@pytest.mark.parametrize(
    "value, fragment",
    [
        (None, "it is not set"),
        ("{cluster", "not JSON"),
        ('{"task": {"type": "worker", "index": 0}}', 'no "cluster"'),
        ('{"cluster": {"worker": ["127.0.0.1"]}, "task": {"type": "worker", "index": 0}}',
         "host:port"),
        ('{"cluster": {"worker": ["127.0.0.1:1"]}}', 'no "task"'),
        ('{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 1}}',
         "is not in"),
    ],
)
def test_bad_tf_config_is_a_clear_error(value, fragment):
    environ = {} if value is None else {"TF_CONFIG": value}
    with pytest.raises(SeqrecipesError, match="TF_CONFIG") as error:
        _strategy.read_tf_config(environ)
    assert fragment in str(error.value)
    assert '"cluster": {"worker"' in str(error.value)  # the format, to copy


def test_multi_worker_without_tf_config_fails_before_tensorflow(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(SeqrecipesError, match="TF_CONFIG environment variable"):
        _strategy.make_strategy("multi-worker")


def test_unknown_strategy_is_rejected():
    with pytest.raises(ValueError, match="strategy"):
        _strategy.make_strategy("tpu")


def test_data_sharding_policy_is_set():
    dataset = _strategy.shard_by_data(tf.data.Dataset.range(3))
    policy = dataset.options().experimental_distribute.auto_shard_policy
    assert policy == tf.data.experimental.AutoShardPolicy.DATA


def _fit_tiny(tmp_path, strategy_name):
    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    y = (x.sum(axis=1) > 0).astype("float32")
    train = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    with _strategy.distributed(strategy_name, tmp_path / strategy_name,
                               devices=["/cpu:0"]) as run_dir:
        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
                                  keras.layers.Dropout(0.2), keras.layers.Dense(1)])
        model.compile(keras.optimizers.Adam(0.05), loss="mse")
        state_dir = _training.prepare_run_dir(run_dir, {"s": 1})
        result = _training.fit_resumable(
            model, train, validation_data=train, epochs=2, state_dir=state_dir,
            config={"s": 1}, seed=1, verbose=0,
        )
    return model, result


def test_mirrored_on_one_cpu_trains_like_default(tmp_path):
    default_model, default_result = _fit_tiny(tmp_path, "default")
    mirrored_model, mirrored_result = _fit_tiny(tmp_path, "mirrored")
    assert isinstance(mirrored_model.distribute_strategy, tf.distribute.MirroredStrategy)
    assert not isinstance(default_model.distribute_strategy, tf.distribute.MirroredStrategy)
    for default, mirrored in zip(default_model.get_weights(), mirrored_model.get_weights()):
        np.testing.assert_allclose(default, mirrored, rtol=1e-5, atol=1e-6)
    assert [row["loss"] for row in default_result.history] == pytest.approx(
        [row["loss"] for row in mirrored_result.history], rel=1e-5
    )
    # the chief wrote the training state into its own run directory
    assert (tmp_path / "mirrored" / _artifacts.TRAINING_STATE_DIR / "state.json").is_file()


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _stream_files(folder):
    """The English sample as two training shards (streamed), a validation and a test file."""
    table = pd.read_csv(sample_path("sentiment_en"), keep_default_na=False)
    table = table.sample(frac=1, random_state=0)
    table[:40].to_csv(folder / "test.csv", index=False)
    table[40:80].to_csv(folder / "valid.csv", index=False)
    table[80:200].to_csv(folder / "train-0.csv", index=False)
    table[200:].to_csv(folder / "train-1.csv", index=False)
    return ["--stream", "--data", str(folder / "train-*.csv"), "--validation",
            str(folder / "valid.csv"), "--test", str(folder / "test.csv")]


@pytest.mark.parametrize("stream", [False, True], ids=["in-memory", "stream"])
def test_two_workers_train_sentiment_and_agree(tmp_path, stream):
    """Chief and worker train one epoch together; the worker keeps its run only for this test.

    The worker's run goes to `$SEQRECIPES_WORKER_RUN_DIR` (instead of a temporary folder it
    deletes), so both workers' final weights are compared as each saved them, loaded the same
    way (`load_run`). Streamed shards are split between the workers by tf.data's DATA
    auto-sharding, which leaves them uneven batch counts: the epoch must still end together.
    """
    data = _stream_files(tmp_path) if stream else []
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    chief_dir, worker_dir = tmp_path / "chief", tmp_path / "worker"
    processes, logs = [], []
    try:
        for index in range(2):
            environ = {
                **os.environ,
                "TF_CONFIG": json.dumps({"cluster": cluster,
                                         "task": {"type": "worker", "index": index}}),
                "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
                "TF_CPP_MIN_LOG_LEVEL": "3",
                "CUDA_VISIBLE_DEVICES": "",
            }
            if index == 1:
                environ[_strategy.WORKER_RUN_DIR_VARIABLE] = str(worker_dir)
            log = open(tmp_path / f"worker-{index}.log", "w+")
            logs.append(log)
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "seqrecipes", "sentiment", "train", "--run-dir",
                 str(chief_dir), "--strategy", "multi-worker", *TINY, *data],
                env=environ, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
            ))
        codes = [process.wait(timeout=WORKERS_TIMEOUT_S) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        for log in logs:
            log.close()
    outputs = [(tmp_path / f"worker-{index}.log").read_text()[-3000:] for index in range(2)]
    assert codes == [0, 0], outputs
    chief = _artifacts.load_run(chief_dir)
    worker = _artifacts.load_run(worker_dir)
    assert chief.config["epochs"] == 1
    chief_weights, worker_weights = chief.model.get_weights(), worker.model.get_weights()
    assert len(chief_weights) == len(worker_weights) > 0
    for mine, theirs in zip(chief_weights, worker_weights):
        np.testing.assert_array_equal(mine, theirs)
    assert chief.metrics["epochs_trained"] == worker.metrics["epochs_trained"] == 1
    assert chief.metrics["sizes"] == worker.metrics["sizes"]
    assert chief.config["distribution"] == {
        "strategy": "multi-worker", "tf_strategy": "CollectiveAllReduceStrategy", "replicas": 2,
        "workers": 2}


def test_crf_tagger_trains_under_mirrored_strategy_like_default(tmp_path):
    """The NER recipe's CRF model (custom `train_step`) under a one-CPU MirroredStrategy."""
    from seqrecipes.cli import main

    tiny = ["--embedding-dim", "4", "--units", "4", "--char-embedding-dim", "4",
            "--char-filters", "4", "--batch-size", "16", "--verbose", "0", "--epochs", "1"]
    for name in ("default", "mirrored"):
        assert main(["ner", "train", "--run-dir", str(tmp_path / name), "--strategy", name,
                     *tiny]) == 0
    default, mirrored = (_artifacts.load_run(tmp_path / name) for name in ("default", "mirrored"))
    assert default.config["crf"] and mirrored.config["crf"]
    for mine, theirs in zip(default.model.get_weights(), mirrored.model.get_weights()):
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-5)


def test_resuming_a_multi_worker_run_is_refused_before_tensorflow_starts(tmp_path, monkeypatch):
    state = tmp_path / "run" / ".training" / "state.json"
    state.parent.mkdir(parents=True)
    state.write_text("{}")
    cluster = {"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]},
               "task": {"type": "worker", "index": 0}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(cluster))
    with pytest.raises(SeqrecipesError, match="resuming a multi-worker run is not supported"):
        with _strategy.distributed("multi-worker", tmp_path / "run"):
            pass
