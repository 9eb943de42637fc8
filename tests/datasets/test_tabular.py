import gzip

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqrecipes.datasets import load_table
from seqrecipes.errors import DataError, DataFileNotFoundError, InvalidArgumentError


def write(tmp_path, name, content):
    path = tmp_path / name
    data = content.encode("utf-8") if isinstance(content, str) else content
    if name.endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


NSMC_LIKE = (
    "id\tdocument\tlabel\n"
    "1\t아 더빙.. 진짜 짜증나네요\t0\n"
    '2\t"""따옴표"" 그대로"""\t1\n'
    "3\t\t1\n"
    "4\tNA\t0\n"
)


def test_nsmc_layout_keeps_quotes_and_na_literally(tmp_path):
    data = load_table(write(tmp_path, "ratings.txt", NSMC_LIKE), empty="keep")
    assert data.format == "tsv"
    assert data.texts == ["아 더빙.. 진짜 짜증나네요", '"""따옴표"" 그대로"""', "", "NA"]
    assert data.labels == [0, 1, 1, 0]
    assert data.classes == (0, 1)
    assert data.label_counts == {0: 2, 1: 2}
    assert data.num_empty == 1
    assert repr(data) == (
        f"LabelledTexts(path={str(data.path)!r}, format='tsv', texts=4, classes=(0, 1), "
        "num_empty=1, empty='keep')"
    )


def test_empty_documents_error_names_count_lines_and_flag(tmp_path):
    path = write(tmp_path, "ratings.txt", NSMC_LIKE)
    with pytest.raises(DataError) as info:
        load_table(path)
    message = str(info.value)
    assert str(path) in message
    assert "1 empty documents" in message and "lines 4" in message
    assert "empty='drop'" in message and "empty='keep'" in message


def test_empty_documents_drop_keeps_rows_aligned(tmp_path):
    data = load_table(write(tmp_path, "ratings.txt", NSMC_LIKE), empty="drop")
    assert data.texts == ["아 더빙.. 진짜 짜증나네요", '"""따옴표"" 그대로"""', "NA"]
    assert data.labels == [0, 1, 0]
    assert data.rows == (1, 2, 4)
    assert data.num_empty == 1
    assert "1 empty documents (dropped)" in data.summary()


def test_whitespace_only_document_counts_as_empty(tmp_path):
    data = load_table(write(tmp_path, "a.tsv", "text\tlabel\n   \t1\nok\t0\n"), empty="keep")
    assert data.num_empty == 1


def test_csv_with_commas_quotes_tabs_and_newlines(tmp_path):
    content = 'text,label,rating\n"Good, ""really"" good\tfilm",1,9\n"two\nlines",0,2\n'
    data = load_table(write(tmp_path, "reviews.csv", content))
    assert data.texts == ['Good, "really" good\tfilm', "two\nlines"]
    assert data.labels == [1, 0]


def test_gzip_is_read_transparently_whatever_the_name(tmp_path):
    plain = load_table(write(tmp_path, "a.csv", "text,label\nx,1\ny,0\n"))
    zipped = load_table(write(tmp_path, "b.csv.gz", "text,label\nx,1\ny,0\n"))
    path = tmp_path / "c.csv"
    path.write_bytes(gzip.compress(b"text,label\nx,1\ny,0\n"))
    assert plain.texts == zipped.texts == load_table(path).texts == ["x", "y"]


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("a.txt", "text\tlabel\nx, y\t1\n", "tsv"),
        ("a.txt", "text,label\nx\ty,1\n", "csv"),
        ("a.tsv.gz", "text\tlabel\nx\t1\n", "tsv"),
        ("a.data", "text,label\nx,1\n", "csv"),
    ],
)
def test_format_is_detected_from_name_then_header(tmp_path, name, content, expected):
    assert load_table(write(tmp_path, name, content)).format == expected


def test_format_override_beats_the_extension(tmp_path):
    data = load_table(write(tmp_path, "a.csv", "text\tlabel\nx, y\t1\n"), format="tsv")
    assert data.texts == ["x, y"]


