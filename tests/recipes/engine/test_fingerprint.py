"""`engine.fingerprint`: which settings name input files (one rule for every recipe), and what
counts as a change."""

import hashlib
import os

import pytest

from seqrecipes.recipes.engine import fingerprint as _fingerprint


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("train.csv", "test.csv", "vocabulary.txt", "shard-1.tsv", "shard-2.tsv"):
        (tmp_path / name).write_text(f"content of {name}\n")
    (tmp_path / "bilm_run").mkdir()
    (tmp_path / "bilm_run" / "run.json").write_text("{}")
    (tmp_path / "not_a_run").mkdir()
    return tmp_path


def test_sha256_is_hashlib_s(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 3_000_000)
    assert _fingerprint.sha256(path) == hashlib.sha256(b"x" * 3_000_000).hexdigest()


def test_input_files_one_rule_for_every_recipe(files):
    config = {
        # sentiment
        "data": "train.csv", "test": "test.csv", "validation": None,
        "vocabulary_file": "vocabulary.txt", "text_column": "text", "language": "en",
        "kernel_sizes": [3, 4], "class_weight": {"pos": 2.0},
        # ner: a run directory counts by its manifest; char_lm, bilm, timeseries: `data`
        "bilm": "bilm_run", "dev": "not_a_run",
        # the run's own directory is an output, even when it holds a run
        "run_dir": "bilm_run",
    }
    assert _fingerprint.input_files(config) == {
        "data": ["train.csv"], "test": ["test.csv"], "vocabulary_file": ["vocabulary.txt"],
        "bilm": [os.path.join("bilm_run", "run.json")],
    }


def test_a_stream_s_patterns_and_lists_name_every_matching_file(files):
    config = {"data": ["shard-*.tsv", "train.csv"], "test": "nothing-*.csv"}
    assert _fingerprint.input_files(config) == {
        "data": ["shard-1.tsv", "shard-2.tsv", "train.csv"],
    }


def test_path_objects_count_as_their_strings(files):
    assert _fingerprint.input_files({"data": files / "train.csv"}) == {
        "data": [os.fspath(files / "train.csv")]
    }


def _differences(files, change):
    config = {"data": "shard-*.tsv", "test": "test.csv"}
    then = _fingerprint.fingerprint(config)
    change(files)
    return _fingerprint.differences(then, _fingerprint.fingerprint(config))


def test_nothing_changed_and_a_touch_are_no_difference(files):
    assert _differences(files, lambda folder: None) == []
    assert _differences(files, lambda folder: os.utime(folder / "test.csv", (1, 1))) == []


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda folder: (folder / "test.csv").write_text("CONTENT OF test.csv\n"),
         "`test` file 'test.csv': its content changed (same size, 20 bytes)"),
        (lambda folder: (folder / "test.csv").write_text("more\n" * 10),
         "`test` file 'test.csv': 20 bytes then, 50 bytes now, its content changed"),
        (lambda folder: (folder / "test.csv").unlink(), "`test` file 'test.csv' is missing now"),
        (lambda folder: (folder / "shard-2.tsv").unlink(),
         "`data` file 'shard-2.tsv' is missing now"),
        (lambda folder: (folder / "shard-3.tsv").write_text("new\n"),
         "`data` names a file it did not name then: 'shard-3.tsv'"),
    ],
)
def test_each_change_is_one_phrase_naming_the_setting_and_the_file(files, change, expected):
    assert _differences(files, change) == [expected]


def test_the_record_holds_size_time_and_content(files):
    record = _fingerprint.file_record(files / "test.csv")
    assert record["bytes"] == 20
    assert record["mtime_ns"] == os.stat(files / "test.csv").st_mtime_ns
    assert record["sha256"] == hashlib.sha256(b"content of test.csv\n").hexdigest()
