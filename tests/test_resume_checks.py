"""What a rerun of `train` does with an interrupted run, and what `load` does with a damaged one,
through the command line (`engine/resume.py`, `engine/fingerprint.py`, `artifacts.load_run`).

Every refusal exits with status 2 before any work, names the file or the flag, and leaves the
run directory byte for byte as it was: the interrupted run still resumes once its data is put
back, and a complete run still loads once its file is restored.
"""

import json
import os
import pathlib
import shutil

import keras
import pandas as pd
import pytest
from cli_runner import run_main

from seqrecipes.datasets import sample_path
from seqrecipes.recipes.engine import artifacts as _artifacts
from seqrecipes.recipes.engine import training as _training
from seqrecipes.recipes.sentiment import training as _sentiment_train

# The smallest sentiment run that trains; three epochs so an interrupted one has some left.
FLAGS = ["--model", "fasttext", "--embedding-dim", "8", "--verbose", "0", "--seed", "5",
         "--epochs", "3", "--patience", "3", "--baseline", "none"]
TRAIN = ["sentiment", "train", "--data", "data.csv", "--test", "test.csv", "--run-dir", "run",
         *FLAGS]
STATE = pathlib.Path("run") / ".training"


class Interrupt(keras.callbacks.Callback):
    """Ctrl-C at the start of the second epoch: the first one is committed."""

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt


def _write_data(folder):
    table = pd.read_csv(sample_path("sentiment_en"), keep_default_na=False)
    test = table.groupby("label").head(10)
    table.drop(test.index).groupby("label").head(40).to_csv(folder / "data.csv", index=False)
    test.to_csv(folder / "test.csv", index=False)


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    """A folder holding data.csv, test.csv and run/, a run interrupted after epoch 1."""
    folder = tmp_path_factory.mktemp("interrupted")
    _write_data(folder)
    fit = _training.fit_resumable

    def interrupted_fit(*args, **kwargs):
        return fit(*args, **{**kwargs, "callbacks": [*kwargs["callbacks"], Interrupt()]})

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.setattr(_sentiment_train._training, "fit_resumable", interrupted_fit)
        status, _, err = run_main(*TRAIN)
    assert status == 130, err
    assert json.loads((folder / STATE / "state.json").read_text())["epochs_done"] == 1
    return folder


@pytest.fixture
def work(interrupted, tmp_path, monkeypatch):
    """A copy of `interrupted` as the working directory."""
    folder = tmp_path / "work"
    shutil.copytree(interrupted, folder)
    monkeypatch.chdir(folder)
    return folder


def snapshot(folder):
    """{relative path: bytes} of every file under `folder`."""
    return {str(path.relative_to(folder)): path.read_bytes()
            for path in sorted(pathlib.Path(folder).rglob("*")) if path.is_file()}


def refused(argv, *expected):
    """Runs `argv`, asserts status 2, every `expected` text in the message, and that the run
    directory was left byte for byte as it was."""
    before = snapshot("run")
    status, out, err = run_main(*argv)
    assert status == 2, (out, err)
    assert err.startswith("seqrecipes: error: ") and "Traceback" not in err
    for text in expected:
        assert text in err, err
    assert snapshot("run") == before
    return err


def resumes(argv=TRAIN):
    status, out, err = run_main(*argv)
    assert status == 0, err
    assert "3 epochs, resumed after epoch 1" in out
    assert _artifacts.load_run("run").metrics["best_epoch"] >= 1
    return out


def swap_labels(path):
    """The same file with every label swapped (the same size, other content)."""
    text = path.read_text()
    swapped = text.replace(",1\n", ",\0\n").replace(",0\n", ",1\n").replace(",\0\n", ",0\n")
    assert len(swapped) == len(text) and swapped != text
    path.write_text(swapped)


def test_the_labels_are_0_and_1_at_the_ends_of_lines(interrupted):  # as swap_labels needs
    assert set(pd.read_csv(interrupted / "data.csv")["label"]) == {0, 1}


