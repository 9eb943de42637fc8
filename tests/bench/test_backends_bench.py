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


def test_a_row_with_epoch_seconds_and_the_metric_from_a_real_run(tmp_path, capsys):
    """One real child run (TensorFlow, the embedded NER sample as a CoNLL-2003 folder): the
    row is read back from its history.csv and metrics.json. The JAX child is left to the
    end-to-end tests (tests/recipes/*backends*), which train every recipe on JAX in CI."""
    folder = tmp_path / "data" / "conll2003"
    folder.mkdir(parents=True)
    for role, name in (("train", "train.txt"), ("dev", "valid.txt"), ("test", "test.txt")):
        shutil.copy(sample_path(ner_data.SAMPLES[role]), folder / name)
    status = backends.main(["--data", "conll2003", "--data-dir", str(tmp_path / "data"),
                            "--backends", "tensorflow", "--epochs", "2",
                            "--scratch", str(tmp_path / "runs"),
                            "--results", str(tmp_path / "backends.json"),
                            "--", "--units", "4", "--embedding-dim", "4"])
    output = capsys.readouterr().out
    rows = json.loads((tmp_path / "backends.json").read_text())["rows"]
    assert status == 0, output
    assert [row["backend"] for row in rows] == ["tensorflow"]
    row = rows[0]
    history = (tmp_path / "runs").glob("conll2003_tensorflow_*/run/history.csv")
    seconds = backends.epoch_seconds(next(history).parent)
    assert row["epochs"] == 2 and row["first_epoch_seconds"] == round(seconds[0], 1) > 0
    assert row["later_epoch_seconds"] == round(seconds[1], 2)
    assert 0 <= row["metric"] <= 1 and row["metric_name"] == "test entity F1"
    assert row["command"].endswith("--units 4 --embedding-dim 4")
    assert row["cpu_seconds"] > 0 and row["seconds"] >= row["epoch_seconds_total"]


def _row(backend, seconds, cpu, later, metric):
    return {"data": "conll2003", "backend": backend, "seconds": seconds, "cpu_seconds": cpu,
            "later_epoch_seconds": later, "metric": metric, "epochs": 3, "capped": False,
            "first_epoch_seconds": 1.0, "epoch_seconds_total": 3.0,
            "metric_name": "test entity F1"}


def test_the_table_prints_each_ratio_tensorflow_over_jax_and_the_target(capsys):
    backends.print_table([_row("tensorflow", 300.0, 200.0, 9.0, 0.8601),
                          _row("jax", 200.0, 250.0, 6.0, 0.8625)], 0.862)
    output = capsys.readouterr().out
    assert ("conll2003: TensorFlow / JAX: later epochs 1.50x, wall 1.50x, CPU 0.80x; metric "
            "0.8601 vs 0.8625") in output
    assert "conll2003 tensorflow: test F1 0.8601 < 0.862 after 5.0 min" in output
    assert "(not reached)" in output.splitlines()[-2]
    assert "conll2003 jax: test F1 0.8625 >= 0.862 after 3.3 min of wall time" in output


def test_a_conll_subset_keeps_whole_documents_up_to_the_size(tmp_path):
    """`--conll-megabytes`: the first documents of train.txt holding at least that much."""
    source = tmp_path / "data" / "conll2003"
    source.mkdir(parents=True)
    document = "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\n\nPeter NNP B-NP B-PER\n\n"
    size = len(document.encode())
    (source / "train.txt").write_text(document * 10, encoding="utf-8")
    (source / "valid.txt").write_text(document * 10, encoding="utf-8")
    (source / "test.txt").write_text(document, encoding="utf-8")
    folder = backends.conll_subset(tmp_path / "data", tmp_path / "scratch", 3.5 * size / 1e6)
    train = (folder / "conll2003" / "train.txt").read_text(encoding="utf-8")
    assert train == document * 4  # 3.5 documents' bytes: the fourth whole document too
    assert (folder / "conll2003" / "valid.txt").read_text(encoding="utf-8") == document
    assert (folder / "conll2003" / "test.txt").read_text(encoding="utf-8") == document
    assert backends.first_documents(source / "train.txt", tmp_path / "t.txt", 1) == (size, 2)
