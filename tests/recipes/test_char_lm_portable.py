"""char-lm export: one step with the states in and out, in the three formats."""

import json

import numpy as np
import pytest
import tensorflow as tf

from seqrecipes import portable
from seqrecipes.cli import main
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.models.stepping import run_recurrent
from seqrecipes.recipes import char_lm
from seqrecipes.recipes.engine.artifacts import load_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("char_lm_portable") / "run"
    status = main(["char-lm", "train", "--run-dir", str(run_dir), "--cell", "lstm",
                   "--units", "8", "6", "--embedding-dim", "4", "--sequence-length", "20",
                   "--epochs", "1", "--sample-length", "5", "--verbose", "0"])
    assert status == 0
    return run_dir


@pytest.fixture(scope="module")
def exports(run_dir):
    return {fmt: char_lm.export(run_dir, run_dir.parent / fmt, format=fmt)
            for fmt in ("savedmodel", "onnx", "litert")}


IDS = np.array([[5, 9, 3, 12, 7, 22], [4, 4, 30, 2, 8, 11]], "int32")


@pytest.mark.parametrize("fmt", ["onnx", "litert"])
def test_steps_give_the_keras_models_next_character_probabilities(run_dir, exports, fmt):
    expected, expected_states = run_recurrent(load_run(run_dir).model, IDS)
    lm = portable.load(exports[fmt])
    assert lm.state_names == ["lstm_1_h", "lstm_1_c", "lstm_2_h", "lstm_2_c"]
    logits, states = lm.logits(IDS)
    np.testing.assert_allclose(logits, expected, atol=1e-5)
    softmax = lambda x: np.exp(x - x.max(-1, keepdims=True)) / np.exp(
        x - x.max(-1, keepdims=True)).sum(-1, keepdims=True)
    np.testing.assert_allclose(softmax(logits), softmax(expected), atol=1e-6)
    for got, want in zip(states, [s for layer in expected_states for s in layer]):
        np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("fmt", ["onnx", "litert"])
def test_sampling_outside_keras_writes_the_recipes_text(run_dir, exports, fmt):
    expected = char_lm.sample(run_dir, prompt="The ", length=40, temperature=0.8, seed=3)
    lm = portable.load(exports[fmt])
    assert lm.sample("The ", length=40, temperature=0.8, seed=3) == expected
    with pytest.raises(InvalidArgumentError, match="never saw"):
        lm.sample("\u2603", length=3)


def test_the_savedmodel_is_the_step_model(run_dir, exports):
    loaded = tf.saved_model.load(str(exports["savedmodel"]))
    description = json.loads(
        (exports["savedmodel"] / "assets.extra" / "seqrecipes.json").read_text("utf-8"))
    zeros = [np.zeros((2, 8), "float32")] * 2 + [np.zeros((2, 6), "float32")] * 2
    outputs = loaded.serve([IDS[:, :1], *zeros])
    expected, _ = run_recurrent(load_run(run_dir).model, IDS[:, :1])
    np.testing.assert_allclose(np.asarray(outputs[0]), expected[:, 0], atol=1e-5)
    assert description["state_names"] == ["lstm_1_h", "lstm_1_c", "lstm_2_h", "lstm_2_c"]


def test_export_from_the_command_line_guards_the_folder(run_dir, capsys):
    target = run_dir.parent / "cli"
    assert main(["char-lm", "export", str(run_dir), str(target), "--format", "onnx"]) == 0
    assert (target / "model.onnx").is_file()
    assert main(["char-lm", "export", str(run_dir), str(target), "--format", "litert"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["char-lm", "export", str(run_dir), str(target), "--format", "litert",
                 "--overwrite"]) == 0
    assert (target / "model.tflite").is_file() and not (target / "model.onnx").exists()