# --- Data or settings changed: refused, then resumed once put back ---------------------------


def test_data_edited_at_the_same_size_is_refused_and_resumes_once_put_back(work):
    original = (work / "data.csv").read_bytes()
    swap_labels(work / "data.csv")
    err = refused(TRAIN, "--data", "'data.csv'", "content changed (same size", "--overwrite",
                  "another `--run-dir`")
    assert "To resume it, run it with the settings and files it started with" in err
    (work / "data.csv").write_bytes(original)  # put back (a new modification time)
    resumes()


def test_a_row_added_to_the_data_is_refused_naming_both_sizes(work):
    size = (work / "data.csv").stat().st_size
    with open(work / "data.csv", "a") as handle:
        handle.write("a new review,1\n")
    refused(TRAIN, "`--data` file 'data.csv'", f"{size:,} bytes then, {size + 15:,} bytes now")


def test_a_data_file_that_is_gone_is_named(work):
    (work / "data.csv").rename(work / "moved.csv")
    refused(TRAIN, "`--data`: no such file: 'data.csv'")  # the arguments' check comes first


def test_a_changed_test_file_is_named(work):
    swap_labels(work / "test.csv")
    refused(TRAIN, "`--test` file 'test.csv'", "content changed")


def test_another_data_file_is_a_changed_setting(work):
    shutil.copy(work / "data.csv", work / "other.csv")
    argv = [*TRAIN]
    argv[argv.index("data.csv")] = "other.csv"
    err = refused(argv, "`--data`: 'data.csv' then, 'other.csv' now")
    assert "file" not in err.split("now")[1].split(".")[0]  # the setting, not its files again


def test_a_changed_model_setting_is_named_then_and_now(work):
    argv = [*TRAIN]
    argv[argv.index("--embedding-dim") + 1] = "16"
    refused(argv, "`--embedding-dim`: 8 then, 16 now", "--overwrite")


def test_several_changes_are_all_named(work):
    swap_labels(work / "data.csv")
    swap_labels(work / "test.csv")
    argv = [*TRAIN]
    argv[argv.index("--seed") + 1] = "6"
    refused(argv, "`--seed`: 5 then, 6 now", "`--data` file", "`--test` file")


def test_a_touched_data_file_and_another_verbosity_resume(work):
    os.utime(work / "data.csv", (1, 1))  # another modification time, the same content
    argv = [*TRAIN]
    argv[argv.index("--verbose") + 1] = "2"
    resumes(argv)


def test_overwrite_discards_the_state_of_a_run_that_cannot_resume(work):
    swap_labels(work / "data.csv")
    status, out, err = run_main(*TRAIN, "--overwrite")
    assert status == 0, err
    assert "Discarded the training state" in out and "resumed" not in out
    assert not (work / STATE).exists()
    assert _artifacts.load_run("run").config["data"] == "data.csv"


def test_overwrite_starts_afresh_even_when_the_run_could_resume(work):
    status, out, err = run_main(*TRAIN, "--overwrite")
    assert status == 0, err
    assert "Discarded the training state" in out and "resumed" not in out
    assert list(_artifacts.load_run("run").history()["epoch"]) == [1, 2, 3]


# --- A damaged training state: named, with the same two ways out ----------------------------


def _state(work):
    return json.loads((work / STATE / "state.json").read_text())


def _write_state(work, state):
    (work / STATE / "state.json").write_text(json.dumps(state))


