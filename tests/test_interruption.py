"""Real process deaths: `kill -9` in the middle of training and in the middle of writing a run;
Ctrl-C (SIGINT) in the middle of training.

The in-process versions (a KeyboardInterrupt or a SIGINT from a callback, an exception between
two renames) are in tests/recipes/engine/test_training.py, tests/recipes/sentiment/
test_sentiment.py and tests/recipes/engine/test_artifacts.py. Here a process gets SIGKILL, so no
`finally`, no `except` and no Keras callback runs: only what was already on disk counts; or
SIGINT, as from Ctrl-C in a terminal.
"""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import keras
import pandas as pd
import pytest

from seqrecipes import cli
from seqrecipes.recipes.engine import artifacts as _artifacts
from seqrecipes.recipes.engine import folders as _folders

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")

REPO = pathlib.Path(__file__).resolve().parents[1]
EPOCHS = 3
# Batches of one text make an epoch of the embedded sample (290 texts) last about half a
# second, long enough for the kill to land inside epoch 2.
FLAGS = ["--epochs", str(EPOCHS), "--patience", str(EPOCHS), "--batch-size", "1",
         "--model", "fasttext", "--embedding-dim", "8", "--verbose", "0", "--seed", "5"]
TIMEOUT = 120  # seconds any one process may take before the test fails instead of hanging


def environment():
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "TF_CPP_MIN_LOG_LEVEL": "3"}


