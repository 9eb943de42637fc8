import inspect
import os
import pathlib
import subprocess
import sys

import keras
import pytest
from cli_runner import run_main

from seqrecipes import cli, models
from seqrecipes.recipes import param_count

TINY = ["--vocabulary-size", "20", "--embedding-dim", "4"]


def run_cli(capsys, *argv):
    status = cli.main(["params", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_prints_the_table_and_what_it_counts(capsys):
    status, out, err = run_cli(capsys, *TINY, "--units", "4", "3", "--bidirectional")
    assert status == 0, err
    expected = models.build_sequence_classifier(20, 2, embedding_dim=4, units=(4, 3),
                                                bidirectional=True).count_params()
    assert "2*(4*(4*(4+4)+4))" in out  # the first BiLSTM row: 2 x 4[u(d+u)+u]
    assert f"Total: {expected:,} = trainable {expected:,} + non-trainable 0." in out
    assert "Embeddings: 80;" in out and "embeddings included" in out
    assert "Every layer's closed-form count equals Keras's count_params()." in out
    assert (f"does not grow with sequence length: {expected:,} parameters at length 10 and "
            "at length 1000") in out


@pytest.mark.parametrize(
    "argv, builder",
    [
        (["--model", "gru", "--task", "tagger", "--units", "4", "--num-classes", "5",
          "--bidirectional", "--merge-mode", "sum"],
         lambda: models.build_sequence_tagger(20, 5, embedding_dim=4, cell="gru", units=4,
                                              bidirectional=True, merge_mode="sum")),
        (["--model", "cnn", "--filters", "4", "--kernel-sizes", "3"],
         lambda: models.build_conv_classifier(20, 2, embedding_dim=4, filters=4, kernel_size=3)),
        (["--model", "cnn", "--filters", "4", "--kernel-sizes", "3", "4", "5", "--num-classes",
          "3", "--sequence-length", "7"],
         lambda: models.build_conv_classifier(20, 3, embedding_dim=4, filters=4,
                                              kernel_size=(3, 4, 5), sequence_length=7)),
    ],
)
def test_run_counts_what_the_builders_build(capsys, argv, builder):
    status, out, err = run_cli(capsys, *TINY, *argv)
    assert status == 0, err
    assert f"Total: {builder().count_params():,} " in out


def test_numeric_input(capsys):
    result = param_count.run(model="simple_rnn", input_dim=3, units=(4,))
    capsys.readouterr()
    expected = models.build_sequence_classifier(None, 2, input_dim=3, cell="simple_rnn",
                                                units=4)
    assert result["total"] == expected.count_params() == 4 * (3 + 4) + 4 + (4 + 1)
    assert result["embedding"] == 0
    assert result["counts_by_length"] == {10: result["total"], 1000: result["total"]}
    assert result["table"]["formula"].tolist()[1] == "4*(3+4)+4"


def test_saved_model_file(capsys, tmp_path):
    path = tmp_path / "model.keras"
    model = models.build_conv_classifier(20, 3, embedding_dim=4, filters=4, kernel_size=(3, 4))
    model.save(path)
    status, out, err = run_cli(capsys, "--model-file", str(path))
    assert status == 0, err
    assert f"Total: {model.count_params():,} " in out and f"loaded from {path}" in out


def test_saved_model_without_steps_still_gets_its_table(capsys, tmp_path):
    path = tmp_path / "mlp.keras"
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.save(path)
    status, out, err = run_cli(capsys, "--model-file", str(path))
    assert status == 0, err
    assert f"Total: {model.count_params():,} " in out
    assert "Not rebuilt at other lengths: The model's inputs have no time axis" in out


def test_every_run_argument_has_its_flag():
    parser = cli.build_parser()
    args = parser.parse_args(["params"])
    for name, parameter in inspect.signature(param_count.run).parameters.items():
        default = getattr(args, name)
        default = tuple(default) if isinstance(default, list) else default
        assert default == parameter.default, name


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--units", "0"], "`--units` must be a positive integer"),
        (["--units", "abc"], "argument --units: invalid int value: 'abc'"),
        (["--model", "transformer"], "`--model` must be one of 'simple_rnn', 'lstm', 'gru', 'cnn'"),
        (["--task", "seq2seq"], "`--task` must be one of 'classifier', 'tagger'"),
        (["--kernel-sizes", "3"], "`--kernel-sizes` would be ignored"),
        (["--model", "cnn", "--units", "8"], "`--units` would be ignored"),
        (["--model", "cnn", "--task", "tagger"], "builds a classifier"),
        (["--merge-mode", "sum"], "Add --bidirectional"),
        (["--bidirectional", "--merge-mode", "max"], "`--merge-mode` must be one of"),
        (["--vocabulary-size", "20", "--input-dim", "3"], "Pass exactly one of `--vocabulary-size`"),
        (["--input-dim", "3", "--embedding-dim", "8"], "`--embedding-dim` would be ignored"),
        (["--num-classes", "1"], "`--num-classes` must be at least 2"),
        (["--model-file", "missing.keras"], "`--model-file`: no such file"),
        (["--model-file", "m.keras", "--units", "8"], "`--units` would be ignored"),
        (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    ],
)
def test_bad_flags_exit_2_with_the_message(capsys, argv, message):
    status, out, err = run_cli(capsys, *argv)
    assert status == 2
    assert err.startswith("seqrecipes: error: ")
    assert message in err


def test_a_file_that_is_not_a_model(capsys, tmp_path):
    path = tmp_path / "notes.keras"
    path.write_text("not a model")
    status, out, err = run_cli(capsys, "--model-file", str(path))
    assert status == 2 and "cannot be read as a saved Keras model" in err


# --- every model a recipe saves -----------------------------------------------------------------

# Each recipe trained for one epoch on its embedded sample, as small as its flags allow.
RECIPE_RUNS = {
    "sentiment": ["sentiment", "train", "--model", "fasttext", "--embedding-dim", "4",
                  "--max-tokens", "200",
                  "--epochs", "1", "--verbose", "0"],
    "ner": ["ner", "train", "--embedding-dim", "4", "--units", "2", "--char-embedding-dim", "2",
            "--char-filters", "2", "--batch-size", "64", "--epochs", "1", "--verbose", "0"],
    "char-lm": ["char-lm", "train", "--units", "4", "--embedding-dim", "2",
                "--sequence-length", "20", "--batch-size", "8", "--epochs", "1",
                "--sample-length", "5", "--verbose", "0"],
    "bilm": ["bilm", "train", "--units", "2", "--num-layers", "1", "--batch-size", "64",
             "--epochs", "1", "--verbose", "0"],
    "seq2seq": ["seq2seq", "train", "--max-digits", "2", "--units", "2", "--embedding-dim", "2",
                "--train-size", "20", "--validation-size", "4", "--test-size", "4",
                "--epochs", "1", "--verbose", "0"],
    "timeseries": ["timeseries", "train", "--units", "2", "--window", "5", "--epochs", "1",
                   "--verbose", "0"],
    "timeseries-labelling": ["timeseries", "train", "--task", "labelling", "--units", "2",
                             "--train-sequences", "8", "--validation-sequences", "4",
                             "--test-sequences", "4", "--sequence-steps", "6", "--epochs", "1",
                             "--verbose", "0"],
    "generate-from-vector": ["generate-from-vector", "train", "--max-digits", "2", "--feature-dim", "4",
                             "--units", "2", "--train-size", "20", "--validation-size", "4",
                             "--test-size", "4", "--epochs", "1", "--batch-size", "8"],
    "gradient-flow": ["gradient-flow", "--steps", "6", "--units", "2", "--input-dim", "2",
                      "--num-sequences", "2"],
}


@pytest.fixture(scope="module")
def recipe_runs(tmp_path_factory):
    """`name -> run directory`, each trained the first time a test asks for it."""
    root, runs = tmp_path_factory.mktemp("recipe_runs"), {}

    def run(name, *extra):
        key = " ".join([name, *extra])
        if key not in runs:
            run_dir = root / f"run{len(runs)}"
            status, out, err = run_main(*RECIPE_RUNS[name], *extra, "--run-dir", run_dir)
            assert status == 0, err
            runs[key] = run_dir
        return runs[key]

    return run


def check_saved_model(capsys, path):
    """`params --model-file PATH` exits 0 and its table adds up to the model's own count."""
    model = keras.saving.load_model(path)
    status, out, err = run_cli(capsys, "--model-file", str(path))
    assert status == 0, err
    total = model.count_params()
    assert f"Total: {total:,} = " in out and f"loaded from {path}" in out
    assert f"{total:,} parameters at length 10 and at length 1000 alike" in out
    result = param_count.run(model_file=str(path))
    capsys.readouterr()
    table = result["table"]
    assert result["total"] == int(table["keras_count"].sum()) == total
    assert result["counts_by_length"] == {10: total, 1000: total}
    assert table.attrs["mismatched"] == []
    return model, out, table


@pytest.mark.parametrize("name", [name for name in RECIPE_RUNS if name not in ("sentiment", "ner")])
def test_params_of_every_saved_recipe_model(capsys, recipe_runs, name):
    check_saved_model(capsys, recipe_runs(name) / "model.keras")


def test_params_of_a_sentiment_model_counts_the_steps_after_the_vectorizer(capsys, recipe_runs):
    saved, out, table = check_saved_model(capsys, recipe_runs("sentiment") / "model.keras")
    assert saved.inputs[0].dtype == "string" and len(saved.inputs[0].shape) == 1  # raw texts
    assert "(the steps of the token ids out of 'text_vectorizer')" in out
    preprocessing = table.set_index("layer").loc[["text", "text_vectorizer"]]
    assert preprocessing["formula"].tolist() == ["0", "0"]  # no weights: 0, not "no formula"
    assert "Every layer's closed-form count equals Keras's count_params()." in out


def test_params_of_a_ner_model_counts_the_words(capsys, recipe_runs):
    saved, out, table = check_saved_model(capsys, recipe_runs("ner") / "model.keras")
    assert saved.inputs[0].dtype == "string" and len(saved.inputs[0].shape) == 2  # words
    assert "(the steps of input 'tokens')" in out
    rows = table.set_index("layer")
    assert rows.loc[["tokens", "token_lookup", "char_ids", "tag_names"], "count"].tolist() == [0] * 4
    assert "Every layer's closed-form count equals Keras's count_params()." in out


def test_a_fresh_interpreter_loads_a_ner_model_without_the_command_line(recipe_runs):
    # The command line imports every recipe; Python that imports only param_count must still
    # find the string and CRF layers of a saved tagger (safe-mode loading needs them).
    path = recipe_runs("ner") / "model.keras"
    code = ("from seqrecipes.recipes import param_count; "
            f"print(param_count.run(model_file={str(path)!r})['total'])")
    root = pathlib.Path(param_count.__file__).parents[2]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(root),
                               "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == str(keras.saving.load_model(path).count_params())