@pytest.mark.parametrize(
    "content, expected",
    [
        (b'{"config": {"recipe": "sent', "not JSON"),  # truncated
        (b"", "not JSON"),  # zeroed to nothing
        (b"\xff\xfe\x00garbage", "not JSON"),  # not even UTF-8
        (b"[1, 2, 3]", "a JSON list where an object is expected"),
        (b"null", "a JSON NoneType where an object is expected"),
    ],
)
def test_a_state_file_that_is_not_a_state_is_named(work, content, expected):
    (work / STATE / "state.json").write_bytes(content)
    refused(TRAIN, "state.json", "is damaged", expected, "--overwrite", "another `--run-dir`")


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda state: state.pop("epochs_done"), "no epochs_done"),
        (lambda state: state.pop("history"), "no history"),
        (lambda state: state.update(epochs_done="one"), "epochs_done='one'"),
        (lambda state: state.update(epochs_done=True), "epochs_done=True"),
        (lambda state: state.update(config=[1]), "config=[1]"),
        (lambda state: state.update(last_weights=None), "no weights are named"),
        (lambda state: state.update(inputs=[1]), "inputs=[1]"),
        (lambda state: state.update(inputs={"data": {"data.csv": 7}}), "inputs="),
        (lambda state: state.update(checksums={"x": 1}), "checksums="),
    ],
)
def test_a_state_with_the_wrong_structure_is_named(work, change, expected):
    state = _state(work)
    change(state)
    _write_state(work, state)
    refused(TRAIN, "state.json", "is damaged", expected, "--overwrite")


def _weights(work, key):
    return work / STATE / _state(work)[key]


@pytest.mark.parametrize("key", ["last_weights", "best_weights"])
def test_a_missing_weights_file_is_named(work, key):
    path = _weights(work, key)
    path.unlink()
    refused(TRAIN, path.name, "is missing", "--overwrite")


