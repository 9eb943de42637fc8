import inspect

import pytest

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
