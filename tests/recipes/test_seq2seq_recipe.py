import inspect
import json

import pandas
import pytest

from seqrecipes import cli
from seqrecipes.recipes import seq2seq
from seqrecipes.recipes.engine import artifacts as _artifacts

# A tiny reversal setting that learns within seconds: strings of 1 to 4 digits, 2000 of them.
TINY = dict(task="reverse", max_digits=4, cell="lstm", units=32, embedding_dim=16,
            train_size=2000, validation_size=100, test_size=200, epochs=6, batch_size=32,
            learning_rate=0.01, patience=6, seed=3, verbose=0)


def test_learns_to_reverse_digit_strings(tmp_path):
    result = seq2seq.run(run_dir=tmp_path / "run", **TINY)
    # Measured: 0.99 to 1.0 (seeds 3, 4, 5). Without the encoder's states the decoder cannot
    # know the digits and stays below 0.01; 0.8 leaves room for platform differences.
    assert result.metrics["exact_match"] >= 0.8
    assert result.metrics["token_accuracy"] >= result.metrics["exact_match"]
    names = {path.name for path in result.run_dir.iterdir()}
    assert {"model.keras", "config.json", "metrics.json", "history.csv", "run.json",
            "training_curves.png", "accuracy.png", "predictions.tsv"} <= names
    run = _artifacts.load_run(result.run_dir)  # safe_mode=True
    assert run.config["task"] == "reverse" and run.metrics == json.loads(
        (result.run_dir / "metrics.json").read_text())
    table = pandas.read_csv(result.run_dir / "predictions.tsv", sep="\t", dtype=str,
                            keep_default_na=False)
    assert len(table) == 200
    assert (table["correct"] == "True").mean() == pytest.approx(result.metrics["exact_match"])
    # `predict` reloads the run and decodes as the evaluation did.
    sources = table["source"][:20].tolist()
    assert seq2seq.predict(result.run_dir, sources) == table["prediction"][:20].tolist()
    by_length = result.metrics["exact_match_by_length"]
    assert set(by_length) <= {1, 2, 3, 4}
    # Early stopping watched the validation exact match and kept its best epoch.
    best = max(result.history, key=lambda row: row["val_exact_match"])
    assert result.metrics["best_epoch"] == best["epoch"]


def test_cli_bidirectional_two_layer_gru(tmp_path, capsys):
    status = cli.main([
        "seq2seq", "train", "--task", "addition", "--max-digits", "2", "--cell", "gru", "--units", "4",
        "--encoder-layers", "2", "--bidirectional", "--train-size", "40",
        "--validation-size", "8", "--test-size", "8", "--epochs", "1", "--batch-size", "8",
        "--verbose", "1", "--run-dir", str(tmp_path / "run"),
    ])
    assert status == 0
    assert "test exact match" in capsys.readouterr().out
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["bidirectional"] is True and config["encoder_layers"] == 2
    run = _artifacts.load_run(tmp_path / "run")
    assert run.model.get_layer("decoder_rnn").units == 8  # 2 * units: states concatenated


def test_cli_error_shape(tmp_path, capsys):
    status = cli.main(["seq2seq", "train", "--task", "dates", "--max-digits", "3",
                       "--run-dir", str(tmp_path / "run")])
    assert status == 2
    assert "seqrecipes: error: `--max-digits`" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("name, value", [("units", 0), ("train_size", -1),
                                         ("cell", "rnn"), ("bidirectional", "yes")])
def test_bad_arguments_are_refused_before_anything_is_written(tmp_path, name, value):
    with pytest.raises(ValueError, match=f"`{name}`"):
        seq2seq.run(run_dir=tmp_path / "run", **{**TINY, name: value})
    assert not (tmp_path / "run").exists()


def test_flags_match_run_arguments():
    parser = cli.build_parser()
    action = next(a for a in parser._actions if a.dest == "recipe")
    # --strategy is applied around run() by the CLI, not passed to it
    commands = next(a for a in action.choices["seq2seq"]._actions if a.dest == "command")
    flags = {a.dest for a in commands.choices["train"]._actions}
    flags -= {"help", "strategy", "quiet", "backend"}  # the backend is chosen before
    assert flags == set(inspect.signature(seq2seq.run).parameters)
