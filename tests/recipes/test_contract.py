"""One contract for every recipe: the same verb has the same name and shape everywhere.

`seqrecipes.recipes.VERBS` is checked against the real parsers; each verb's arguments are
read from the parser (positionals, --file, --overwrite, --verbose, --quiet); `predict`
reads standard input when given no text, in every recipe that has it (tiny runs trained
here); `export` refuses a folder it would overwrite; `--verbose 0` keeps the summary and
`--quiet` silences it.
"""

import argparse
import io
import json

import pytest
import tensorflow as tf
from cli_runner import run_main

from seqrecipes import cli
from seqrecipes import recipes
from seqrecipes.recipes import (
    bilm, char_lm, generate_from_vector, ner, sentiment, seq2seq, timeseries, vectors,
)

CONLL = "\n".join(["Ada B-PER", "Lovelace I-PER", "met O", "Paris B-LOC", "today O", ""] * 8)
SEQ2SEQ_TINY = ["--task", "reverse", "--max-digits", "3", "--units", "4", "--embedding-dim",
                "4", "--train-size", "40", "--validation-size", "8", "--test-size", "8",
                "--epochs", "1", "--batch-size", "8"]


def subcommands(parser):
    """{name: parser} of `parser`'s subcommands ({} when it has none)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


PARSERS = subcommands(cli.build_parser())


def verb_parser(recipe, verb):
    return subcommands(PARSERS[recipe])[verb]


def positionals(parser):
    return [action.dest for action in parser._actions if not action.option_strings]


def options(parser):
    return {option for action in parser._actions for option in action.option_strings}


def with_verb(verb):
    return [recipe for recipe, verbs in recipes.VERBS.items() if verb in verbs]


def test_the_verb_table_is_the_parsers():
    assert set(recipes.VERBS) == set(PARSERS)
    for recipe, verbs in recipes.VERBS.items():
        assert tuple(subcommands(PARSERS[recipe])) == verbs, recipe
    assert with_verb("predict") == ["sentiment", "ner", "seq2seq", "vectors"]
    assert with_verb("export") == ["sentiment", "ner", "char-lm", "timeseries"]


@pytest.mark.parametrize("recipe", with_verb("train"))
def test_train_has_the_shared_flags(recipe):
    parser = verb_parser(recipe, "train")
    assert positionals(parser) == []
    assert {"--run-dir", "--overwrite", "--epochs", "--verbose", "--quiet", "--seed"} <= options(
        parser)


@pytest.mark.parametrize("recipe", with_verb("evaluate"))
def test_evaluate_takes_run_and_data_positionally(recipe):
    parser = verb_parser(recipe, "evaluate")
    assert positionals(parser) == ["run_dir", "data"]
    args = parser.parse_args(["runs/x", "test.txt"])
    assert (args.run_dir, args.data) == ("runs/x", "test.txt")


@pytest.mark.parametrize("recipe", with_verb("predict"))
def test_predict_takes_run_texts_and_file(recipe):
    parser = verb_parser(recipe, "predict")
    run_dir, texts = positionals(parser)
    assert run_dir == "run_dir"
    assert getattr(parser.parse_args(["runs/x", "a", "b"]), texts) == ["a", "b"]
    assert getattr(parser.parse_args(["runs/x"]), texts) in ([], None)
    assert parser.parse_args(["runs/x", "--file", "f.txt"]).file == "f.txt"


@pytest.mark.parametrize("recipe", with_verb("export"))
def test_export_takes_run_and_dir_positionally_and_overwrite(recipe):
    parser = verb_parser(recipe, "export")
    assert positionals(parser) == ["run_dir", "export_dir"]
    args = parser.parse_args(["runs/x", "served/", "--overwrite"])
    assert (args.run_dir, args.export_dir, args.overwrite) == ("runs/x", "served/", True)
    assert args.format == "savedmodel"
    assert parser.parse_args(["runs/x", "served/", "--format", "onnx"]).format == "onnx"


@pytest.mark.parametrize("module", [sentiment, ner, char_lm, timeseries, seq2seq, bilm,
                                    generate_from_vector, vectors])
def test_every_recipe_trains_with_train_and_keeps_run(module):
    assert callable(module.train) and module.run is module.train


def test_old_shapes_are_refused_with_argparse_usage(capsys):
    # The shapes that changed: a flag where the contract has a positional, a missing verb.
    for argv in (["ner", "evaluate", "runs/x", "--data", "t.txt"],
                 ["ner", "export", "runs/x", "--output", "d"],
                 ["ner", "predict", "runs/x", "--input", "f"]):
        assert cli.main(argv) == 2
        assert "unrecognized arguments" in capsys.readouterr().err


# --- Tiny runs of every recipe with predict ---------------------------------------------------

@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("contract")
    conll = folder / "train.conll"
    conll.write_text(CONLL)
    made = {name: folder / name for name in ("sentiment", "ner", "seq2seq", "vectors")}
    for argv in (
        ["sentiment", "train", "--run-dir", made["sentiment"], "--epochs", "1",
         "--baseline", "none"],
        ["ner", "train", "--train", conll, "--run-dir", made["ner"], "--epochs", "1",
         "--char-features", "none", "--embedding-dim", "4", "--units", "4",
         "--batch-size", "8"],
        ["seq2seq", "train", "--run-dir", made["seq2seq"], *SEQ2SEQ_TINY],
        ["vectors", "train", "--run-dir", made["vectors"], "--epochs", "1", "--dim", "4",
         "--min-count", "1"],
    ):
        status, _, err = run_main(*argv, "--verbose", "0")
        assert status == 0, err[-2000:]
    return made


def text_stdin(monkeypatch, text):
    """Standard input as a pipe gives it: bytes underneath a text stream."""
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode("utf-8"))))


@pytest.mark.parametrize("recipe, lines", [
    ("sentiment", ["A moving film.", "Dull."]),
    ("ner", ["Ada Lovelace met Paris today", "Paris"]),
    ("seq2seq", ["123", "40"]),
    ("vectors", ["film", "Dull"]),
])
def test_predict_reads_standard_input_when_given_no_text(runs, monkeypatch, recipe, lines):
    text_stdin(monkeypatch, "\n".join(lines) + "\n")
    status, out, err = run_main(recipe, "predict", runs[recipe])
    assert status == 0, err
    from_stdin = out.splitlines()
    assert len(from_stdin) == len(lines)
    # The same lines given as arguments give the same output.
    status, out, _ = run_main(recipe, "predict", runs[recipe], *lines)
    assert status == 0 and out.splitlines() == from_stdin
    # And from --file.
    path = runs[recipe].parent / f"{recipe}_lines.txt"
    path.write_text("\n".join(lines) + "\n")
    status, out, _ = run_main(recipe, "predict", runs[recipe], "--file", path)
    assert status == 0 and out.splitlines() == from_stdin


def test_seq2seq_predict_prints_source_and_output(runs, capsys):
    assert cli.main(["seq2seq", "predict", str(runs["seq2seq"]), "123"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    source, output = line.split("\t")
    assert source == "123" and output == seq2seq.predict(runs["seq2seq"], ["123"])[0]
    assert cli.main(["seq2seq", "predict", str(runs["seq2seq"]), "12a"]) == 2
    assert "outside this task's alphabet" in capsys.readouterr().err


@pytest.mark.parametrize("recipe", ["sentiment", "ner"])
def test_export_refuses_a_folder_it_would_overwrite(runs, tmp_path, recipe):
    target = tmp_path / "served"
    target.mkdir()  # an empty folder is fine
    status, _, err = run_main(recipe, "export", runs[recipe], target)
    assert status == 0, err
    assert (target / "saved_model.pb").is_file()
    status, _, err = run_main(recipe, "export", runs[recipe], target)
    assert status == 2 and "already holds an export" in err and "--overwrite" in err
    status, _, err = run_main(recipe, "export", runs[recipe], target, "--overwrite")
    assert status == 0, err
    tf.saved_model.load(str(target))
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    status, _, err = run_main(recipe, "export", runs[recipe], other, "--overwrite")
    assert status == 2 and "never replaced" in err
    assert (other / "keep.txt").read_text() == "mine" and len(list(other.iterdir())) == 1


def test_ner_export_from_python_names_the_argument(runs, tmp_path):
    target = tmp_path / "served"
    ner.export(runs["ner"], target)
    with pytest.raises(Exception, match="pass overwrite=True") as raised:
        ner.export(runs["ner"], target)
    assert "--overwrite" not in str(raised.value)


def test_verbose_0_keeps_the_summary_and_quiet_silences_it(tmp_path):
    status, out, err = run_main("seq2seq", "train", "--run-dir", tmp_path / "a",
                                *SEQ2SEQ_TINY, "--verbose", "0")
    assert status == 0, err
    assert "test exact match" in out and f"run written to {tmp_path / 'a'}" in out
    assert "step" not in out  # no progress bar
    status, out, err = run_main("seq2seq", "train", "--run-dir", tmp_path / "b",
                                *SEQ2SEQ_TINY, "--quiet")
    assert status == 0, err
    assert out == ""
    assert json.loads((tmp_path / "b" / "metrics.json").read_text())["epochs_trained"] == 1


def test_timeseries_verbose_0_says_where_the_run_went(tmp_path):
    status, out, err = run_main("timeseries", "train", "--run-dir", tmp_path / "run",
                                "--units", "4", "--epochs", "1", "--verbose", "0")
    assert status == 0, err
    assert "model MAE" in out and f"run written to {tmp_path / 'run'}" in out


def test_a_diagnostic_tool_prints_its_table_unless_quiet(tmp_path):
    flags = ["--steps", "5", "--units", "4", "--input-dim", "2", "--num-sequences", "2"]
    status, out, err = run_main("gradient-flow", *flags, "--run-dir", tmp_path / "a")
    assert status == 0, err
    assert f"run written to {tmp_path / 'a'}" in out
    status, out, err = run_main("gradient-flow", *flags, "--run-dir", tmp_path / "b", "--quiet")
    assert status == 0, err
    assert out == "" and (tmp_path / "b" / "run.json").is_file()