def test_string_labels_and_named_columns(tmp_path):
    content = "review,sentiment,stars\nfine,positive,5\nbad,negative,1\nok,positive,4\n"
    data = load_table(write(tmp_path, "r.csv", content))
    assert data.labels == ["positive", "negative", "positive"]
    assert data.classes == ("negative", "positive")
    assert data.label_ids().tolist() == [1, 0, 1]
    other = load_table(write(tmp_path, "s.csv", content), text_column="sentiment",
                       label_column="stars")
    assert other.labels == [5, 1, 4] and other.texts[0] == "positive"


def test_label_ids_against_training_classes_names_unknown_label(tmp_path):
    path = write(tmp_path, "test.csv", 'text,label\n"multi\nline",pos\nb,neutral\n')
    data = load_table(path)
    assert data.label_ids(["neutral", "pos"]).tolist() == [1, 0]
    with pytest.raises(DataError) as info:
        data.label_ids(["neg", "pos"])
    message = str(info.value)
    assert f"{path}:4" in message  # the record after a two-line field starts on line 4
    assert "'neutral'" in message and "['neg', 'pos']" in message


def test_windows_line_endings_and_bom(tmp_path):
    content = "\ufefftext,label\r\nfirst,1\r\nsecond,0\r\n"
    data = load_table(write(tmp_path, "w.csv", content))
    assert data.texts == ["first", "second"] and data.labels == [1, 0]
    tsv = load_table(write(tmp_path, "w.tsv", "id\tdocument\tlabel\r\n1\tx\t1\r\n"))
    assert tsv.texts == ["x"] and tsv.labels == [1]


# --- bad input: one test per case, each checking the message ---------------------------------


def test_missing_file_names_the_path(tmp_path):
    path = tmp_path / "nope.tsv"
    with pytest.raises(DataFileNotFoundError, match="nope.tsv") as info:
        load_table(path)
    assert isinstance(info.value, FileNotFoundError)


def test_directory_is_not_a_file(tmp_path):
    with pytest.raises(DataFileNotFoundError, match="is a directory"):
        load_table(tmp_path)


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_file(tmp_path, content):
    path = write(tmp_path, "e.csv", content)
    with pytest.raises(DataError, match="the file is empty") as info:
        load_table(path)
    assert str(path) in str(info.value)


def test_header_only(tmp_path):
    with pytest.raises(DataError, match=r"has a header \(text, label\) but no rows"):
        load_table(write(tmp_path, "h.csv", "text,label\n"))


def test_csv_read_as_tsv_suggests_csv(tmp_path):
    path = write(tmp_path, "r.csv", "text,label\nx,1\n")
    single = "header 'text,label' is a single column when read as TSV"
    with pytest.raises(DataError, match=single) as info:
        load_table(path, format="tsv")
    assert "pass format='csv'" in str(info.value) and f"{path}:1" in str(info.value)


def test_tsv_named_csv_suggests_tsv(tmp_path):
    with pytest.raises(DataError, match="pass format='tsv'"):
        load_table(write(tmp_path, "r.csv", "id\tdocument\tlabel\n1\tx\t1\n"))


def test_header_without_delimiter(tmp_path):
    with pytest.raises(DataError, match="neither a tab nor a comma"):
        load_table(write(tmp_path, "r.txt", "text label\nx 1\n"))


def test_invalid_utf8_names_byte_offset_and_line(tmp_path):
    raw = "text,label\ngood,1\n".encode() + b"caf\xe9,0\n"
    path = write(tmp_path, "latin.csv", raw)
    with pytest.raises(DataError) as info:
        load_table(path)
    message = str(info.value)
    assert f"{path}:3" in message and "byte offset 21" in message and "UTF-8" in message


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "broken.csv.gz"
    path.write_bytes(gzip.compress(b"text,label\nx,1\n" * 50)[:30])
    with pytest.raises(DataError, match="cannot be decompressed"):
        load_table(path)


def test_missing_column_lists_columns(tmp_path):
    path = write(tmp_path, "r.csv", "text,label\nx,1\n")
    with pytest.raises(DataError, match=r"The columns are \['text', 'label'\]"):
        load_table(path, label_column="stars")


def test_no_default_column_lists_columns_and_argument(tmp_path):
    with pytest.raises(DataError) as info:
        load_table(write(tmp_path, "r.csv", "body,label\nx,1\n"))
    assert "['body', 'label']" in str(info.value) and "`text_column`" in str(info.value)


