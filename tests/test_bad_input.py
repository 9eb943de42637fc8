"""Bad input, through the command line: every case is handled as documented, or refused with
``seqrecipes: error: <file>:<line>: <what>. <fix>`` and exit status 2, never a traceback.

Two tiny runs are trained once for the module (a sentiment fastText bag and an NER tagger
without character features); everything else fails before any training starts.
"""

import inspect
import json
import re

import numpy as np
import pytest
from cli_runner import run_main
import tensorflow as tf

from seqrecipes.errors import SeqrecipesError
from seqrecipes.recipes import sentiment, timeseries, vectors
from seqrecipes.recipes.sentiment import model as _model_flags
from seqrecipes.recipes.ner.entities import entity_metrics

SENTIMENT_TINY = ["--model", "fasttext", "--embedding-dim", "8", "--verbose", "0", "--seed", "3"]
NER_TINY = ["--char-features", "none", "--embedding-dim", "4", "--units", "4", "--verbose",
            "0", "--batch-size", "8"]
MB = 1_000_000




def refused(*argv):
    """Runs ARGV, checks it was refused cleanly, and returns the one-line message."""
    status, out, err = run_main(*argv)
    assert status == 2, (status, out[-500:], err[-500:])
    assert err.startswith("seqrecipes: error: "), err[:500]
    assert "Traceback" not in err and 'File "' not in err, err[:2000]
    assert len(err) < 2_000, f"a message of {len(err):,} characters: {err[:300]}"
    return err[len("seqrecipes: error: "):]


def succeeded(*argv):
    status, out, err = run_main(*argv)
    assert status == 0, err[-2000:]
    return out, err


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("bad_input")


@pytest.fixture(scope="module")
def sentiment_run(folder):
    """A fastText bag trained one epoch on the embedded English sample."""
    run_dir = folder / "sentiment_run"
    succeeded("sentiment", "train", "--run-dir", run_dir, "--epochs", "1", *SENTIMENT_TINY)
    return run_dir


CONLL = "\n".join(["Ada B-PER", "Lovelace I-PER", "met O", "Paris B-LOC", "today O", ""] * 8)


@pytest.fixture(scope="module")
def ner_run(folder):
    """A small tagger trained one epoch on 8 sentences tagged PER, LOC and O."""
    train = folder / "ner_train.conll"
    train.write_text(CONLL)
    run_dir = folder / "ner_run"
    succeeded("ner", "train", "--train", train, "--run-dir", run_dir, "--epochs", "1", *NER_TINY)
    return run_dir


def write(path, content):
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


# --- Tables: `sentiment train --data FILE` -----------------------------------------------------
# (name, file name, content, fragments the message must hold: where, what, how to fix)
TABLES = [
    ("empty file", "data.csv", "", ["data.csv: the file is empty", "Expected a header line"]),
    ("blank lines only", "data.csv", "\r\n\n  \n", ["data.csv: the file is empty"]),
    ("header only", "data.csv", "text,label\n",
     ["data.csv: has a header (text, label) but no rows"]),
    ("semicolons", "data.csv", "text;label\ngood;1\nbad;0\n",
     ["data.csv:1: the header 'text;label' is a single column", "check the delimiter"]),
    ("tabs in a .csv", "data.csv", "text\tlabel\ngood\t1\nbad\t0\n",
     ["data.csv:1:", "It looks TSV: name the file .tsv"]),
    ("commas in a .tsv", "data.tsv", "text,label\ngood,1\nbad,0\n",
     ["data.tsv:1:", "It looks CSV: name the file .csv"]),
    ("no delimiter, unknown name", "data.txt", "reviews\ngood\n",
     ["data.txt:1: cannot tell the delimiter", "pass --format csv"]),
    ("missing column", "data.csv", "body,label\ngood,1\nbad,0\n",
     ["data.csv: no column named 'text'", "The columns are ['body', 'label']",
      "Pass `--text-column`"]),
    ("missing label", "data.csv", "text,label\ngood,1\nbad,\nfine,1\n",
     ["data.csv:3: the label (column 'label') is missing", "fix or remove those rows"]),
    ("NaN label among integers", "data.csv", "text,label\ngood,1\nbad,NaN\nfine,0\n",
     ["data.csv:3: the label 'NaN' (column 'label') is not an integer",
      "fix or remove those rows"]),
    ("too many fields", "data.csv", "text,label\ngood,1\nbad,0,extra\n",
     ["data.csv", "line 3", "Check for an unclosed quote"]),
    ("unclosed quote", "data.csv", 'text,label\n"good,1\nbad,0\n',
     ["data.csv", "unclosed quote"]),
    ("invalid UTF-8", "data.csv", b"text,label\ngood,1\nba\xffd,0\n",
     ["data.csv:3: not valid UTF-8 at byte offset 20", "Save the file as UTF-8"]),
    ("cp949 Korean", "data.csv", "text,label\n좋다,1\n".encode("cp949"),
     ["data.csv:2: not valid UTF-8", "iconv -f cp949"]),
    ("a carriage return inside a row", "data.csv", "text,label\ngood,1\nba\rd,0\n",
     ["data.csv:3: a carriage return (\\r) inside a row", "Remove it"]),
    ("a 1 MB single line", "data.csv", "x" * MB,
     ["data.csv:1: the header 'xxxx", "(1,000,000 characters)", "check the delimiter"]),
    ("one class only", "data.csv", "text,label\ngood,1\nfine,1\nnice,1\n",
     ["data.csv: every text has the label 1", "at least two classes"]),
    ("empty documents with --empty error", "data.csv", "text,label\ngood,1\n,0\n  ,1\nbad,0\n",
     ["data.csv: 2 empty documents (column 'text') at lines 3, 4", "--empty drop"]),
    # Recognised before they are parsed (datasets/_content.py): never "a carriage return".
    ("random bytes", "data.csv", np.random.default_rng(1).bytes(3000),
     ["data.csv: not a text file", "export it as CSV"]),
    ("zstd", "data.csv.zst", b"\x28\xb5\x2f\xfd" + bytes(range(64)),
     ["data.csv.zst: a zstd-compressed file", "data.csv.zst`) and pass the decompressed file"]),
    ("an xlsx workbook", "data.xlsx",
     lambda: _zip({"[Content_Types].xml": "<x/>", "xl/workbook.xml": "<x/>"}),
     ["data.xlsx: an Excel workbook (.xlsx), not a text file", "Save the sheet as CSV"]),
    ("a zip of two tables", "data.zip", lambda: _zip({"a.csv": "x", "b.csv": "y"}),
     ["data.zip: a zip archive of 2 files ('a.csv', 'b.csv')", "NAME`) and pass it"]),
    ("a column named twice", "data.csv", "text,text,label\ngood,fine,1\nbad,poor,0\n",
     ["data.csv:1: the header names the column 'text' twice", "Rename or remove one"]),
    ("files concatenated with their headers", "data.csv",
     "text,label\ngood,1\nbad,0\ntext,label\nfine,1\npoor,0\n",
     ["data.csv:4: the header line ('text', 'label') is repeated inside the data",
      "Remove those lines"]),
]


