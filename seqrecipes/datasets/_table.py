"""Reading a table with a header (TSV or CSV) into strings, and pointing back at its lines.

Shared by `tabular.load_table` and `text.load_series`. Two dialects exist: "csv" (commas, standard
quoting) and "tsv" (tabs, quotes are plain characters, as NSMC is meant to be read).
"""

import csv
import io
import os
import re
import warnings

from seqrecipes.datasets import _files
from seqrecipes.errors import DataError

FORMATS = ("auto", "csv", "tsv")
DIALECTS = {"csv": (",", csv.QUOTE_MINIMAL), "tsv": ("\t", csv.QUOTE_NONE)}
_SHOWN = 5  # how many line numbers an error lists


def read_frame(path, *, format="auto", min_columns=2):
    """Reads a table with a header into a DataFrame of strings.

    Args:
        path: str or path-like. The file (compression and UTF-16 recognised by content).
        format: str. "csv", "tsv" or "auto" (from the name, else from the header).
        min_columns: int. Fewer columns than this is an error that suggests the other dialect.

    Returns:
        ``(frame, raw, path, format)``: the DataFrame (every cell a str), the decompressed bytes
        (to locate lines in later errors), the path as a str, and the dialect used.
    """
    import pandas as pd  # here: the command line's `--help` reads this package

    raw = _files.read_bytes("path", path)
    path = os.fspath(path)
    if not raw.strip():
        raise DataError(
            f"{path}: the file is empty. Expected a header line, then one row per text."
        )
    if format == "auto":
        format = detect_format(path, raw, single_column=min_columns == 1)
    delimiter, quoting = DIALECTS[format]
    check_unique_columns(path, header_names(raw, format))
    _check_carriage_returns(path, raw, delimiter, quoting)
    try:
        with warnings.catch_warnings():
            # pandas only *warns* when the first row has more fields than the header, and drops
            # the extra ones; that must be an error.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.BytesIO(raw),
                sep=delimiter,
                quoting=quoting,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                index_col=False,
                encoding="utf-8",
                engine="c",
            )
    except UnicodeDecodeError as error:
        # pandas' offsets are relative to its read buffer: decode ourselves to name the place.
        _files.decode(path, raw)
        raise DataError(f"{path}: not valid UTF-8 ({error}). Save the file as UTF-8.") from None
    except pd.errors.ParserWarning:
        raise DataError(
            f"{path}: the first row has more fields than the header "
            f"({_files.shown(_header(raw))}). {_dialect_hint(format)}"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as error:
        raise DataError(
            f"{path}: cannot be parsed as {format.upper()} ({str(error).strip()}). "
            f"{_dialect_hint(format)}"
        ) from None
    columns = [str(column) for column in frame.columns]
    other = "tsv" if format == "csv" else "csv"
    looks_other = len(columns) == 1 and DIALECTS[other][0] in columns[0]
    if len(columns) < min_columns or looks_other:
        if looks_other:
            hint = (f"It looks {other.upper()}: name the file .{other} (the command line reads "
                    f"the dialect from the name), or pass format={other!r}.")
        else:
            hint = (f"At least {min_columns} columns are needed: check the delimiter (a tab for "
                    "TSV, a comma for CSV) and the header line.")
        raise DataError(
            f"{path}:1: the header {_files.shown(columns[0])} is a single column when read as "
            f"{format.upper()}. {hint}"
        )
    if frame.empty:
        names = ", ".join(name if len(name) <= 40 else f"{name[:40]}..." for name in columns[:20])
        names += f", ... ({len(columns) - 20:,} more)" if len(columns) > 20 else ""
        raise DataError(f"{path}: has a header ({names}) but no rows.")
    same = (frame == columns).all(axis=1)  # row by row: every cell equals its column's name
    repeated = [int(i) for i in same.to_numpy().nonzero()[0]]
    if repeated:
        where = Locator(path, raw, format)
        raise repeated_header(where(repeated[0]), columns, where.lines(repeated))
    return frame, raw, path, format


def header_names(raw, format):
    """The column names of the header line, as the dialect splits them (before pandas renames
    a repeated name ``text`` to ``text.1``)."""
    delimiter, quoting = DIALECTS[format]
    try:
        return next(csv.reader([_header(raw)], delimiter=delimiter, quoting=quoting), [])
    except csv.Error:  # a header of over 128 KB: pandas reports what is wrong with it
        return []


def check_unique_columns(path, names):
    """Refuses a header that names a column twice: a reader would take the first silently.

    Empty names are left out: they are never picked by name (pandas calls them "Unnamed: i"),
    and ``text,label,,`` (trailing delimiters) is common.
    """
    seen = {}
    for position, name in enumerate(names, start=1):
        if name.strip() and name in seen:
            raise DataError(
                f"{path}:1: the header names the column {_files.shown(name, 40)} twice (columns "
                f"{seen[name]} and {position} of {_files.shown_list(names)}); only the first "
                "would be read and the other ignored. Rename or remove one of them."
            )
        seen.setdefault(name, position)


def repeated_header(where, columns, lines=None):
    """The `DataError` for the header line found again inside the data (at `lines`, a str)."""
    at = f" (at lines {lines})" if lines else ""
    return DataError(
        f"{where}: the header line ({', '.join(_files.shown(name, 40) for name in columns)}) "
        f"is repeated inside the data{at}, as when files are concatenated with "
        "their headers; its values would be read as a row (a label named like the header "
        "would become a class). Remove those lines, keeping the first line of the file."
    )


# A carriage return that neither ends a line nor precedes one: inside a row.
_INNER_CR = re.compile(r"\r(?=[^\r\n])")


def _check_carriage_returns(path, raw, delimiter, quoting):
    """Refuses a lone ``\r`` inside a row of a file whose lines end in ``\n``.

    Every reader (pandas, the `csv` module) takes it for a line break and cuts the row in two,
    so the text loses its end and a label goes missing or shifts. pandas' own `to_csv` writes
    such a character unquoted (it quotes only its line terminator, ``\n``), so these files are
    common. Inside a quoted CSV field it is text and stays. A file whose lines all end in
    ``\r`` (old Mac) is read as it is.
    """
    if b"\r" not in raw or b"\n" not in raw:
        return
    text = raw.decode("utf-8-sig", errors="replace")
    inner = [match.start() for match in _INNER_CR.finditer(text)]
    if not inner:
        return
    if quoting != csv.QUOTE_NONE:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting)
        try:
            quoted = sum(len(_INNER_CR.findall(field)) for row in reader for field in row)
        except csv.Error:  # pandas reports the unparsable file itself
            return
        if quoted >= len(inner):
            return
    line = text.count("\n", 0, inner[0]) + 1
    raise DataError(
        f"{path}:{line}: a carriage return (\\r) inside a row, in a file whose lines end in "
        "\\n: every reader takes it for a line break and would cut the row in two. Remove it "
        "or replace it with a space (GNU sed: `sed -i 's/\\r\\(.\\)/ \\1/g' FILE`), or "
        "quote the field (CSV)."
    )