def test_missing_label_names_the_line(tmp_path):
    path = write(tmp_path, "r.tsv", "id\tdocument\tlabel\n1\tok\t1\n2\tno label\t\n3\tshort\n")
    with pytest.raises(DataError) as info:
        load_table(path)
    message = str(info.value)
    assert f"{path}:3" in message and "2 rows without a label" in message
    assert "lines 3, 4" in message and "never filled in" in message


def test_row_with_too_many_fields_names_the_line(tmp_path):
    path = write(tmp_path, "r.tsv", "text\tlabel\nok\t1\nhas\ta tab\t0\n")
    with pytest.raises(DataError, match="line 3") as info:
        load_table(path)
    assert "tab inside a text" in str(info.value)


def test_first_row_with_too_many_fields_is_an_error_not_a_warning(tmp_path):
    # pandas only warns here and drops the extra field; we refuse.
    path = write(tmp_path, "r.tsv", "text\tlabel\nhas\ta tab\t0\nok\t1\n")
    with pytest.raises(DataError, match="first row has more fields than the header"):
        load_table(path)


def test_unclosed_quote(tmp_path):
    with pytest.raises(DataError, match="unclosed quote"):
        load_table(write(tmp_path, "r.csv", 'text,label\n"never closed,1\nx,0\n'))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"format": "xlsx"}, "`format` must be one of 'auto', 'csv', 'tsv'"),
        ({"empty": "fill"}, "`empty` must be one of 'error', 'drop', 'keep'"),
        ({"text_column": ""}, "`text_column` must be a non-empty string"),
        ({"text_column": "x", "label_column": "x"}, "both 'x'"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        load_table(write(tmp_path, "r.csv", "text,label\nx,1\n"), **kwargs)


# --- the real datasets (skipped when ../shared/data is absent) --------------------------------


def test_nsmc_counts(shared_data):
    train = load_table(shared_data / "nsmc" / "ratings_train.txt.gz", empty="keep")
    assert len(train) == 150_000 and train.label_counts == {0: 75_173, 1: 74_827}
    assert train.num_empty == 5
    assert sum(text.startswith('"') for text in train.texts) == 623  # quote artefacts kept
    test = load_table(shared_data / "nsmc" / "ratings_test.txt.gz", empty="drop")
    assert test.num_empty == 3 and len(test) == 49_997
    assert test.label_counts == {0: 24_827 - 1, 1: 25_173 - 2}


def test_nsmc_refuses_to_decide_about_empty_documents(shared_data):
    with pytest.raises(DataError, match="5 empty documents .* lines 25859, 55739, 110016"):
        load_table(shared_data / "nsmc" / "ratings_train.txt.gz")


@pytest.mark.parametrize("split", ["train", "test"])
def test_imdb_counts(shared_data, split):
    data = load_table(shared_data / "imdb" / f"{split}.csv.gz")
    assert data.format == "csv" and len(data) == 25_000
    assert data.label_counts == {0: 12_500, 1: 12_500} and data.num_empty == 0
    assert sum("\t" in text for text in data.texts) == {"train": 12, "test": 15}[split]


# --- any text at all: a result or a DataError, never a crash -----------------------------------

# Small and without deadline: the suite stays fast on a busy 2-core machine.
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

LINES = st.lists(st.text(max_size=30), max_size=8)


@FUZZ
@given(lines=LINES, header=st.sampled_from(["text,label", "id\tdocument\tlabel", ""]),
       name=st.sampled_from(["a.csv", "a.tsv", "a.txt"]), empty=st.sampled_from(["keep", "drop"]))
def test_arbitrary_lines_give_a_table_or_a_data_error(tmp_path, lines, header, name, empty):
    path = write(tmp_path, name, "\n".join([header, *lines]))
    try:
        data = load_table(path, empty=empty)
    except DataError:
        return
    assert len(data.texts) == len(data.labels) == len(data.rows)
    assert all(isinstance(text, str) for text in data.texts)
    data.label_ids()
    data.summary()


@settings(FUZZ, max_examples=40)
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_give_a_table_or_a_data_error(tmp_path, raw):
    path = write(tmp_path, "b.csv", b"text,label\n" + raw)
    try:
        load_table(path, empty="keep")
    except DataError:
        pass