def _zip(members):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize("name, file_name, content, fragments", TABLES,
                         ids=[case[0] for case in TABLES])
def test_bad_tables_are_refused_with_file_line_and_fix(tmp_path, name, file_name, content,
                                                       fragments):
    path = write(tmp_path / file_name, content() if callable(content) else content)
    message = refused("sentiment", "train", "--data", path, "--run-dir", tmp_path / "run",
                      "--empty", "error", *SENTIMENT_TINY)
    for fragment in fragments:
        assert fragment in message
    assert not (tmp_path / "run" / "run.json").exists()


def test_a_missing_or_directory_data_file_names_the_path(tmp_path):
    message = refused("sentiment", "train", "--data", tmp_path / "nope.csv", "--run-dir",
                      tmp_path / "run")
    assert "no such file" in message and "nope.csv" in message and "Check the path" in message
    message = refused("sentiment", "evaluate", tmp_path, tmp_path)
    assert "is a directory, not a file" in message


# --- Tables at evaluation ---------------------------------------------------------------------

def test_label_outside_the_trained_classes_names_line_and_classes(sentiment_run, tmp_path):
    path = write(tmp_path / "test.csv", "text,label\ngood,1\nodd,7\nbad,0\n")
    message = refused("sentiment", "evaluate", sentiment_run, path)
    assert "test.csv:3: label 7 is not one of the classes [0, 1]" in message
    assert "fix the label in the file" in message
    names = write(tmp_path / "names.csv", "text,label\ngood,pos\nbad,neg\n")
    assert "names.csv:2: label 'pos' is not one of the classes [0, 1]" in refused(
        "sentiment", "evaluate", sentiment_run, names)


def test_nan_and_na_documents_are_text_and_empty_documents_follow_the_policy(
    sentiment_run, tmp_path
):
    # pandas would read NaN / NA / null as missing; here every cell is text (documented in
    # `datasets.tabular`), so "NaN" is a review like any other, and only empty cells are empty.
    path = write(tmp_path / "test.csv", "text,label\nNaN,1\nNA,0\nnull,1\n,0\n   ,1\ngood,0\n")
    out, _ = succeeded("sentiment", "evaluate", sentiment_run, path)
    assert "4 texts" in out and "2 empty documents (dropped)" in out
    out, _ = succeeded("sentiment", "evaluate", sentiment_run, path, "--empty", "keep")
    assert "6 texts" in out and "2 empty documents (kept)" in out
    message = refused("sentiment", "evaluate", sentiment_run, path, "--empty", "error")
    assert "test.csv: 2 empty documents (column 'text') at lines 5, 6" in message


def test_windows_line_endings_read_like_unix_ones(sentiment_run, tmp_path):
    rows = "text,label\nA moving film.,1\nDull and long.,0\n\"Two\nlines\",1\n"
    unix = write(tmp_path / "unix.csv", rows)
    windows = write(tmp_path / "windows.csv", "\ufeff" + rows.replace("\n", "\r\n"))
    figures = [sentiment.evaluate(sentiment_run, path) for path in (unix, windows)]
    assert figures[0]["num_texts"] == figures[1]["num_texts"] == 3
    assert figures[0]["confusion_matrix"] == figures[1]["confusion_matrix"]
    texts = write(tmp_path / "texts.txt", b"good film\r\nbad film\r\n")
    out, _ = succeeded("sentiment", "predict", sentiment_run, "--file", texts)
    assert [json.loads(line)["text"] for line in out.splitlines()] == ["good film", "bad film"]


def _compressed(data, how):
    import bz2
    import gzip
    import lzma

    return {"gzip": gzip.compress, "bzip2": bz2.compress, "xz": lzma.compress,
            "zip": lambda raw: _zip({"test.csv": raw}),
            "utf-16": lambda raw: raw.decode("utf-8").replace("\n", "\r\n").encode("utf-16"),
            "utf-16-le": lambda raw: raw.decode("utf-8").encode("utf-16-le")}[how](data)


@pytest.mark.parametrize("name, how", [
    ("test.csv.gz", "gzip"), ("test.csv.bz2", "bzip2"), ("test.csv.xz", "xz"),
    ("test.csv.zip", "zip"), ("test.csv", "utf-16"), ("test.csv", "utf-16-le"),
])
def test_compressed_and_utf16_files_evaluate_like_the_plain_file(sentiment_run, tmp_path, name,
                                                                  how):
    """The issue's .csv.zip, .csv.xz, .bz2 and UTF-16 with CRLF files: read, not refused."""
    rows = "text,label\nA moving film.,1\nDull and long.,0\nfine, really,1\n"
    plain = write(tmp_path / "plain.csv", rows.replace("fine, really", '"fine, really"'))
    other = write(tmp_path / name, _compressed(plain.read_bytes(), how))
    figures = [sentiment.evaluate(sentiment_run, path) for path in (plain, other)]
    assert figures[1]["num_texts"] == 3
    assert figures[0]["confusion_matrix"] == figures[1]["confusion_matrix"]


