"""Inputs recognised before they are parsed (`datasets/_content.py`), through every reader.

Compressed files are read by their magic bytes whatever their name (zstd refused with its
command), UTF-16 / UTF-32 decoded, binary files refused as "not a text file" (never blamed on a
carriage return or a delimiter), and a header that names a column twice or comes back inside
the data is refused with file:line. Each case is one small file: nothing trains here.
"""

import bz2
import gzip
import io
import lzma
import re
import zipfile

import numpy as np
import pytest

from seqrecipes.datasets import _files, load_conll, load_series, load_table, load_text
from seqrecipes.datasets.streaming import iter_labelled_texts
from seqrecipes.errors import DataError

TABLE = "text,label\r\ngood film,1\r\nbad film,0\r\n"  # CRLF: the UTF-16 file had it
TEXTS = ["good film", "bad film"]
CONLL = "Ada B-PER\nLovelace I-PER\nwrote O\n\nParis B-LOC\n"
CORPUS = "first line\nsecond line\n"


def _zip(data, names=("inner.csv",)):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, data)
    return buffer.getvalue()


COMPRESSIONS = {
    "gzip": gzip.compress,
    "bzip2": bz2.compress,
    "xz": lzma.compress,
    "zip": _zip,
}


def _read_stream(path):
    return [text for text, _ in iter_labelled_texts(path)]


# Each reader: (what it reads, its content, how to read a path, what it must give back).
READERS = {
    "table": (TABLE, lambda path: load_table(path).texts, TEXTS),
    "stream": (TABLE, _read_stream, TEXTS),
    "text": (CORPUS, load_text, CORPUS),
    "conll": (CONLL, lambda path: load_conll(path).tokens,
              [["Ada", "Lovelace", "wrote"], ["Paris"]]),
}


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_compressed_files_are_read_by_their_magic_bytes(tmp_path, compression, reader):
    content, read, expected = READERS[reader]
    path = tmp_path / f"data.csv.{compression}"
    path.write_bytes(COMPRESSIONS[compression](content.encode("utf-8")))
    assert read(path) == expected


def test_the_name_does_not_matter_only_the_content(tmp_path):
    path = tmp_path / "reviews.csv"  # xz inside a plain name
    path.write_bytes(lzma.compress(TABLE.encode("utf-8")))
    assert load_table(path).texts == TEXTS


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz", ".zip", ".zst", ".GZ"])
def test_the_dialect_is_read_from_the_name_under_any_compression_suffix(suffix):
    assert _files.stripped_name(f"shards/train.tsv{suffix}") == "train.tsv"


@pytest.mark.parametrize("reader", ["table", "stream"])
def test_zstd_is_refused_with_the_command_that_decompresses_it(tmp_path, reader):
    path = tmp_path / "data.csv.zst"
    path.write_bytes(b"\x28\xb5\x2f\xfd" + bytes(range(40)))
    with pytest.raises(DataError) as info:
        READERS[reader][1](path)
    message = str(info.value)
    assert f"{path}: a zstd-compressed file" in message
    assert f"`zstd -d {path}`" in message


@pytest.mark.parametrize("compression, cut", [("gzip", 20), ("bzip2", 30), ("xz", 40),
                                              ("zip", 30)])
def test_a_truncated_compressed_file_says_it_cannot_be_decompressed(tmp_path, compression,
                                                                     cut):
    path = tmp_path / "data.csv.x"
    data = COMPRESSIONS[compression]((TABLE * 40).encode("utf-8"))
    path.write_bytes(data[:cut])
    with pytest.raises(DataError, match=f"{path}: starts like a {compression} file but "
                       "cannot be decompressed"):
        load_table(path)


def test_a_zip_of_several_files_names_them_and_how_to_extract_one(tmp_path):
    path = tmp_path / "data.zip"
    path.write_bytes(_zip(TABLE, names=("train.csv", "test.csv")))
    with pytest.raises(DataError) as info:
        load_table(path)
    message = str(info.value)
    assert "a zip archive of 2 files ('train.csv', 'test.csv')" in message
    assert f"`unzip {path} NAME`" in message


