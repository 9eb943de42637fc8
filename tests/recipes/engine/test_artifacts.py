import json
import os

import numpy as np
import pytest

import keras

from seqrecipes.errors import RunDirectoryError
from seqrecipes.recipes.engine import artifacts as _artifacts
from seqrecipes.recipes.engine import plots as _plots


def tiny_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="dense")])
    return model


def write(run_dir, model=None, metrics=None):
    history = [{"epoch": 1, "loss": 0.9, "val_loss": 1.0}, {"epoch": 2, "loss": 0.5,
                                                            "val_loss": 0.7}]
    return _artifacts.write_run(
        run_dir,
        model=model or tiny_model(),
        config={"recipe": "test", "seed": 1},
        metrics=metrics or {"accuracy": 0.5},
        history=history,
        figures={"training_curves.png": _plots.training_curves(history)},
    )


def test_round_trip(tmp_path):
    model = tiny_model()
    run_dir = write(tmp_path / "run", model)
    names = sorted(path.name for path in run_dir.iterdir())
    assert names == ["config.json", "history.csv", "metrics.json", "model.keras", "run.json",
                     "training_curves.png"]
    run = _artifacts.load_run(run_dir)
    x = np.ones((1, 3), "float32")
    np.testing.assert_allclose(run.model(x), model(x))
    assert run.config["versions"]["keras"] == keras.__version__
    assert run.metrics == {"accuracy": 0.5}
    assert list(run.history()["val_loss"]) == [1.0, 0.7]
    assert not list(tmp_path.glob(".run.*")), "no staging directory is left behind"


def test_crash_while_writing_keeps_the_previous_run(tmp_path, monkeypatch):
    run_dir = write(tmp_path / "run", metrics={"accuracy": 0.5})

    class Boom(Exception):
        pass

    def crash(*args, **kwargs):
        raise Boom

    monkeypatch.setattr(_artifacts, "_fsync_tree", crash)
    with pytest.raises(Boom):
        write(run_dir, metrics={"accuracy": 0.9})
    assert _artifacts.load_run(run_dir).metrics == {"accuracy": 0.5}
    assert not list(tmp_path.glob(".run.*"))


def test_a_staging_folder_left_by_a_killed_write_is_removed_by_the_next(tmp_path):
    leftover = tmp_path / ".run.staging-0badf00d"  # what kill -9 during write_run leaves
    (leftover / "model.keras").parent.mkdir()
    (leftover / "model.keras").write_bytes(b"half")
    other = tmp_path / ".other.staging-12345678"  # another run's: not ours to remove
    other.mkdir()
    write(tmp_path / "run")
    assert not leftover.exists() and other.exists()


def test_crash_between_the_two_renames_is_recovered(tmp_path, monkeypatch):
    run_dir = write(tmp_path / "run", metrics={"accuracy": 0.5})
    real_rename = os.rename
    calls = []

    def rename(source, target):
        calls.append(target)
        if len(calls) == 2:  # the new run's rename: the machine "dies" here
            raise KeyboardInterrupt
        real_rename(source, target)

    monkeypatch.setattr(_artifacts.os, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        write(run_dir, metrics={"accuracy": 0.9})
    monkeypatch.setattr(_artifacts.os, "rename", real_rename)
    assert not run_dir.exists()
    assert _artifacts.load_run(run_dir).metrics == {"accuracy": 0.5}


def test_incomplete_and_missing_runs_are_refused_with_the_reason(tmp_path):
    with pytest.raises(RunDirectoryError, match="No run directory"):
        _artifacts.load_run(tmp_path / "nothing")
    (tmp_path / "partial" / ".training").mkdir(parents=True)
    with pytest.raises(RunDirectoryError, match="run the same train command again to resume"):
        _artifacts.load_run(tmp_path / "partial")


def test_damaged_file_is_detected(tmp_path):
    run_dir = write(tmp_path / "run")
    (run_dir / "metrics.json").write_text('{"accuracy": 1.0, "forged": true}')
    with pytest.raises(RunDirectoryError, match="metrics.json has changed since the run was written"):
        _artifacts.load_run(run_dir)


@pytest.mark.parametrize("run_format, message", [(99, "Upgrade seqrecipes"), (0, "Retrain")])
def test_other_run_formats_name_both_versions(tmp_path, run_format, message):
    run_dir = write(tmp_path / "run")
    manifest = json.loads((run_dir / "run.json").read_text())
    manifest["format"] = run_format
    manifest["versions"]["seqrecipes"] = "9.9.9"
    (run_dir / "run.json").write_text(json.dumps(manifest))
    with pytest.raises(RunDirectoryError, match=f"seqrecipes 9.9.9.*{message}"):
        _artifacts.load_run(run_dir)


def test_a_model_file_with_code_is_refused_and_the_code_never_runs(tmp_path):
    marker = tmp_path / "code-ran"

    def side_effect(x):
        marker.write_text("the Lambda ran")
        return x * 2

    model = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda x: side_effect(x)),
                              keras.layers.Dense(2)])
    marker.unlink()  # building the model ran it once, here, on purpose
    run_dir = write(tmp_path / "run", model)
    with pytest.raises(RunDirectoryError, match=r"model.keras holds Python code.*safe_mode=True"):
        _artifacts.load_run(run_dir)
    assert not marker.exists()


def test_a_run_from_other_package_versions_in_a_readable_format_loads(tmp_path):
    run_dir = write(tmp_path / "run")
    manifest = json.loads((run_dir / "run.json").read_text())
    manifest["versions"].update(seqrecipes="0.0.1", keras="3.0.0", tensorflow="2.16.1")
    (run_dir / "run.json").write_text(json.dumps(manifest))
    assert _artifacts.load_run(run_dir).metrics == {"accuracy": 0.5}


def test_an_unreadable_model_names_the_versions_that_differ(tmp_path):
    import zipfile

    run_dir = write(tmp_path / "run")
    with zipfile.ZipFile(run_dir / "model.keras", "w") as archive:  # a zip, not a model
        archive.writestr("notes.txt", "not a model")
    manifest = json.loads((run_dir / "run.json").read_text())
    manifest["files"]["model.keras"] = {
        "bytes": (run_dir / "model.keras").stat().st_size,
        "sha256": _artifacts._sha256(run_dir / "model.keras"),
    }
    manifest["versions"]["keras"] = "3.0.0"
    (run_dir / "run.json").write_text(json.dumps(manifest))
    with pytest.raises(RunDirectoryError, match=rf"keras 3.0.0 then, {keras.__version__} now"):
        _artifacts.load_run(run_dir)