def wait_for(condition, process, what):
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if process.poll() is not None:
            _, err = process.communicate()
            pytest.fail(f"the process ended (status {process.returncode}) before {what}:\n"
                        f"{err.decode(errors='replace')[-3000:]}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"timed out after {TIMEOUT} s waiting for {what}")
        time.sleep(0.005)


def epochs_done(state_path):
    try:
        return json.loads(state_path.read_text())["epochs_done"]
    except (OSError, ValueError, KeyError):  # not written yet
        return 0


def test_sigkill_mid_epoch_then_the_same_command_resumes_and_matches(tmp_path, capsys):
    run_dir = tmp_path / "run"
    argv = ["sentiment", "train", "--run-dir", str(run_dir), *FLAGS]  # the embedded sample
    command = [sys.executable, "-m", "seqrecipes", *argv]
    state_path = run_dir / ".training" / "state.json"

    process = subprocess.Popen(command, cwd=tmp_path, env=environment(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: epochs_done(state_path) >= 1, process, "epoch 1 was committed")
        process.send_signal(signal.SIGKILL)  # kill -9, during epoch 2
        process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    killed_after = epochs_done(state_path)  # >= 1: the kill came after epoch 1's commit
    assert not (run_dir / _artifacts.MANIFEST).exists()  # killed before the run was written
    state = json.loads(state_path.read_text())
    # What kill -9 left is a whole commit: the weights the state names are on disk.
    for key in ("last_weights", "best_weights"):
        assert (state_path.parent / state[key]).is_file(), key
    assert [row["epoch"] for row in state["history"]] == list(range(1, killed_after + 1))
    kept_history = state["history"]

    # The same command again (in this process, to spare a second TensorFlow start-up).
    status = cli.main(argv)
    out = capsys.readouterr().out
    assert status == 0
    assert f"{EPOCHS} epochs, resumed after epoch {killed_after}" in out
    resumed = _artifacts.load_run(run_dir)
    history = resumed.history()
    assert list(history["epoch"]) == list(range(1, EPOCHS + 1))
    # The epochs finished before the kill are kept as they were, not recomputed.
    pd.testing.assert_frame_equal(history.iloc[:killed_after].reset_index(drop=True),
                                  pd.DataFrame(kept_history), check_dtype=False)
    assert not (run_dir / _artifacts.TRAINING_STATE_DIR).exists()

    # An uninterrupted run with the same seed ends in the same place.
    reference_dir = tmp_path / "reference"
    status = cli.main(["sentiment", "train", "--run-dir", str(reference_dir), *FLAGS])
    assert status == 0
    reference = _artifacts.load_run(reference_dir)
    # Every figure but the epochs' wall-clock seconds.
    pd.testing.assert_frame_equal(history.drop(columns="epoch_seconds"),
                                  reference.history().drop(columns="epoch_seconds"))
    assert resumed.metrics["test"] == reference.metrics["test"]
    assert resumed.metrics["best_epoch"] == reference.metrics["best_epoch"]


def test_ctrl_c_mid_epoch_stops_the_command_with_its_finished_epochs_kept(tmp_path):
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "seqrecipes", "sentiment", "train", "--run-dir",
               str(run_dir), *FLAGS]
    state_path = run_dir / ".training" / "state.json"
    # As from a terminal: SIGINT handled by Python (a background job's shell ignores it).
    process = subprocess.Popen(command, cwd=tmp_path, env=environment(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        wait_for(lambda: epochs_done(state_path) >= 1, process, "epoch 1 was committed")
        process.send_signal(signal.SIGINT)  # Ctrl-C, during epoch 2
        _, err = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
    err = err.decode(errors="replace")
    assert process.returncode == 130, err[-3000:]
    assert "Ctrl-C again to stop at once" in err and "seqrecipes: interrupted" in err
    state = json.loads(state_path.read_text())
    # At least the epoch waited for; fewer than all: the SIGINT stopped training mid-run.
    assert 1 <= state["epochs_done"] < EPOCHS, (
        f"epochs committed: {state['epochs_done']} of {EPOCHS}\n{err[-3000:]}")
    for key in ("last_weights", "best_weights"):
        assert (state_path.parent / state[key]).is_file(), key
    assert not (run_dir / _artifacts.MANIFEST).exists()


class _StandInModel:
    def save(self, path):
        pathlib.Path(path).write_bytes(b"not a model")


def rewrite_and_die(run_dir, point):
    """In a forked child: rewrite `run_dir` and SIGKILL this process at `point`."""
    die = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)  # noqa: E731
    _artifacts.package_versions = lambda **_: {"seqrecipes": "test"}  # no TensorFlow in the child
    if point == "staged":  # everything of the new run is written, nothing swapped yet
        _folders.fsync_tree = die
    else:  # "between renames": the old run moved aside, the new one not yet in place
        rename, calls = os.rename, []

        def rename_then_die(source, target):
            calls.append(target)
            if len(calls) == 2:
                die()
            rename(source, target)

        _folders.os.rename = rename_then_die
    _artifacts.write_run(run_dir, model=_StandInModel(), config={"recipe": "test"},
                         metrics={"accuracy": 0.9})


def write_run(run_dir, accuracy):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    return _artifacts.write_run(run_dir, model=model, config={"recipe": "test"},
                                metrics={"accuracy": accuracy})


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")
@pytest.mark.parametrize("point", ["staged", "between renames"])
def test_sigkill_while_writing_a_run_leaves_the_previous_run_loadable(tmp_path, point):
    run_dir = write_run(tmp_path / "run", 0.5)
    # A forked child (no second TensorFlow start-up) that only touches files, then is killed.
    child = os.fork()
    if child == 0:
        try:
            rewrite_and_die(run_dir, point)
        finally:
            os._exit(3)  # reached only if the kill did not happen
    deadline = time.monotonic() + TIMEOUT
    while (result := os.waitpid(child, os.WNOHANG)) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            pytest.fail(f"the writing child hung for {TIMEOUT} s")
        time.sleep(0.01)
    assert os.WIFSIGNALED(result[1]) and os.WTERMSIG(result[1]) == signal.SIGKILL
    assert run_dir.exists() == (point == "staged")
    run = _artifacts.load_run(run_dir)  # puts a moved-aside run back
    assert run.metrics == {"accuracy": 0.5}
    # A later write succeeds next to whatever the killed one left behind.
    write_run(run_dir, 0.7)
    assert _artifacts.load_run(run_dir).metrics == {"accuracy": 0.7}
