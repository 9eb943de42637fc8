"""bench/backends.py: the same command per backend, its epoch times and metric read back."""

import json
import pathlib
import shutil
import sys

from seqrecipes.datasets import sample_path
from seqrecipes.recipes.ner import data as ner_data

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "bench"))
import backends  # noqa: E402


def test_train_command_names_the_files_the_backend_and_the_epoch_cap(tmp_path):
    command = backends.train_command("tinyshakespeare", "jax", tmp_path, tmp_path / "r", 2,
                                     ["--seed", "7"])
    assert command[1:5] == ["-m", "seqrecipes", "char-lm", "train"]
    assert command[command.index("--data") + 1] == str(tmp_path / "tinyshakespeare" / "input.txt")
    assert command[command.index("--epochs") + 1] == "2"
    assert command[command.index("--backend") + 1] == "jax"
    assert command[-2:] == ["--seed", "7"]
    nsmc = backends.train_command("nsmc", "tensorflow", tmp_path, tmp_path / "r", None, [])
    assert nsmc[nsmc.index("--test") + 1] == str(tmp_path / "nsmc" / "ratings_test.txt.gz")
    assert "--epochs" not in nsmc


def test_one_row_per_backend_with_epoch_seconds_and_the_metric(tmp_path, capsys):
    folder = tmp_path / "data" / "conll2003"
    folder.mkdir(parents=True)
    for role, name in (("train", "train.txt"), ("dev", "valid.txt"), ("test", "test.txt")):
        shutil.copy(sample_path(ner_data.SAMPLES[role]), folder / name)
    status = backends.main(["--data", "conll2003", "--data-dir", str(tmp_path / "data"),
                            "--epochs", "2", "--scratch", str(tmp_path / "runs"),
                            "--results", str(tmp_path / "backends.json"),
                            "--", "--units", "8"])
    output = capsys.readouterr().out
    rows = json.loads((tmp_path / "backends.json").read_text())["rows"]
    assert status == 0, output
    assert [row["backend"] for row in rows] == ["tensorflow", "jax"]
    for row in rows:
        assert row["epochs"] == 2 and row["first_epoch_seconds"] > 0
        assert 0 <= row["metric"] <= 1 and row["metric_name"] == "test entity F1"
        assert row["command"].endswith("--units 8")
    assert "conll2003: TensorFlow / JAX: later epochs" in output