def test_an_excel_workbook_is_named_and_the_fix_is_to_save_csv(tmp_path):
    path = tmp_path / "reviews.xlsx"
    path.write_bytes(_zip("<xml/>", names=("[Content_Types].xml", "xl/workbook.xml")))
    with pytest.raises(DataError, match=r"an Excel workbook \(\.xlsx\), not a text file\. "
                       "Save the sheet as CSV"):
        load_table(path)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
@pytest.mark.parametrize("reader", ["table", "stream"])
def test_utf16_and_utf32_are_decoded_with_or_without_a_byte_order_mark(tmp_path, codec,
                                                                       reader):
    path = tmp_path / "data.csv"
    path.write_bytes(TABLE.encode(codec))  # "utf-16"/"utf-32" write a BOM, -le/-be do not
    assert READERS[reader][1](path) == TEXTS


def test_korean_utf16_without_a_byte_order_mark(tmp_path):
    path = tmp_path / "nsmc.tsv"
    path.write_bytes("id\tdocument\tlabel\n1\t아 더빙.. 진짜 짜증나네요\t0\n2\t가나다 갊\t1\n"
                     .encode("utf-16-le"))
    assert load_table(path).texts == ["아 더빙.. 진짜 짜증나네요", "가나다 갊"]


def test_utf16_conll_and_text(tmp_path):
    conll = tmp_path / "tagged.conll"
    conll.write_bytes(CONLL.encode("utf-16"))
    assert load_conll(conll).tags == [["B-PER", "I-PER", "O"], ["B-LOC"]]
    corpus = tmp_path / "corpus.txt"
    corpus.write_bytes(CORPUS.replace("\n", "\r\n").encode("utf-16"))
    assert load_text(corpus) == CORPUS