def test_a_1mb_document_is_evaluated_and_predicted(sentiment_run, tmp_path):
    long_text = " ".join(["wonderful"] * (MB // 10))  # one line of 1 MB
    path = write(tmp_path / "test.csv", f"text,label\n{long_text},1\nbad,0\n")
    out, _ = succeeded("sentiment", "evaluate", sentiment_run, path)
    assert "2 texts" in out
    lines = write(tmp_path / "texts.txt", long_text + "\n")
    out, _ = succeeded("sentiment", "predict", sentiment_run, "--file", lines)
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert len(row["text"]) == len(long_text) and sum(row["probabilities"].values()) == \
        pytest.approx(1, abs=1e-5)


# --- Predict-time text ------------------------------------------------------------------------

def predictions(out):
    return [json.loads(line) for line in out.splitlines()]


def test_texts_of_unknown_tokens_only_are_all_out_of_vocabulary(sentiment_run):
    out, _ = succeeded("sentiment", "predict", sentiment_run, "zzqx qqvw", "xkcdq wwzq",
                       "A moving film, really.")
    unknown_1, unknown_2, known = predictions(out)
    # Every token (and word pair) of both texts maps to the one OOV id: the same prediction.
    assert unknown_1["probabilities"] == unknown_2["probabilities"]
    assert known["probabilities"] != unknown_1["probabilities"]
    assert unknown_1["label"] in (0, 1)


def test_empty_and_blank_texts_are_predicted_one_row_each(sentiment_run, tmp_path):
    out, _ = succeeded("sentiment", "predict", sentiment_run, "", "   ", "good")
    rows = predictions(out)
    assert [row["text"] for row in rows] == ["", "   ", "good"]
    # An empty text has no tokens; whitespace is no token either: the same prediction.
    assert rows[0]["probabilities"] == rows[1]["probabilities"]
    blank_lines = write(tmp_path / "blank.txt", "\n\n")
    assert [row["text"] for row in predictions(succeeded(
        "sentiment", "predict", sentiment_run, "--file", blank_lines)[0])] == ["", ""]
    message = refused("sentiment", "predict", sentiment_run, "--file",
                      write(tmp_path / "none.txt", ""))
    assert "No texts to predict" in message and "--file" in message


def test_text_that_is_not_utf8_is_refused_at_predict(sentiment_run, ner_run, tmp_path):
    # Python turns command-line bytes that are not UTF-8 into lone surrogates ("\udcff").
    message = refused("sentiment", "predict", sentiment_run, "good", "ba\udcffd")
    assert "`TEXT`: item 1 is not valid text" in message and "Pass UTF-8 text" in message
    message = refused("ner", "predict", ner_run, "Ada ba\udcffd")
    assert "`sentences[0]`: item 1 is not valid text" in message
    path = write(tmp_path / "texts.txt", b"good\nba\xffd\n")
    message = refused("sentiment", "predict", sentiment_run, "--file", path)
    assert "texts.txt:2: not valid UTF-8" in message and "Save the file as UTF-8" in message


def test_ner_predicts_unknown_tokens_and_empty_sentences(ner_run):
    out, _ = succeeded("ner", "predict", ner_run, "zzqx qqvw wwq", "xkcd zzzz qqqq", "", "   ")
    unknown_1, unknown_2, empty, blank = predictions(out)
    assert unknown_1["tokens"] == ["zzqx", "qqvw", "wwq"] and len(unknown_1["tags"]) == 3
    # No character features: unknown words are one OOV id, so the same tags and confidences.
    assert unknown_1["tags"] == unknown_2["tags"]
    assert unknown_1["confidences"] == unknown_2["confidences"]
    for row in (empty, blank):
        assert row["tokens"] == row["tags"] == row["entities"] == []


# --- CoNLL files ------------------------------------------------------------------------------
CONLL_CASES = [
    ("token without its tag", "Rome B-LOC\nwon\n\n", ["odd.conll:2: 1 columns, expected 2",
                                                      "--delimiter '\\t'"]),
    ("extra column", "Rome B-LOC\nwon O O\n", ["odd.conll:2: 3 columns, expected 2"]),
    ("not IOB", "Rome X-LOC\n", ["odd.conll:1: tag 'X-LOC' is not IOB", "`--tag-column`",
                                 "`--delimiter`"]),
    ("broken IOB2", "won O\nRome I-LOC\n", ["odd.conll:2: 'I-LOC' follows 'O'",
                                             "--invalid repair"]),
    ("empty file", "", ["odd.conll: no sentences found"]),
    ("invalid UTF-8", b"Rome B-LOC\nw\xffon O\n", ["odd.conll:2: not valid UTF-8",
                                                   "Save the file as UTF-8"]),
    ("a 1 MB line", "Rome B-LOC\n" + "x " * (MB // 2) + "\n",
     ["odd.conll:2: 500000 columns, expected 2", "(1,000,000 characters)"]),
]


@pytest.mark.parametrize("name, content, fragments", CONLL_CASES,
                         ids=[case[0] for case in CONLL_CASES])
def test_bad_conll_files_are_refused_with_file_and_line(tmp_path, name, content, fragments):
    path = write(tmp_path / "odd.conll", content)
    message = refused("ner", "train", "--train", path, "--run-dir", tmp_path / "run",
                      *NER_TINY)
    for fragment in fragments:
        assert fragment in message
    assert not (tmp_path / "run" / "run.json").exists()


def test_conll_at_evaluation(ner_run, tmp_path):
    unknown_tag = write(tmp_path / "eval.conll", "Ada B-PER\nwrote O\n\nVerne B-WRITER\n")
    message = refused("ner", "evaluate", ner_run, unknown_tag)
    assert "eval.conll:4: tag 'B-WRITER'" in message and "not one the model was trained on" \
        in message and "map it to a known tag" in message
    mismatch = write(tmp_path / "short.conll", "Ada B-PER\nwrote\n")
    assert "short.conll:2: 1 columns, expected 2" in refused(
        "ner", "evaluate", ner_run, mismatch)
    # Windows line endings and a byte-order mark read like a Unix file.
    windows = write(tmp_path / "windows.conll", "\ufeffAda B-PER\r\nmet O\r\n\r\nParis B-LOC\r\n")
    unix = write(tmp_path / "unix.conll", "Ada B-PER\nmet O\n\nParis B-LOC\n")
    outputs = [succeeded("ner", "evaluate", ner_run, p)[0] for p in (windows, unix)]
    scores = [[line.partition(": entity F1")[2] for line in output.splitlines()
               if ": entity F1" in line] for output in outputs]  # the lines name the file
    assert scores[0] == scores[1] and scores[0]
    # Gold without any entity (every tag O): scored 0 with a note, not seqeval's crash.
    no_entities = write(tmp_path / "plain.conll", "the O\nend O\n")
    out, _ = succeeded("ner", "evaluate", ner_run, no_entities)
    assert "0 entities" in out
    scores = entity_metrics([["O", "O"], ["O"]], [["O", "O"], ["O"]])
    assert scores["f1"] == 0.0 and scores["num_entities"] == 0
    assert "No entities" in scores["report"]


# --- The other recipes' files ----------------------------------------------------------------
OTHER_FILES = [
    (["char-lm", "train", "--data"], "corpus.txt", "", ["corpus.txt: the file is empty"]),
    (["char-lm", "train", "--data"], "corpus.txt", b"hello\nwor\xffld\n",
     ["corpus.txt:2: not valid UTF-8", "Save the file as UTF-8"]),
    (["timeseries", "train", "--data"], "series.csv", "day,value\n1,3.5\n2,abc\n3,NaN\n4,\n",
     ["series.csv:3: 3 value(s) in column 'value' are missing or not finite",
      "line 3: 'abc'", "never filled in"]),
    (["timeseries", "train", "--data"], "series.csv", "day;value\n1;3.5\n",
     ["series.csv: --column value is not a column", "The columns are ['day;value']"]),
]


@pytest.mark.parametrize("argv, file_name, content, fragments", OTHER_FILES,
                         ids=[f"{argv[0]} {name}" for argv, name, _, _ in OTHER_FILES])
def test_bad_files_of_the_other_recipes(tmp_path, argv, file_name, content, fragments):
    path = write(tmp_path / file_name, content)
    message = refused(*argv, path, "--run-dir", tmp_path / "run")
    for fragment in fragments:
        assert fragment in message


def test_ner_sentences_file_that_is_not_utf8(ner_run, tmp_path):
    path = write(tmp_path / "sentences.txt", b"Ada met\nwr\xffong\n")
    assert "sentences.txt:2: not valid UTF-8" in refused("ner", "predict", ner_run, "--file",
                                                         path)


# --- Bad arguments, every flag type ---------------------------------------------------------
SENTIMENT_FLAGS = [
    (["--model", "gru", "--units", "-4"], "`--units` must be a positive integer"),
    (["--model", "gru", "--units", "4", "0"], "`--units` must be a positive integer"),
    (["--model", "gru", "--dropout", "1.5"], "`--dropout` must be a number in [0, 1)"),
    (["--model", "gru", "--recurrent-dropout", "-0.1"], "`--recurrent-dropout` must be a number"),
    (["--model", "gru", "--dropout", "nan"], "`--dropout` must be a number in [0, 1)"),
    (["--model", "transformer"], "`--model` must be one of 'simple_rnn', 'lstm', 'gru'"),
    (["--model", "gru", "--pooling", "attention"], "`--pooling` must be one of"),
    (["--model", "gru", "--merge-mode", "sum"], "Add --bidirectional or leave out `--merge-mode`"),
    (["--model", "cnn", "--bidirectional"], "--model cnn does not use `--bidirectional`"),
    (["--model", "cnn", "--kernel-sizes", "0"], "`--kernel-sizes` must be a positive integer"),
    (["--model", "cnn", "--filters", "-8"], "`--filters` must be a positive integer"),
    (["--model", "fasttext", "--units", "4"], "--model fasttext does not use `--units`"),
    (["--model", "fasttext", "--embedding-dim", "0"],
     "`--embedding-dim` must be a positive integer"),
    (["--embedding-dim", "8"], "does not use `--embedding-dim`"),  # the default: nbsvm
    (["--model", "nbsvm", "--dropout", "1.5"], "`--dropout` must be a number in [0, 1)"),
    (["--learning-rate", "abc"], "argument --learning-rate: invalid float value: 'abc'"),
    (["--learning-rate", "-0.1"], "`--learning-rate` must be a positive finite number"),
    (["--learning-rate", "inf"], "`--learning-rate` must be a positive finite number"),
    (["--clipnorm", "0"], "`--clipnorm` must be a positive finite number"),
    (["--epochs", "1.5"], "argument --epochs: invalid int value: '1.5'"),
    (["--epochs", "0"], "`--epochs` must be a positive integer"),
    (["--batch-size", "-32"], "`--batch-size` must be a positive integer"),
    (["--patience", "-1"], "`--patience` must be a non-negative integer"),
    (["--seed", "-1"], "`--seed` must be an integer from 0 to 4294967295"),
    (["--verbose", "5"], "argument --verbose: invalid choice: 5"),
    (["--validation-split", "1.5"], "`--validation-split` must be a number in [0, 1)"),
    (["--test-split", "0"], "`--test-split` must be greater than 0"),
    (["--max-tokens", "2"], "`--max-tokens` counts the padding"),
    (["--min-frequency", "0"], "`--min-frequency` must be a positive integer"),
    (["--ngrams", "0"], "`--ngrams` must be a positive integer"),
    (["--language", "fr"], "`--language` must be one of 'en', 'ko'"),
    (["--empty", "skip"], "`--empty` must be one of 'drop', 'keep', 'error'"),
    (["--units"], "argument --units: expected at least one argument"),
    (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
]


@pytest.mark.parametrize("flags, message", SENTIMENT_FLAGS,
                         ids=[" ".join(flags) for flags, _ in SENTIMENT_FLAGS])
def test_bad_sentiment_flags_exit_2_before_training(tmp_path, flags, message):
    run_dir = tmp_path / "run"
    assert message in refused("sentiment", "train", "--run-dir", run_dir, *flags)
    assert not run_dir.exists()


OTHER_FLAGS = [
    (["ner", "train", "--units", "-4"], "`--units` must be a positive integer"),
    (["ner", "train", "--dropout", "1.5"], "`--dropout` must be a number in [0, 1)"),
    (["ner", "train", "--cell", "transformer"], "`--cell`"),
    (["ner", "train", "--char-kernel-size", "0"], "`--char-kernel-size` must be a positive"),
    (["char-lm", "train", "--units", "-4"], "`--units` must be a positive integer"),
    (["char-lm", "train", "--dropout", "1.5"], "`--dropout` must be a number in [0, 1)"),
    (["char-lm", "train", "--cell", "transformer"], "argument --cell: invalid choice"),
    (["char-lm", "train", "--temperature", "-1"], "`--temperature` must be a positive"),
    (["char-lm", "train", "--sequence-length", "0"], "`--sequence-length` must be a positive"),
    (["timeseries", "train", "--units", "-4"], "`--units` must be a positive integer"),
    (["timeseries", "train", "--dropout", "1.5"], "`--dropout` must be a number in [0, 1)"),
    (["timeseries", "train", "--cell", "gru2"], "argument --cell: invalid choice: 'gru2'"),
    (["timeseries", "train", "--window", "0"], "`--window` must be a positive integer"),
    (["seq2seq", "train", "--units", "-4"], "`--units` must be a positive integer"),
    (["seq2seq", "train", "--dropout", "1.5"], "`--dropout` must be a number in [0, 1)"),
    (["generate-from-vector", "train", "--noise", "-1"], "`--noise`"),
    (["gradient-flow", "--units", "-4"], "`--units` must be a positive integer"),
    (["gradient-flow", "--steps", "0"], "`--steps` must be a positive integer"),
]


@pytest.mark.parametrize("argv, message", OTHER_FLAGS,
                         ids=[" ".join(argv) for argv, _ in OTHER_FLAGS])
def test_bad_flags_of_the_other_recipes_exit_2_before_training(tmp_path, argv, message):
    run_dir = tmp_path / "run"
    assert message in refused(*argv, "--run-dir", run_dir)
    assert not run_dir.exists()


# --- Flags that do not apply with another: refused, never ignored ------------------------------
# (argv with FILE for an existing file, fragments); every pair found in the train commands.
CONFLICTS = [
    (["sentiment", "train", "--vocabulary-file", "FILE", "--min-frequency", "100000"],
     ["The vocabulary file sets the vocabulary, so `--min-frequency` does not apply",
      "Received: --min-frequency 100000"]),
    (["sentiment", "train", "--vocabulary-file", "FILE", "--max-tokens", "100"],
     ["so `--max-tokens` does not apply"]),
    (["sentiment", "train", "--vocabulary-file", "FILE", "--max-tokens", "100",
      "--min-frequency", "3"], ["so `--max-tokens` and `--min-frequency` do not apply"]),
    (["sentiment", "train", "--vocabulary-file", "FILE", "--vocabulary-sample", "10"],
     ["a vocabulary file or a sample size", "not both"]),
    (["sentiment", "train", "--validation", "FILE", "--validation-split", "0.1"],
     ["`--validation-split` holds part of `--data` out", "Leave one out"]),
    (["sentiment", "train", "--test", "FILE", "--test-split", "0.1"],
     ["`--test-split` holds part of `--data` out"]),
    (["sentiment", "train", "--shuffle-buffer", "10"], ["`--shuffle-buffer` is for a stream"]),
    (["sentiment", "train", "--model", "nbsvm", "--kernel-sizes", "3"],
     ["--model nbsvm does not use `--kernel-sizes` (used by cnn)"]),
    (["sentiment", "train", "--model", "lstm", "--filters", "8"],
     ["--model lstm does not use `--filters` (used by cnn)"]),
    (["sentiment", "train", "--model", "cnn", "--pooling", "mean"],
     ["--model cnn does not use `--pooling` (used by simple_rnn, lstm, gru)"]),
    (["ner", "train", "--char-features", "none", "--char-units", "5"],
     ["--char-features none does not use `--char-units` (used by lstm)"]),
    (["ner", "train", "--char-features", "none", "--char-filters", "5"],
     ["--char-features none does not use `--char-filters` (used by cnn)"]),
    (["ner", "train", "--char-features", "none", "--char-embedding-dim", "5", "--max-chars",
      "9"], ["--char-features none does not use `--max-chars` (used by cnn, lstm), "
             "`--char-embedding-dim` (used by cnn, lstm)", "Leave them out"]),
    (["ner", "train", "--char-features", "cnn", "--char-units", "5"],
     ["--char-features cnn does not use `--char-units` (used by lstm)"]),
    (["ner", "train", "--char-features", "lstm", "--char-kernel-size", "5"],
     ["--char-features lstm does not use `--char-kernel-size` (used by cnn)"]),
    (["ner", "train", "--dev-fraction", "0.2"],
     ["Without `--train` the embedded sample's own dev file is used, so `--dev-fraction` "
      "does not apply"]),
    (["ner", "train", "--train", "CONLL", "--dev", "CONLL", "--dev-fraction", "0.2"],
     ["is the dev set, so `--dev-fraction` does not apply", "leave out `--dev`"]),
    (["timeseries", "train", "--task", "labelling", "--data", "FILE"],
     ["--task labelling does not use `--data` (used by regression)"]),
    (["timeseries", "train", "--task", "labelling", "--window", "5", "--horizon", "2"],
     ["--task labelling does not use `--window` (used by regression), `--horizon`"]),
    (["timeseries", "train", "--task", "labelling", "--column", "close", "--format", "csv"],
     ["does not use `--column` (used by regression), `--format`"]),
    (["timeseries", "train", "--task", "labelling", "--validation-fraction", "0.2",
      "--test-fraction", "0.2"], ["does not use `--validation-fraction`"]),
    (["timeseries", "train", "--train-sequences", "10"],
     ["--task regression does not use `--train-sequences` (used by labelling)"]),
    (["timeseries", "train", "--sequence-steps", "10", "--test-sequences", "5",
      "--validation-sequences", "5"],
     ["does not use `--validation-sequences` (used by labelling), `--test-sequences`",
      "`--sequence-steps`"]),
    (["seq2seq", "train", "--task", "dates", "--max-digits", "3"], ["`--max-digits`"]),
    (["bilm", "train", "--data", "FILE", "--text-column", "text"],
     ["`--text-column` names a column of a CSV/TSV table"]),
]


@pytest.mark.parametrize("argv, fragments", CONFLICTS, ids=[" ".join(c[0]) for c in CONFLICTS])
def test_a_flag_that_does_not_apply_is_refused_naming_both(tmp_path, argv, fragments):
    files = {"FILE": write(tmp_path / "file.txt", "good\nbad\n"),
             "CONLL": write(tmp_path / "t.conll", CONLL)}
    run_dir = tmp_path / "run"
    command = [files.get(arg, arg) for arg in argv] + ["--run-dir", run_dir]
    message = refused(*command)
    for fragment in fragments:
        assert fragment in message
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", message))
    assert named <= _flags_of(command), named - _flags_of(command)  # every remedy exists
    assert not run_dir.exists()


def test_the_vocabulary_file_run_records_no_min_frequency(tmp_path):
    """Left out, --min-frequency is not written to config.json as if it had been used."""
    from seqrecipes.recipes.sentiment import _resolve

    given = {name: None for name in inspect.signature(sentiment.train).parameters}
    given.update(language="en", stream=False, vocabulary_file=str(write(
        tmp_path / "v.txt", "good\n")), empty="drop", format="auto", monitor="loss",
        baseline="none", epochs=1, batch_size=2, learning_rate=0.1, patience=1, seed=1,
        verbose=0, overwrite=False)
    config = _resolve(given)
    assert config["min_frequency"] is None and config["max_tokens"] is None
    given["vocabulary_file"] = None
    assert _resolve(given)["min_frequency"] == sentiment.MIN_FREQUENCY


# --- Seeds and sizes against their real limits, before anything is allocated -----------------
TRAIN_COMMANDS = [["sentiment", "train"], ["ner", "train"], ["char-lm", "train"],
                  ["timeseries", "train"], ["seq2seq", "train"], ["bilm", "train"],
                  ["generate-from-vector", "train"]]


@pytest.mark.parametrize("argv", TRAIN_COMMANDS, ids=[argv[0] for argv in TRAIN_COMMANDS])
def test_a_seed_above_2_to_the_32_is_refused_by_every_recipe(tmp_path, argv):
    run_dir = tmp_path / "run"
    message = refused(*argv, "--seed", "4294967296", "--run-dir", run_dir)
    assert "`--seed` must be an integer from 0 to 4294967295" in message
    assert "Received: --seed 4294967296" in message
    assert not run_dir.exists()


TOO_LARGE = [
    (["sentiment", "train", "--model", "lstm", "--units", "1000000"],
     "LSTM(--units 1000000) needs about 64,000"),
    (["sentiment", "train", "--model", "gru", "--bidirectional", "--units", "300000"],
     "GRU(--units 300000) needs about"),
    (["sentiment", "train", "--model", "fasttext", "--embedding-dim", "1000000000"],
     "727 rows x --embedding-dim 1000000000 needs about"),
    (["ner", "train", "--units", "1000000", *NER_TINY[:2]], "LSTM(--units 1000000) needs"),
    (["char-lm", "train", "--units", "1000000"], "GRU(--units 1000000) needs about 48,000"),
    (["timeseries", "train", "--units", "1000000"], "LSTM(--units 1000000) needs"),
    (["seq2seq", "train", "--units", "1000000", "--train-size", "20", "--validation-size", "4",
      "--test-size", "4"], "LSTM(--units 1000000) needs"),
    (["bilm", "train", "--units", "1000000"], "LSTM(--units 1000000) needs"),
    (["generate-from-vector", "train", "--units", "1000000", "--train-size", "20",
      "--validation-size", "4", "--test-size", "4"], "LSTM(--units 1000000) needs"),
]


@pytest.mark.parametrize("argv, fragment", TOO_LARGE, ids=[" ".join(a) for a, _ in TOO_LARGE])
def test_a_model_too_large_for_memory_is_refused_with_the_figure(tmp_path, argv, fragment):
    message = refused(*argv, "--run-dir", tmp_path / "run", "--epochs", "1")
    assert fragment in message
    assert "parameters and their optimizer state" in message
    assert re.search(r"this machine has [\d,.]+ [GM]B available", message)


def test_the_memory_figure_is_the_count_times_16_bytes(monkeypatch):
    from seqrecipes.errors import InvalidArgumentError
    from seqrecipes.models import sizes

    monkeypatch.setattr(sizes, "available_memory", lambda: 23 * 10**9)
    sizes.check_parameters_fit(10**9, "fits", fix="")  # 16 GB <= 23 GB
    with pytest.raises(InvalidArgumentError) as info:
        sizes.check_parameters_fit(3 * 10**9, "`units`=1000000", fix="Choose fewer `units`.")
    assert str(info.value).startswith(
        "`units`=1000000 needs about 48.0 GB for its 3,000,000,000 parameters")
    assert "this machine has 23.0 GB available. Choose fewer `units`." in str(info.value)
    monkeypatch.setattr(sizes, "available_memory", lambda: None)  # the system does not say
    sizes.check_parameters_fit(10**15, "unknown", fix="")


def test_available_memory_is_read_from_the_system():
    from seqrecipes.models import sizes

    available = sizes.available_memory()
    assert available is None or 0 <= available < 2**50


@pytest.mark.parametrize("argv, message", [
    (["params", "--units", "-4"], "`--units` must be a positive integer"),
    (["params", "--model", "transformer"], "`--model` must be one of"),
    (["params", "--model", "cnn", "--kernel-sizes", "3", "-5"], "`--kernel-sizes` must be"),
    (["params", "--sequence-length", "0"], "`--sequence-length` must be a positive integer"),
])
def test_bad_params_flags_exit_2(argv, message):
    assert message in refused(*argv)


def test_a_kernel_longer_than_the_text_is_same_padded_and_padding_invariant():
    """No recipe pads to a fixed length: convolutions are same-padded and masked.

    A kernel longer than the text therefore still gives one output per step, and the answer
    does not depend on how far the batch is padded (the builder refuses such a kernel only
    with `mask_zero=False` and a fixed `sequence_length`: tests/test_conv.py).
    """
    out, _ = succeeded("params", "--model", "cnn", "--kernel-sizes", "50", "--filters", "4",
                       "--embedding-dim", "8", "--vocabulary-size", "20",
                       "--sequence-length", "10")
    assert re.search(r"conv_50\s+MaskedConv1D\s+8\s+\(None, 10, 4\)\s+\(50\*8\+1\)\*4", out)
    settings = _model_flags.resolve_model_settings(
        "cnn", {**dict.fromkeys(_model_flags.ALL_SETTINGS), "kernel_sizes": [50],
                "filters": 4, "embedding_dim": 8})
    model = _model_flags.build_classifier(settings, vocabulary_size=20, num_classes=2)
    short = model(tf.constant([[5, 7]])).numpy()
    padded = model(tf.constant([[5, 7] + [0] * 98])).numpy()
    np.testing.assert_allclose(short, padded, rtol=1e-6)
    assert np.isfinite(short).all()



# --- Numerics (the mechanism, and the kept weights: tests/test_training.py) -------------------

def test_a_diverging_run_stops_with_the_epoch_and_the_fix(tmp_path):
    run_dir = tmp_path / "run"
    message = refused("sentiment", "train", "--run-dir", run_dir, "--learning-rate", "1e30",
                      "--epochs", "2", *SENTIMENT_TINY)
    assert re.search(r"The loss became (nan|inf|-inf) in epoch 1, batch(es \d+-| )\d+", message)
    assert "--learning-rate" in message and "--clipnorm" in message
    assert not (run_dir / "run.json").exists()
    # Nothing was kept, so the suggested fix works in the same directory.
    succeeded("sentiment", "train", "--run-dir", run_dir, "--learning-rate", "0.01",
              "--epochs", "1", *SENTIMENT_TINY)


# --- One message, in the caller's words ---------------------------------------------------------
# The same mistake from the command line names the flag (and suggests only flags that exist);
# from Python it names the argument. (files, argv, python call, CLI fragments, Python fragments)
BROKEN_IOB2 = "Paris B-LOC\nis O\n\nwon O\nRome I-LOC\n"
SPACED_TOKENS = "New York\tB-LOC\nis\tO\n\nAda\tB-PER\n"
TEXTS = "body,label\ngood,1\nbad,0\nfine,1\npoor,0\n"


def _python_sentiment_train(files, run_dir, **kwargs):
    from seqrecipes.recipes import sentiment as api

    return api.train(run_dir=run_dir, epochs=1, **kwargs)


def _python_ner_train(files, run_dir, **kwargs):
    from seqrecipes.recipes import ner as api

    return api.train(run_dir=run_dir, epochs=1, char_features="none", embedding_dim=4,
                     units=(4,), **kwargs)


CALLER_CASES = [
    ("missing data file", {},
     lambda f, r: ["sentiment", "train", "--data", f["dir"] / "nope.csv", "--run-dir", r],
     lambda f, r: _python_sentiment_train(f, r, data=f["dir"] / "nope.csv"),
     ["`--data`: no such file"], ["`data`: no such file"]),
    ("missing evaluation file", {},
     lambda f, r: ["sentiment", "evaluate", r, f["dir"] / "nope.csv"],
     lambda f, r: sentiment.evaluate(r, f["dir"] / "nope.csv"),
     ["`DATA`: no such file"], ["`data`: no such file"]),
    ("text column not in the file", {"t.csv": TEXTS},
     lambda f, r: ["sentiment", "train", "--data", f["t.csv"], "--text-column", "review_text",
                   "--run-dir", r],
     lambda f, r: _python_sentiment_train(f, r, data=f["t.csv"], text_column="review_text"),
     ["--text-column review_text is not a column"],
     ["`text_column`='review_text' is not a column"]),
    ("dialect not told by the name", {"t.txt": "reviews\ngood\n"},
     lambda f, r: ["sentiment", "train", "--data", f["t.txt"], "--run-dir", r],
     lambda f, r: _python_sentiment_train(f, r, data=f["t.txt"]),
     ["pass --format csv or --format tsv"], ["pass format='csv' or format='tsv'"]),
    ("model setting the model does not use", {},
     lambda f, r: ["sentiment", "train", "--model", "cnn", "--units", "4", "--run-dir", r],
     lambda f, r: _python_sentiment_train(f, r, model="cnn", units=4),
     ["--model cnn does not use `--units`", "choose another `--model`"],
     ["model='cnn' does not use `units`", "choose another `model`"]),
    ("IOB2 entity starting with I-", {"t.conll": BROKEN_IOB2},
     lambda f, r: ["ner", "train", "--train", f["t.conll"], "--run-dir", r],
     lambda f, r: _python_ner_train(f, r, train=f["t.conll"]),
     ["Pass --invalid repair", "or --scheme iob1"],
     ["Pass invalid='repair'", "or scheme='iob1'"]),
    ("tokens with spaces split on whitespace", {"t.conll": SPACED_TOKENS},
     lambda f, r: ["ner", "train", "--train", f["t.conll"], "--run-dir", r],
     lambda f, r: _python_ner_train(f, r, train=f["t.conll"]),
     ["pass --delimiter '\\t'"], ["pass delimiter='\\t'"]),
    ("tags that are not IOB", {"t.conll": "Rome NNP\nwon VBD\n"},
     lambda f, r: ["ner", "train", "--train", f["t.conll"], "--run-dir", r],
     lambda f, r: _python_ner_train(f, r, train=f["t.conll"]),
     ["with `--tag-column`", "`--delimiter`"], ["with `tag_column`", "`delimiter`"]),
    ("dev split of nothing", {"t.conll": CONLL},
     lambda f, r: ["ner", "train", "--train", f["t.conll"], "--dev-fraction", "0",
                   "--run-dir", r],
     lambda f, r: _python_ner_train(f, r, train=f["t.conll"], dev_fraction=0),
     ["a `--dev` file, or a `--dev-fraction` above 0", "Received: --dev-fraction 0."],
     ["a `dev` file, or a `dev_fraction` above 0", "Received: dev_fraction=0."]),
    ("series column not in the file", {"s.csv": "day,close\n1,3.5\n2,3.7\n"},
     lambda f, r: ["timeseries", "train", "--data", f["s.csv"], "--column", "open",
                   "--run-dir", r],
     lambda f, r: timeseries.train(data=f["s.csv"], column="open", run_dir=r),
     ["--column open is not a column"], ["`column`='open' is not a column"]),
    ("vectors: no word seen min_count times", {"c.txt": "one two three\n"},
     lambda f, r: ["vectors", "train", "--data", f["c.txt"], "--run-dir", r],
     lambda f, r: vectors.train(data=f["c.txt"], run_dir=r),
     ["c.txt: no word occurs --min-count 5 times", "Lower `--min-count`"],
     ["no word occurs min_count=5 times", "Lower `min_count`"]),
    ("vectors: a CoNLL setting for a table", {"t.csv": "text\nHello there\n"},
     lambda f, r: ["vectors", "train", "--data", f["t.csv"], "--token-column", "1",
                   "--run-dir", r],
     lambda f, r: vectors.train(data=f["t.csv"], token_column=1, run_dir=r),
     ["`--token-column` (conll files) does not apply", "Received: --token-column 1."],
     ["`token_column` (conll files) does not apply", "Received: token_column=1."]),
]


def _flags_of(argv):
    """Every option string of the command `argv` runs (its parser and its parents')."""
    from seqrecipes.cli import _invoked_actions, build_parser

    parser = build_parser()
    args, _ = parser.parse_known_args([str(arg) for arg in argv])
    return {option for action in _invoked_actions(parser, args)
            for option in action.option_strings}


@pytest.mark.parametrize("name, files, argv, call, cli_fragments, python_fragments",
                         CALLER_CASES, ids=[case[0] for case in CALLER_CASES])
def test_errors_name_the_flag_on_the_command_line_and_the_argument_in_python(
    tmp_path, name, files, argv, call, cli_fragments, python_fragments
):
    paths = {"dir": tmp_path}
    for file_name, content in files.items():
        paths[file_name] = write(tmp_path / file_name, content)
    command = argv(paths, tmp_path / "cli_run")
    message = refused(*command)
    for fragment in cli_fragments:
        assert fragment in message
    # Every flag the message names exists in the command that ran.
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", message))
    assert named <= _flags_of(command), named - _flags_of(command)
    with pytest.raises(SeqrecipesError) as raised:
        call(paths, tmp_path / "python_run")
    for fragment in python_fragments:
        assert fragment in str(raised.value)
    assert "--" not in str(raised.value).replace("-DOCSTART-", "")


def test_the_remedies_the_conll_errors_suggest_work_from_the_command_line(tmp_path):
    broken = write(tmp_path / "broken.conll", BROKEN_IOB2 * 4)
    succeeded("ner", "train", "--train", broken, "--invalid", "repair", "--epochs", "1",
              "--run-dir", tmp_path / "repaired", *NER_TINY)
    spaced = write(tmp_path / "spaced.conll", SPACED_TOKENS * 4)
    succeeded("ner", "train", "--train", spaced, "--delimiter", "\\t", "--epochs", "1",
              "--run-dir", tmp_path / "tabs", *NER_TINY)
    config = json.loads((tmp_path / "tabs" / "config.json").read_text())
    assert config["delimiter"] == "\t" and config["invalid"] == "error"
    # --scheme refuses "none" (entities need IOB tags), so no error suggests it to NER users.
    assert "invalid choice: 'none'" in refused("ner", "train", "--scheme", "none")
