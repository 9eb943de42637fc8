import json
import math

import numpy as np
import pytest

from seqrecipes.cli import main
from seqrecipes.datasets import load_text, sample_path
from seqrecipes.errors import DataError, InvalidArgumentError, RunDirectoryError
from seqrecipes.recipes import char_lm
from seqrecipes.recipes.engine import artifacts as _artifacts

TINY = dict(units=(8,), embedding_dim=4, sequence_length=20, batch_size=8, epochs=1,
            sample_length=20, verbose=0)


@pytest.fixture(scope="module")
def windows_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("char_lm") / "windows"
    return char_lm.run(run_dir=run_dir, mode="windows", cell="lstm", **TINY)


@pytest.fixture(scope="module")
def stateful_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("char_lm") / "stateful"
    return char_lm.run(run_dir=run_dir, mode="stateful", cell="gru", **TINY)


def test_split_keeps_the_order():
    train, validation = char_lm.split_corpus("abcdefghij", 0.2)
    assert (train, validation) == ("abcdefgh", "ij")


@pytest.mark.parametrize("which", ["windows_run", "stateful_run"])
def test_run_directory_and_metrics(which, request):
    result = request.getfixturevalue(which)
    metrics = result.metrics
    assert metrics["validation_bits_per_char"] == pytest.approx(
        metrics["validation_loss"] / math.log(2)
    )
    assert metrics["validation_perplexity"] == pytest.approx(math.exp(metrics["validation_loss"]))
    text = load_text(sample_path("char_lm"))
    assert metrics["training_characters"] + metrics["validation_characters"] == len(text)
    assert metrics["vocabulary_size"] == len(set(text[: metrics["training_characters"]])) + 2
    # The monitored figure is the mode's own: fresh windows, or the state carried along.
    own = ("validation_loss_carried_state" if which == "stateful_run"
           else "validation_loss_windows")
    assert metrics[own] == pytest.approx(metrics["validation_loss"], rel=1e-4)
    run = _artifacts.load_run(result.run_dir)
    vocabulary = json.loads((result.run_dir / "vocabulary.json").read_text())
    assert vocabulary[:2] == ["", "[UNK]"] and "\n" in vocabulary
    assert run.model.output_shape == (None, None, len(vocabulary))
    assert not any(getattr(layer, "stateful", False) for layer in run.model.layers)
    assert (result.run_dir / "sample.txt").read_text() == "\n" + result.sample + "\n"
    assert len(result.sample) == 20 and set(result.sample) <= set(vocabulary[2:])
    assert (result.run_dir / "training_curves.png").stat().st_size > 0


def test_sample_needs_only_the_run_directory(windows_run):
    first = char_lm.sample(windows_run.run_dir, prompt="MARTHA:", length=40,
                           temperature=0.8, top_k=5, seed=3)
    again = char_lm.sample(str(windows_run.run_dir), prompt="MARTHA:", length=40,
                           temperature=0.8, top_k=5, seed=3)
    assert first == again and len(first) == 40


def test_prompt_with_unknown_characters_is_refused(windows_run):
    with pytest.raises(InvalidArgumentError, match=r"\['#', '@'\]"):
        char_lm.sample(windows_run.run_dir, prompt="a@#")
    with pytest.raises(InvalidArgumentError, match="`prompt`"):
        char_lm.sample(windows_run.run_dir, prompt="")


def test_a_run_of_another_recipe_is_refused(tmp_path, windows_run):
    import shutil

    other = tmp_path / "other"
    shutil.copytree(windows_run.run_dir, other)
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "recipe": "sentiment"}))
    manifest = json.loads((other / "run.json").read_text())
    manifest["files"]["config.json"] = {  # forged whole, so that only the recipe differs
        "bytes": (other / "config.json").stat().st_size,
        "sha256": _artifacts._sha256(other / "config.json"),
    }
    (other / "run.json").write_text(json.dumps(manifest))
    with pytest.raises(RunDirectoryError, match="not a char-lm one"):
        char_lm.sample(other)


def test_too_short_text_says_what_to_change(tmp_path):
    path = tmp_path / "short.txt"
    path.write_text("to be or not to be\n" * 5)
    with pytest.raises(DataError, match="`sequence_length`"):
        char_lm.run(data=path, run_dir=tmp_path / "run", **{**TINY, "sequence_length": 50})


@pytest.mark.parametrize(
    "kwargs, match",
    [({"mode": "tbptt"}, "`mode`"), ({"validation_fraction": 0}, "`validation_fraction`"),
     ({"units": (0,)}, "`units`"), ({"lr_schedule": "step"}, "`lr_schedule`"),
     ({"temperature": -1.0}, "`temperature`")],
)
def test_bad_arguments_fail_before_anything_is_written(tmp_path, kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        char_lm.run(run_dir=tmp_path / "run", **{**TINY, **kwargs})
    assert not (tmp_path / "run").exists()


def test_cli_train_then_sample(tmp_path, capsys):
    run_dir = tmp_path / "cli"
    status = main(["char-lm", "train", "--mode", "stateful", "--units", "6", "--embedding-dim",
                   "4", "--sequence-length", "10", "--batch-size", "4", "--epochs", "1",
                   "--sample-length", "10", "--run-dir", str(run_dir), "--verbose", "0"])
    assert status == 0
    config = json.loads((run_dir / "config.json").read_text())
    assert config["mode"] == "stateful" and config["clipnorm"] == 5.0
    capsys.readouterr()
    assert main(["char-lm", "sample", str(run_dir), "--prompt", "TOBIAS:", "--length", "25",
                 "--top-k", "3", "--seed", "1"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("TOBIAS:") and len(printed.rstrip("\n")) >= len("TOBIAS:") + 20
    assert main(["char-lm", "sample", str(tmp_path / "missing")]) == 2
    assert "No run directory" in capsys.readouterr().err


def test_stateful_validation_is_the_carried_loss_of_the_saved_model(stateful_run):
    from seqrecipes.models.stepping import sequence_loss

    run = _artifacts.load_run(stateful_run.run_dir)
    text = load_text(sample_path("char_lm"))
    _, validation = char_lm.split_corpus(text, 0.1)
    index = {char: i for i, char in enumerate(char_lm.load_vocabulary(run))}
    ids = np.array([index.get(char, 1) for char in validation], "int32")
    streams = min(char_lm.VALIDATION_STREAMS, (len(ids) - 1) // 20)
    loss = sequence_loss(run.model, ids, streams=streams, sequence_length=20)["loss"]
    assert loss == pytest.approx(stateful_run.metrics["validation_loss"], rel=1e-4)