def test_broken_utf16_after_its_byte_order_mark_names_the_offset_and_iconv(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(TABLE.encode("utf-16") + b"\x00\xd8")  # a lone high surrogate
    with pytest.raises(DataError) as info:
        load_table(path)
    message = str(info.value)
    assert "reads as UTF-16 from its start but is not valid UTF-16 at byte offset" in message
    assert "iconv -f UTF-16 -t UTF-8" in message


@pytest.mark.parametrize("reader", READERS)
def test_random_bytes_are_not_a_text_file_never_a_carriage_return(tmp_path, reader):
    path = tmp_path / "data.csv"
    path.write_bytes(np.random.default_rng(0).bytes(2000))
    with pytest.raises(DataError) as info:
        READERS[reader][1](path)
    message = str(info.value)
    assert f"{path}: not a text file" in message
    assert "carriage return" not in message and "delimiter" not in message


@pytest.mark.parametrize("magic, what", [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a PNG image"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "an old Office file (.xls / .doc)"),
    (b"PK\x05\x06" + bytes(18), "an empty zip archive"),
])
def test_known_binary_formats_are_named(tmp_path, magic, what):
    path = tmp_path / "data.csv"
    path.write_bytes(magic + bytes(range(256)))
    with pytest.raises(DataError, match=re.escape(f"{path}: {what}, not a text file")):
        load_table(path)


def test_a_zeroed_file_is_not_a_text_file(tmp_path):
    path = tmp_path / "data.csv"  # as a power cut leaves a file: its size, all zeros
    path.write_bytes(bytes(300))
    with pytest.raises(DataError, match="not a text file"):
        load_table(path)


@pytest.mark.parametrize("content, texts", [
    (b"text,label\nnul\x00inside,1\nplain,0\n", ["nul\x00inside", "plain"]),
    # A NUL right after a line feed at an even offset: the shape of UTF-16-LE's "\n" (found
    # by tests/test_fuzz.py).
    (b"text,label\n\x00,0\n", ["\x00"]),
    (b"text,label\n\x00,0\n\x00,0\n", ["\x00", "\x00"]),
])
def test_utf8_text_that_holds_a_nul_character_is_still_text(tmp_path, content, texts):
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    assert load_table(path, empty="keep").texts == texts


def test_cp949_still_gets_the_utf8_advice_not_binary(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes("text,label\n좋다,1\n별로,0\n".encode("cp949"))
    with pytest.raises(DataError, match="data.csv:2: not valid UTF-8.*iconv -f cp949"):
        load_table(path)


def test_crlf_text_reads_and_a_stray_carriage_return_is_still_advised(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(TABLE.encode("utf-8"))
    assert load_table(path).texts == TEXTS
    path.write_bytes(b"text,label\ngood,1\nba\rd,0\n")
    with pytest.raises(DataError, match=r"data.csv:3: a carriage return \(\\r\) inside a row"):
        load_table(path)


# --- Headers ----------------------------------------------------------------------------------
DUPLICATES = [
    ("data.csv", "text,text,label\na,b,1\nc,d,0\n", "'text' twice (columns 1 and 2"),
    ("data.tsv", "label\ttext\tlabel\n1\ta\t0\n0\tc\t1\n", "'label' twice (columns 1 and 3"),
]


@pytest.mark.parametrize("name, content, fragment", DUPLICATES, ids=["csv", "tsv"])
@pytest.mark.parametrize("reader", ["table", "stream"])
def test_a_column_named_twice_is_refused(tmp_path, name, content, fragment, reader):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataError) as info:
        READERS[reader][1](path)
    message = str(info.value)
    assert f"{path}:1: the header names the column {fragment}" in message
    assert "Rename or remove one of them" in message


def test_a_series_column_named_twice_is_refused(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("day,close,close\n1,3.5,3.6\n2,3.7,3.8\n")
    with pytest.raises(DataError, match=f"{path}:1: the header names the column 'close' twice"):
        load_series(path, "close")


def test_empty_column_names_may_repeat(tmp_path):
    path = tmp_path / "data.csv"  # trailing delimiters, as spreadsheets write them
    path.write_text("text,label,,\ngood,1,,\nbad,0,,\n")
    assert load_table(path).texts == ["good", "bad"]


REPEATED = [
    ("data.csv", "text,label\na,1\nb,0\ntext,label\nc,1\ntext,label\nd,0\n", "4", "4, 6"),
    ("data.tsv", "text\tlabel\na\t1\nb\t0\ntext\tlabel\nc\t1\n", "4", "4"),
]


@pytest.mark.parametrize("name, content, first, lines", REPEATED, ids=["csv", "tsv"])
def test_header_lines_repeated_inside_the_data_are_refused_with_their_lines(
        tmp_path, name, content, first, lines):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataError) as info:
        load_table(path)
    message = str(info.value)
    assert f"{path}:{first}: the header line ('text', 'label') is repeated" in message
    assert f"(at lines {lines})" in message
    assert "Remove those lines" in message


def test_a_repeated_header_in_a_stream_names_its_line(tmp_path):
    path = tmp_path / "shard.csv"
    path.write_text("text,label\na,1\nb,0\ntext,label\nc,1\n")
    with pytest.raises(DataError, match=f"{path}:4: the header line .* is repeated"):
        _read_stream(path)


def test_a_repeated_header_in_a_series_is_refused(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("day,close\n1,3.5\n2,3.7\nday,close\n3,3.9\n")
    with pytest.raises(DataError, match=f"{path}:4: the header line"):
        load_series(path, "close")


def test_a_stream_cut_short_names_the_file_and_the_line_it_reached(tmp_path):
    path = tmp_path / "shard.csv.gz"
    rows = "".join(f"review number {i} with words {i * 7919 % 1000},{i % 2}\n"
                   for i in range(20_000))
    data = gzip.compress(("text,label\n" + rows).encode("utf-8"))
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=f"{path}: cannot be decompressed after line"):
        _read_stream(path)
