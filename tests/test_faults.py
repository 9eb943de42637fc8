"""Faults around every command that writes, through the command line: a folder that is not
only ours, a name too long, a parent that is a file, a lock held by another process, a full
disk, a read-only or missing directory. Each case exits with status 2 and
``seqrecipes: error: <message naming the path and the flag>``, and what was written before
(a run, an export, a user's files) is unchanged.

Two tiny runs (sentiment, NER) and their exports are made once for the module; most cases fail
before any training. A full disk is simulated (`shutil.disk_usage`, or an OSError from the
writer) and a read-only directory is a real one (skipped as root, who ignores permission
bits): the suite must not need to mount a file system.
"""

import errno
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import pytest
from cli_runner import run_main
import tensorflow as tf

from seqrecipes.recipes import ner, sentiment
from seqrecipes.recipes.engine import artifacts as _artifacts
from seqrecipes.recipes.engine import lock as _lock
from seqrecipes.recipes.engine import os_errors as _os_errors

REPO = pathlib.Path(__file__).resolve().parents[1]
SENTIMENT_TINY = ["--model", "fasttext", "--embedding-dim", "8", "--verbose", "0", "--seed", "3",
                  "--epochs", "1"]
NER_TINY = ["--char-features", "none", "--embedding-dim", "4", "--units", "4", "--verbose",
            "0", "--batch-size", "8", "--epochs", "1"]
CONLL = "\n".join(["Ada B-PER", "Lovelace I-PER", "met O", "Paris B-LOC", "today O", ""] * 8)
ROOT = os.geteuid() == 0
TOO_LONG = 250  # bytes: a name that fits NAME_MAX (255) but not its staging sibling


def refused(*argv):
    """Runs ARGV, checks it was refused cleanly, and returns the one-line message."""
    status, out, err = run_main(*argv)
    assert status == 2, (status, out[-500:], err[-2000:])
    assert err.startswith("seqrecipes: error: "), err[:2000]
    assert "Traceback" not in err and 'File "' not in err, err[:2000]
    return err[len("seqrecipes: error: "):]


def succeeded(*argv):
    status, out, err = run_main(*argv)
    assert status == 0, err[-2000:]
    return out


