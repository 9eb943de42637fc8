import gzip

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqrecipes.datasets import load_series, load_text, split_text
from seqrecipes.errors import DataError, DataFileNotFoundError, InvalidArgumentError


def write(tmp_path, name, content):
    path = tmp_path / name
    data = content.encode("utf-8") if isinstance(content, str) else content
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


def test_load_text_normalises_line_endings_and_bom(tmp_path):
    path = write(tmp_path, "a.txt", "\ufeffone\r\ntwo\rthree\n")
    assert load_text(path) == "one\ntwo\nthree\n"


def test_load_text_gzip(tmp_path):
    assert load_text(write(tmp_path, "a.txt.gz", "héllo\n")) == "héllo\n"


@pytest.mark.parametrize("content, what", [("", "empty"), (" \n\n\t", "only whitespace")])
def test_load_text_empty(tmp_path, content, what):
    path = write(tmp_path, "a.txt", content)
    with pytest.raises(DataError, match=f"the file is {what}") as info:
        load_text(path)
    assert str(path) in str(info.value)


def test_load_text_invalid_utf8_names_offset_and_line(tmp_path):
    path = write(tmp_path, "a.txt", b"ok\nstill ok\nbad \x80 byte\n")
    with pytest.raises(DataError) as info:
        load_text(path)
    message = str(info.value)
    assert f"{path}:3:" in message and "byte offset 16" in message
    assert "byte 5 of the line" in message


def test_load_text_missing(tmp_path):
    with pytest.raises(DataFileNotFoundError, match="corpus.txt"):
        load_text(tmp_path / "corpus.txt")


def test_split_text_levels():
    text = "It's late.\nGo!"
    assert split_text(text) == list(text)
    assert split_text(text, level="word") == ["It's", "late", ".", "\n", "Go", "!"]
    assert split_text("한국어 문장, 좋아요", level="word") == ["한국어", "문장", ",", "좋아요"]


@pytest.mark.parametrize("kwargs, match", [({"level": "byte"}, "`level` must be one of")])
def test_split_text_bad_level(kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        split_text("abc", **kwargs)


def test_split_text_needs_a_string():
    with pytest.raises(InvalidArgumentError, match="`text` must be a str"):
        split_text(["a", "b"])


SERIES = "date,value,volume\n2024-01-01,1.5,10\n2024-01-02,-2,11\n2024-01-03,3e2,12\n"


def test_load_series(tmp_path):
    path = write(tmp_path, "s.csv", SERIES)
    values = load_series(path, "value")
    assert values.dtype == np.float64
    np.testing.assert_array_equal(values, [1.5, -2.0, 300.0])
    np.testing.assert_array_equal(load_series(path, "volume"), [10, 11, 12])


def test_load_series_tsv_and_single_column(tmp_path):
    np.testing.assert_array_equal(load_series(write(tmp_path, "s.tsv", "v\n1\n2\n"), "v"), [1, 2])
    tsv = write(tmp_path, "s.txt", "date\tv\nx\t3\n")
    np.testing.assert_array_equal(load_series(tsv, "v"), [3])


def test_load_series_missing_column_lists_columns(tmp_path):
    with pytest.raises(DataError, match=r"The columns are \['date', 'value', 'volume'\]"):
        load_series(write(tmp_path, "s.csv", SERIES), "price")


@pytest.mark.parametrize(
    "cell, shown",
    [("abc", "'abc'"), ("", "''"), ("NaN", "'NaN'"), ("inf", "'inf'"), ("1,5", None)],
)
def test_load_series_bad_cells_name_line_and_value(tmp_path, cell, shown):
    content = f"date,value\n2024-01-01,1\n2024-01-02,{cell}\n"
    if cell == "1,5":
        content = 'date,value\n2024-01-01,1\n2024-01-02,"1,5"\n'
        shown = "'1,5'"
    path = write(tmp_path, "s.csv", content)
    with pytest.raises(DataError) as info:
        load_series(path, "value")
    message = str(info.value)
    assert f"{path}:3:" in message and f"line 3: {shown}" in message
    assert "never filled in" in message


def test_load_series_counts_all_bad_cells(tmp_path):
    content = "v\n" + "\n".join(["1", "x"] * 8) + "\n"
    with pytest.raises(DataError, match=r"8 value\(s\).*line 3: 'x', line 5: 'x'.*, \.\.\.\)"):
        load_series(write(tmp_path, "s.csv", content), "v")


def test_load_series_header_only(tmp_path):
    with pytest.raises(DataError, match="but no rows"):
        load_series(write(tmp_path, "s.csv", "date,value\n"), "value")


def test_tiny_shakespeare(shared_data):
    text = load_text(shared_data / "tinyshakespeare" / "input.txt")
    assert len(text) == 1_115_394 and len(set(text)) == 65
    assert text.startswith("First Citizen:\nBefore we proceed any further, hear me speak.")


# --- any text at all: a result or a DataError, never a crash -----------------------------------

# Small and without deadline: the suite stays fast on a busy 2-core machine.
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(lines=st.lists(st.text(max_size=30), max_size=8), raw=st.binary(max_size=40))
def test_arbitrary_content_gives_text_or_a_data_error(tmp_path, lines, raw):
    for content in ("\n".join(lines), raw):
        path = write(tmp_path, "a.txt", content)
        try:
            text = load_text(path)
        except DataError:
            continue
        assert "\r" not in text and text.strip()
        assert split_text(text, level="word") is not None


@FUZZ
@given(cells=st.lists(st.text(max_size=12), min_size=1, max_size=8))
def test_arbitrary_cells_give_a_series_or_a_data_error(tmp_path, cells):
    path = write(tmp_path, "s.csv", "value\n" + "\n".join(cells) + "\n")
    try:
        values = load_series(path, "value")
    except DataError:
        return
    assert np.isfinite(values).all()