@pytest.mark.parametrize(
    "damage, expected",
    [
        (lambda data: data[: len(data) // 2], "has changed since it was written"),
        (lambda data: bytes(len(data)), "its SHA-256 differs"),  # zeroed at the same size
        (lambda data: data[:-1] + bytes([data[-1] ^ 1]), "its SHA-256 differs"),  # one bit
    ],
)
def test_a_damaged_weights_file_is_named(work, damage, expected):
    path = _weights(work, "last_weights")
    path.write_bytes(damage(path.read_bytes()))
    refused(TRAIN, path.name, expected, "--overwrite")


def test_a_truncated_weights_file_without_a_checksum_is_named_when_loaded(work):
    state = _state(work)  # as a state written before checksums were kept
    del state["checksums"]
    _write_state(work, state)
    path = _weights(work, "last_weights")
    path.write_bytes(path.read_bytes()[:100])
    err = refused(TRAIN, path.name, "does not fit the model", "--overwrite")
    assert "truncated file" in err  # h5py's reason, on one line


def test_weights_of_another_vocabulary_are_named_not_dumped(work):
    """The issue's case, for a state written before input files were fingerprinted: the
    labels and words edited, the vocabulary comes out another size, and Keras would say "A
    total of 2 objects could not be loaded" with the tensors."""
    state = _state(work)
    del state["inputs"]
    _write_state(work, state)
    table = pd.read_csv(work / "data.csv")
    table["text"] = table["text"] + " zebra quokka"  # new words, in the vocabulary
    table.to_csv(work / "data.csv", index=False)
    err = refused(TRAIN, "does not fit the model", "has shape", "another model or vocabulary",
                  "--overwrite")
    assert "objects could not be loaded" not in err and "Variable path" not in err


# --- A complete run checked by content before `load`, `predict`, `evaluate`, `export` --------


@pytest.fixture(scope="module")
def complete(tmp_path_factory):
    folder = tmp_path_factory.mktemp("complete")
    _write_data(folder)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        status, _, err = run_main(*TRAIN[:-4], "--epochs", "1", "--patience", "1")
    assert status == 0, err
    return folder


@pytest.fixture
def run_copy(complete, tmp_path, monkeypatch):
    shutil.copytree(complete, tmp_path / "work")
    monkeypatch.chdir(tmp_path / "work")
    return tmp_path / "work" / "run"


USES = {
    "predict": ["sentiment", "predict", "run", "a fine film"],
    "evaluate": ["sentiment", "evaluate", "run", "test.csv"],
    "export": ["sentiment", "export", "run", "exported"],
    "explain": ["sentiment", "explain", "run", "a fine film"],
}


def zero(path):
    path.write_bytes(bytes(path.stat().st_size))


@pytest.mark.parametrize("use", sorted(USES))
@pytest.mark.parametrize("name", ["config.json", "metrics.json", "model.keras", "history.csv"])
def test_a_run_file_zeroed_at_the_same_size_is_named(run_copy, use, name):
    zero(run_copy / name)
    refused(USES[use], f"{name} has changed since the run was written", "the same size",
            "SHA-256")
    assert not pathlib.Path("exported").exists()


def test_a_run_file_that_is_missing_is_named(run_copy):
    (run_copy / "training_curves.png").unlink()
    refused(USES["predict"], "training_curves.png is missing")


def test_a_run_file_that_grew_is_named_with_both_sizes(run_copy):
    size = (run_copy / "metrics.json").stat().st_size
    with open(run_copy / "metrics.json", "a") as handle:
        handle.write(" ")
    refused(USES["evaluate"], f"{size:,} bytes then, {size + 1:,} now")


@pytest.mark.parametrize(
    "content, expected",
    [
        ("[1, 2, 3]", "a JSON list where an object is expected"),
        ('{"format": 1, "files": {"', "it is not JSON"),
        ("", "it is not JSON"),
        ('{"files": {}}', "names no run format"),
        ('{"format": 1, "files": [1]}', "files=[1]"),
        ('{"format": 1, "files": {"model.keras": {"bytes": "9"}}}', "not a table of sizes"),
        ('{"format": 1, "files": {}, "versions": "x"}', "versions='x'"),
    ],
)
def test_a_damaged_manifest_is_named(run_copy, content, expected):
    (run_copy / "run.json").write_text(content)
    refused(USES["predict"], "run.json", "is damaged", expected)


def test_a_truncated_model_whose_manifest_was_updated_is_named_as_truncated(run_copy):
    model = run_copy / "model.keras"
    model.write_bytes(model.read_bytes()[:1000])
    manifest = json.loads((run_copy / "run.json").read_text())
    manifest["files"]["model.keras"] = {"bytes": 1000, "sha256": _artifacts._sha256(model)}
    (run_copy / "run.json").write_text(json.dumps(manifest))
    err = refused(USES["predict"], "model.keras", "is not a readable .keras file",
                  "truncated or damaged")
    assert "File not found" not in err


def test_a_run_restored_from_a_copy_loads_again(run_copy, complete):
    original = (run_copy / "config.json").read_bytes()
    zero(run_copy / "config.json")
    refused(USES["predict"], "config.json")
    (run_copy / "config.json").write_bytes(original)
    status, out, err = run_main(*USES["predict"])
    assert status == 0, err
    assert "label" in json.loads(out.splitlines()[0])


def test_a_run_without_sha256_in_its_manifest_loads_on_sizes(run_copy):
    manifest = json.loads((run_copy / "run.json").read_text())
    for entry in manifest["files"].values():
        del entry["sha256"]
    (run_copy / "run.json").write_text(json.dumps(manifest))
    status, _, err = run_main(*USES["predict"])
    assert status == 0, err


def _fake_run(folder, recipe):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    return _artifacts.write_run(folder / "run", model=model, config={"recipe": recipe},
                                metrics={})


@pytest.mark.parametrize(
    "argv",
    [
        ["ner", "predict", "run", "EU rejects German call"],
        ["ner", "evaluate", "run"],
        ["ner", "export", "run", "exported"],
        ["char-lm", "sample", "run"],
        ["seq2seq", "predict", "run", "abc"],
        ["inspect-cells", "run", "--run-dir", "inspected"],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_every_recipe_that_reads_a_run_checks_it_by_content(tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    run_dir = _fake_run(tmp_path, argv[0].replace("-", "_"))
    zero(run_dir / "config.json")
    refused(argv, "config.json has changed since the run was written")