def snapshot(folder):
    """{relative path: bytes} of every file under `folder`."""
    return {path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def hidden_siblings(folder):
    return sorted(path.name for path in folder.parent.iterdir()
                  if path.name.startswith(f".{folder.name}."))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("faults")


@pytest.fixture(scope="module")
def runs(folder):
    """A sentiment run and an NER run, each trained one epoch on tiny data."""
    train = folder / "ner_train.conll"
    train.write_text(CONLL)
    succeeded("sentiment", "train", "--run-dir", folder / "sentiment_run", *SENTIMENT_TINY)
    succeeded("ner", "train", "--train", train, "--run-dir", folder / "ner_run", *NER_TINY)
    return {"sentiment": folder / "sentiment_run", "ner": folder / "ner_run",
            "ner_train": train}


@pytest.fixture(scope="module")
def exports(folder, runs):
    """The SavedModel export of each run."""
    made = {}
    for recipe in ("sentiment", "ner"):
        made[recipe] = folder / f"{recipe}_export"
        succeeded(recipe, "export", runs[recipe], made[recipe])
    return made


@pytest.fixture
def run_copy(runs, tmp_path):
    """A copy of the sentiment run, for the cases that damage or extend their run."""
    return pathlib.Path(shutil.copytree(runs["sentiment"], tmp_path / "run"))


def train_sentiment(run_dir, *flags):
    return ("sentiment", "train", "--run-dir", run_dir, *SENTIMENT_TINY, *flags)


def loads_as_before(run_dir, before):
    assert snapshot(run_dir) == before
    assert sentiment.load(run_dir).predict(["good"])  # still a working run


# --- Run directories: refused before training ---------------------------------------------

@pytest.mark.parametrize("foreign", ["NOTES.txt", "other_model/w.bin"])
def test_overwrite_never_deletes_a_file_that_is_not_ours(run_copy, foreign):
    (run_copy / foreign).parent.mkdir(exist_ok=True)
    (run_copy / foreign).write_text("mine")
    before = snapshot(run_copy)
    message = refused(*train_sentiment(run_copy, "--overwrite"))
    assert f"`--run-dir`: {str(run_copy.resolve())!r} holds a run directory and files that " \
           f"seqrecipes did not write ({foreign})" in message
    assert not (run_copy / ".training").exists()  # refused before training
    loads_as_before(run_copy, before)


def test_a_complete_run_needs_overwrite(run_copy):
    before = snapshot(run_copy)
    message = refused(*train_sentiment(run_copy))
    assert "already holds a run directory" in message and "--overwrite" in message
    loads_as_before(run_copy, before)


def test_a_folder_of_someone_else_is_never_a_run_directory(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("mine")
    message = refused(*train_sentiment(tmp_path / "mine", "--overwrite"))
    assert "is not a seqrecipes run directory (it holds thesis.tex)" in message
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "mine"


def test_a_run_directory_name_too_long_is_refused_before_training(tmp_path):
    run_dir = tmp_path / ("r" * TOO_LONG)
    message = refused(*train_sentiment(run_dir))
    assert f"`--run-dir`: the run directory name 'rrrr" in message
    assert f"is {TOO_LONG} bytes long" in message and "(NAME_MAX)" in message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["parent", "grandparent"])
def test_a_run_directory_under_a_file_names_the_file(tmp_path, where):
    (tmp_path / "file").write_text("mine")
    run_dir = tmp_path / "file" / "run" if where == "parent" else tmp_path / "file" / "a" / "b"
    message = refused(*train_sentiment(run_dir))
    assert f"`--run-dir`: {str(tmp_path / 'file')!r} is a file" in message
    assert (tmp_path / "file").read_text() == "mine"


def test_a_run_directory_that_is_a_file(tmp_path):
    (tmp_path / "run").write_text("mine")
    assert "is a file, not a directory" in refused(*train_sentiment(tmp_path / "run"))
    assert (tmp_path / "run").read_text() == "mine"


@pytest.mark.skipif(ROOT, reason="root ignores permission bits")
def test_a_run_directory_in_a_read_only_directory(tmp_path):
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro").chmod(0o500)
    try:
        message = refused(*train_sentiment(tmp_path / "ro" / "run"))
    finally:
        (tmp_path / "ro").chmod(0o700)
    assert "`--run-dir`: permission denied" in message and "ro" in message


# --- The lock: a second train on the same run directory stops at once ---------------------

@pytest.fixture
def lock_holder():
    processes = []

    def start(folder):
        code = textwrap.dedent(f"""
            from seqrecipes.recipes.engine import lock
            lock.acquire({str(folder)!r})
            print("held", flush=True)
            import time
            time.sleep(600)
        """)
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(
            filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        process = subprocess.Popen(
            [sys.executable, "-c", code, "sentiment", "train", "--run-dir", str(folder)],
            stdout=subprocess.PIPE, env=environment)
        processes.append(process)
        assert process.stdout.readline() == b"held\n"
        return process

    yield start
    for process in processes:
        process.kill()
        process.wait(60)


def test_a_second_train_on_a_run_directory_in_use_stops_before_reading_data(
        run_copy, lock_holder, tmp_path):
    before = snapshot(run_copy)
    other = lock_holder(run_copy.resolve())
    # An empty data file: the refusal comes before anything reads it.
    (tmp_path / "empty.csv").write_text("")
    message = refused(*train_sentiment(run_copy, "--overwrite", "--data",
                                       tmp_path / "empty.csv"))
    assert f"is in use by process {other.pid} on " in message
    assert f"sentiment train --run-dir {run_copy.resolve()}" in message
    assert "--run-dir" in message
    loads_as_before(run_copy, before)
    other.kill()
    other.wait(60)
    # the dead process's lock is taken over: the same command now reaches the data
    assert "empty.csv: the file is empty" in refused(
        *train_sentiment(run_copy, "--overwrite", "--data", tmp_path / "empty.csv"))
    assert not _lock.lock_path(run_copy).exists()  # released and removed


def test_an_export_in_progress_refuses_a_second_one(runs, lock_holder, tmp_path):
    target = tmp_path / "served"
    other = lock_holder(target.resolve())
    message = refused("sentiment", "export", runs["sentiment"], target)
    assert f"`DIR`: {str(target.resolve())!r} is in use by process {other.pid}" in message
    assert not target.exists()


# --- A full disk while training and while writing the run --------------------------------

def test_a_full_disk_at_an_epoch_commit_stops_cleanly(run_copy, monkeypatch):
    before = snapshot(run_copy)
    full = shutil.disk_usage(run_copy)._replace(free=4096)
    monkeypatch.setattr(_os_errors.shutil, "disk_usage", lambda path: full)
    message = refused(*train_sentiment(run_copy, "--overwrite"))
    assert f"`--run-dir`: no space left on the device that holds {str(run_copy)!r} while " \
           "writing the training state" in message
    assert "4,096 bytes free" in message
    # no weights file was started: HDF5 is never left to fail half-way (see callbacks)
    assert not list((run_copy / ".training").glob("*.h5"))
    loads_as_before(run_copy, {**before})


def test_a_full_disk_while_writing_the_run_keeps_the_previous_run(run_copy, monkeypatch):
    before = snapshot(run_copy)
    real = _artifacts._write_json

    def write_json(path, data):
        if path.name == "metrics.json":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(_artifacts, "_write_json", write_json)
    message = refused(*train_sentiment(run_copy, "--overwrite"))
    assert f"`--run-dir`: no space left on the device that holds {str(run_copy)!r}" in message
    assert hidden_siblings(run_copy) == []  # the staging copy is gone
    # the previous run is whole; the finished training state waits beside it
    assert {name: data for name, data in snapshot(run_copy).items()
            if not name.startswith(".training/")} == before
    assert sentiment.load(run_copy).predict(["good"])


# --- Exports ------------------------------------------------------------------------------

@pytest.mark.parametrize("recipe", ["sentiment", "ner"])
def test_an_export_lists_its_files_in_its_manifest(exports, recipe):
    listed = _artifacts.export_files(exports[recipe])
    assert "saved_model.pb" in listed and _artifacts.EXPORT_MANIFEST in listed
    assert any(name.startswith("variables/") for name in listed)


@pytest.mark.parametrize("recipe", ["sentiment", "ner"])
def test_export_overwrite_never_deletes_files_that_are_not_ours(runs, exports, tmp_path,
                                                                recipe):
    target = pathlib.Path(shutil.copytree(exports[recipe], tmp_path / "served"))
    (target / "NOTES.txt").write_text("mine")
    (target / "other_model").mkdir()
    (target / "other_model" / "w.bin").write_bytes(b"\0\1")
    before = snapshot(target)
    message = refused(recipe, "export", runs[recipe], target, "--overwrite")
    assert f"`DIR`: {str(target.resolve())!r} holds an export and files that seqrecipes did " \
           "not write (NOTES.txt, other_model/w.bin)" in message
    assert snapshot(target) == before
    tf.saved_model.load(str(target))  # the export still serves


@pytest.mark.parametrize("recipe", ["sentiment", "ner"])
def test_export_without_overwrite_keeps_the_export(runs, exports, tmp_path, recipe):
    target = pathlib.Path(shutil.copytree(exports[recipe], tmp_path / "served"))
    before = snapshot(target)
    message = refused(recipe, "export", runs[recipe], target)
    assert "already holds an export" in message and "--overwrite" in message
    assert snapshot(target) == before


def test_an_export_of_the_previous_version_is_still_ours(runs, exports, tmp_path):
    target = pathlib.Path(shutil.copytree(exports["sentiment"], tmp_path / "served"))
    (target / _artifacts.EXPORT_MANIFEST).unlink()  # as written before the manifest existed
    assert (target / "assets.extra" / "seqrecipes.json").is_file()
    succeeded("sentiment", "export", runs["sentiment"], target, "--overwrite")
    assert (target / _artifacts.EXPORT_MANIFEST).is_file()
    (target / _artifacts.EXPORT_MANIFEST).unlink()
    (target / "NOTES.txt").write_text("mine")
    assert "(NOTES.txt)" in refused("sentiment", "export", runs["sentiment"], target,
                                    "--overwrite")
    assert (target / "NOTES.txt").read_text() == "mine"


@pytest.mark.parametrize("recipe", ["sentiment", "ner"])
def test_an_export_name_too_long_is_refused_before_exporting(runs, tmp_path, recipe):
    message = refused(recipe, "export", runs[recipe], tmp_path / ("e" * TOO_LONG))
    assert "`DIR`: the export name 'eeee" in message and "NAME_MAX" in message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("recipe", ["sentiment", "ner"])
def test_an_export_under_a_file_names_the_file(runs, tmp_path, recipe):
    (tmp_path / "file").write_text("mine")
    message = refused(recipe, "export", runs[recipe], tmp_path / "file" / "served")
    assert f"`DIR`: {str(tmp_path / 'file')!r} is a file" in message
    assert (tmp_path / "file").read_text() == "mine"


@pytest.mark.parametrize("recipe", ["sentiment", "ner"])
def test_a_full_disk_while_exporting_keeps_the_previous_export(runs, exports, tmp_path,
                                                              monkeypatch, recipe):
    import keras

    target = pathlib.Path(shutil.copytree(exports[recipe], tmp_path / "served"))
    before = snapshot(target)

    def export(self, path, **kwargs):  # what TensorFlow raised on a full disk
        pathlib.Path(path).mkdir()
        (pathlib.Path(path) / "saved_model.pb").write_bytes(b"half")
        raise tf.errors.ResourceExhaustedError(
            None, None, f"{path}/variables/variables.data-00000-of-00001.tempstate; No space "
            "left on device")

    monkeypatch.setattr(keras.Model, "export", export)
    message = refused(recipe, "export", runs[recipe], target, "--overwrite")
    assert f"`DIR`: no space left on the device that holds {str(target.resolve())!r}" \
        in message
    assert snapshot(target) == before and hidden_siblings(target) == []
    tf.saved_model.load(str(target))


def test_leftovers_of_killed_exports_are_removed_by_the_next(runs, exports, tmp_path):
    target = pathlib.Path(shutil.copytree(exports["sentiment"], tmp_path / "served"))
    shutil.copytree(exports["sentiment"], tmp_path / ".served.staging-0badf00d")
    shutil.copytree(exports["sentiment"], tmp_path / ".served.old-0badf00d")  # older version
    succeeded("sentiment", "export", runs["sentiment"], target, "--overwrite")
    assert hidden_siblings(target) == []
    tf.saved_model.load(str(target))


# --- Output files: --output, --html, --png ------------------------------------------------

def test_predict_output_under_a_file(runs, tmp_path):
    (tmp_path / "file").write_text("mine")
    message = refused("ner", "predict", runs["ner"], "Ada met Paris", "--output",
                      tmp_path / "file" / "out.jsonl")
    assert f"`--output`: {str(tmp_path / 'file')!r} is a file" in message


def test_predict_output_that_is_a_directory(runs, tmp_path):
    message = refused("ner", "predict", runs["ner"], "Ada met Paris", "--output", tmp_path)
    assert f"`--output`: {str(tmp_path)!r} is a directory" in message


def test_predict_output_in_a_missing_directory(runs, tmp_path):
    message = refused("ner", "predict", runs["ner"], "Ada met Paris", "--output",
                      tmp_path / "missing" / "out.jsonl")
    assert "`--output`: the directory" in message and "does not exist" in message


def test_explain_html_in_a_missing_directory(runs, tmp_path):
    message = refused("sentiment", "explain", runs["sentiment"], "good film", "--steps", "4",
                      "--html", tmp_path / "missing" / "why.html")
    assert "`--html`: the directory" in message and "why.html" in message


def test_explain_png_on_a_full_disk(runs, tmp_path, monkeypatch):
    import matplotlib.figure

    def savefig(self, path, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)
    message = refused("sentiment", "explain", runs["sentiment"], "good film", "--steps", "4",
                      "--png", tmp_path / "why.png")
    assert "`--png`: no space left on the device" in message and "why.png" in message
