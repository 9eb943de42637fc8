"""Plain-text corpora for language models and numeric CSV series for time-series models."""

import math
import os
import re

import numpy as np

from seqrecipes import _validation
from seqrecipes.datasets import _files
from seqrecipes.datasets._table import DIALECTS, FORMATS, read_frame
from seqrecipes.errors import DataError, InvalidArgumentError

LEVELS = ("char", "word")
# A word is a run of letters / digits / underscores, apostrophes inside it included ("don't");
# every other non-space character (punctuation) is its own token, and so is each line break.
_WORD = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]|\n")


def load_text(path):
    """Reads a plain-text corpus as one string (UTF-8; compression and UTF-16 recognised).

    Windows and old Mac line endings become ``\\n`` and a leading byte-order mark is dropped;
    nothing else changes.

    Args:
        path: str or path-like. The file.

    Returns:
        The text, a str.

    Raises:
        DataFileNotFoundError: the file does not exist.
        DataError: the file is empty (or only whitespace), or not UTF-8 (the message gives the
            byte offset and line).

    Example:

    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder, "corpus.txt")
    ...     _ = path.write_bytes(b"hello\\r\\nworld\\r\\n")
    ...     load_text(path)
    'hello\\nworld\\n'
    """
    raw = _files.read_bytes("path", path)
    path = os.fspath(path)
    text = _files.normalize_newlines(_files.decode(path, raw))
    if not text.strip():
        what = "empty" if not raw else "only whitespace"
        raise DataError(f"{path}: the file is {what}. A language model needs some text to learn.")
    return text


def split_text(text, *, level="char"):
    """Splits a text into the units a language model predicts.

    Args:
        text: str. The corpus (e.g. from `load_text`).
        level: str. "char": every character, spaces and line breaks included; "word": words
            (``don't`` is one word), each punctuation mark and each line break, spaces dropped.
            Defaults to "char".

    Returns:
        A list of str.

    Example:

    >>> split_text("Hi, you.", level="char")[:4]
    ['H', 'i', ',', ' ']
    >>> split_text("Don't go.\\nNow!", level="word")
    ["Don't", 'go', '.', '\\n', 'Now', '!']
    """
    if not isinstance(text, str):
        raise InvalidArgumentError(
            f"`text` must be a str. Received: text of type {type(text).__name__}."
        )
    _validation.check_choice("level", level, LEVELS)
    return list(text) if level == "char" else _WORD.findall(text)


def load_series(path, column, *, format="auto"):
    """Reads one numeric column of a CSV / TSV file (with a header) as a float array.

    Rows keep the file's order (sort the file by date first if it is not sorted). Missing
    values are never filled in: an empty cell, ``NaN`` or ``inf`` is an error naming the line,
    and so is any cell that is not a number.

    Args:
        path: str or path-like. The file (compression and UTF-16 recognised by content).
        column: str. Header of the numeric column.
        format: str. "csv", "tsv" or "auto" (as in `load_table`). Defaults to "auto".

    Returns:
        A 1-D float64 NumPy array, one value per row.

    Raises:
        DataFileNotFoundError: the file does not exist.
        DataError: the column does not exist (the message lists the columns), or a cell is
            missing, not a number or not finite (the message gives the line and value).

    Example:

    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder, "series.csv")
    ...     _ = path.write_text("date,value\\n2024-01-01,1.5\\n2024-01-02,2\\n")
    ...     load_series(path, "value")
    array([1.5, 2. ])
    """
    _validation.check_string("column", column)
    _validation.check_choice("format", format, FORMATS)
    frame, raw, path, format = read_frame(path, format=format, min_columns=1)
    columns = [str(name) for name in frame.columns]
    if column not in columns:
        raise DataError(f"{path}: `column`={column!r} is not a column. The columns are {columns}.")
    cells = frame[column].tolist()
    values = np.empty(len(cells), dtype=np.float64)
    bad = []
    for i, cell in enumerate(cells):
        try:
            values[i] = float(cell)
        except ValueError:
            values[i] = math.nan
        if not math.isfinite(values[i]):
            bad.append(i)
    if bad:
        delimiter, quoting = DIALECTS[format]
        lines = _files.record_lines(raw, bad[:5], delimiter=delimiter, quoting=quoting)
        first = bad[0]
        shown = ", ".join(f"line {lines.get(i, '?')}: {cells[i]!r}" for i in bad[:5])
        raise DataError(
            f"{path}:{lines.get(first, '?')}: {len(bad)} value(s) in column {column!r} are "
            f"missing or not finite numbers ({shown}{', ...' if len(bad) > 5 else ''}). "
            "Missing values are never filled in: fill or drop them in the file first."
        )
    return values