def detect_format(path, raw, *, single_column=False):
    """Returns "csv" or "tsv" for a table file: from its name, else from its header line."""
    name = _files.stripped_name(path).lower()
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".tsv", ".tab")):
        return "tsv"
    header = _header(raw)
    if "\t" in header:
        return "tsv"
    if "," in header or single_column:
        return "csv"
    raise DataError(
        f"{path}:1: cannot tell the delimiter: the header {_files.shown(header)} has neither a "
        "tab nor a "
        "comma. The file needs a header naming a text and a label column; pass format='csv' "
        "or format='tsv' if the name does not end in .csv / .tsv."
    )


def _header(raw):
    first = raw.lstrip(b"\r\n").split(b"\n", 1)[0]
    return first.decode("utf-8-sig", errors="replace").rstrip("\r")


def _dialect_hint(format):
    if format == "tsv":
        return (
            "TSV is read with quotes as plain characters, so a tab inside a text splits it: "
            "remove tabs from texts, or save the file as CSV (named .csv, or format='csv')."
        )
    return ("Check for an unclosed quote; a tab-separated file needs the name .tsv (or "
            "pass format='tsv').")


class Locator:
    """Turns 0-based record indices into ``file:line`` for error messages (only when raising)."""

    def __init__(self, path, raw, format):
        self.path, self.raw = path, raw
        self.delimiter, self.quoting = DIALECTS[format]

    def _lines(self, records):
        return _files.record_lines(
            self.raw, records, delimiter=self.delimiter, quoting=self.quoting
        )

    def __call__(self, record):
        line = self._lines([record]).get(record)
        return f"{self.path}:{line}" if line else f"{self.path} (record {record + 1})"

    def lines(self, records):
        found = self._lines(records[:_SHOWN])
        shown = ", ".join(str(found.get(r, f"record {r + 1}")) for r in records[:_SHOWN])
        return shown + (f", ... ({len(records) - _SHOWN} more)" if len(records) > _SHOWN else "")
