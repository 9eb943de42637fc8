import inspect

import pandas
import pytest

from seqrecipes import cli
from seqrecipes.recipes import generate_from_vector
from seqrecipes.recipes.engine import artifacts as _artifacts

# Strings of 1 to 3 digits from 16-wide vectors: learns within seconds.
TINY = dict(max_digits=3, feature_dim=16, noise=0.05, units=32, embedding_dim=8,
            train_size=800, validation_size=50, test_size=100, epochs=10, batch_size=32,
            learning_rate=0.01, patience=10, seed=3, verbose=0)


def test_learns_to_generate_strings_it_never_saw(tmp_path):
    result = generate_from_vector.run(run_dir=tmp_path / "run", **TINY)
    # Measured: 0.87 to 0.89 (seeds 3, 4, 5); a decoder that ignores the vector gets about
    # 1 in 1000 right.
    assert result.metrics["exact_match"] >= 0.6
    assert len(result.metrics["token_accuracy_by_position"]) == 4  # 3 digits and the end
    table = pandas.read_csv(result.run_dir / "predictions.tsv", sep="\t", dtype=str,
                            keep_default_na=False)
    assert (table["correct"] == "True").mean() == pytest.approx(result.metrics["exact_match"])
    assert {"accuracy.png", "training_curves.png"} <= {p.name for p in result.run_dir.iterdir()}
    run = _artifacts.load_run(result.run_dir)
    assert run.model.get_layer("initial_h").units == 32 and run.config["noise"] == 0.05


def test_cli_runs_one_epoch_with_a_gru(tmp_path, capsys):
    status = cli.main([
        "generate-from-vector", "train", "--max-digits", "2", "--feature-dim", "8", "--cell", "gru",
        "--units", "4", "--train-size", "30", "--validation-size", "5", "--test-size", "5",
        "--epochs", "1", "--batch-size", "8", "--run-dir", str(tmp_path / "run"),
    ])
    assert status == 0
    assert "held-out strings" in capsys.readouterr().out
    # A second run into the same directory is refused without --overwrite.
    status = cli.main(["generate-from-vector", "train", "--run-dir", str(tmp_path / "run")])
    assert status == 2
    assert "--overwrite" in capsys.readouterr().err


@pytest.mark.parametrize("name, value", [("noise", -0.1), ("feature_dim", 0), ("cell", "x")])
def test_bad_arguments(tmp_path, name, value):
    with pytest.raises(ValueError, match=f"`{name}`"):
        generate_from_vector.run(run_dir=tmp_path / "run", **{**TINY, name: value})
    assert not (tmp_path / "run").exists()


def test_flags_match_run_arguments():
    parser = cli.build_parser()
    action = next(a for a in parser._actions if a.dest == "recipe")
    # --strategy is applied around run() by the CLI, not passed to it
    recipe = action.choices["generate-from-vector"]
    commands = next(a for a in recipe._actions if a.dest == "command")
    flags = {a.dest for a in commands.choices["train"]._actions}
    flags -= {"help", "strategy", "quiet", "backend"}  # the backend is chosen before
    assert flags == set(inspect.signature(generate_from_vector.run).parameters)
