"""Opening data files: gzip recognised by content, UTF-8 errors located by byte and line.

Every reader in `seqrecipes.datasets` goes through `read_bytes` and `decode`, so a missing file, a
directory, a broken gzip stream or a bad byte gives the same kind of `DataError` everywhere.
"""

import csv
import glob
import gzip
import io
import os
import zlib

from seqrecipes import _validation
from seqrecipes.errors import DataError, DataFileNotFoundError

_GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(name, path):
    """Returns the content of `path` as bytes, decompressed when it is gzip (by its magic bytes).

    Args:
        name: str. The argument name shown in errors (e.g. "path").
        path: str or path-like. The file.
    """
    path = _validation.check_existing_file(name, path)
    with open(path, "rb") as stream:
        raw = stream.read()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise DataError(
                f"{path}: starts like a gzip file but cannot be decompressed ({error}). "
                "The download may be incomplete: fetch the file again."
            ) from None
    return raw


def stripped_name(path):
    """The file name without a trailing ``.gz`` (``train.csv.gz`` -> ``train.csv``)."""
    name = os.path.basename(os.fspath(path))
    return name[:-3] if name.lower().endswith(".gz") else name


def decode_error(path, raw, error):
    """A `DataError` naming the byte offset, line and column of an invalid UTF-8 sequence."""
    offset = error.start
    line = raw.count(b"\n", 0, offset) + 1
    line_start = raw.rfind(b"\n", 0, offset) + 1
    bad = raw[offset : offset + 4]
    return DataError(
        f"{path}:{line}: not valid UTF-8 at byte offset {offset} (line {line}, byte "
        f"{offset - line_start + 1} of the line; bytes {bad!r}). Save the file as UTF-8 "
        "(e.g. `iconv -f cp949 -t utf-8` for Korean Windows files)."
    )


def decode(path, raw):
    """Decodes UTF-8 (a leading byte-order mark is dropped) or raises `decode_error`."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise decode_error(path, raw, error) from None


def shown(text, limit=100):
    """`repr(text)` for an error message, cut after `limit` characters (a 1 MB line stays short)."""
    text = str(text)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"


def shown_list(items, limit=20):
    """A list of names for an error message: at most `limit` of them, each cut by `shown`."""
    items = list(items)
    names = ", ".join(shown(item, 40) for item in items[:limit])
    more = f", ... ({len(items) - limit:,} more)" if len(items) > limit else ""
    return f"[{names}{more}]"


def normalize_newlines(text):
    """Windows (``\\r\\n``) and old Mac (``\\r``) line endings become ``\\n``."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def record_lines(raw, records, *, delimiter, quoting):
    """The 1-based line where each data record in `records` (0-based, header excluded) starts.

    Records and lines differ when a quoted field spans lines or blank lines are skipped, so this
    replays the file once with the standard `csv` module (the dialect pandas used). It runs only
    when an error is being reported. Returns a dict ``{record: line}``; records that cannot be
    found (past the end, or the replay fails) are left out.
    """
    wanted = set(records)
    found = {}
    text = raw.decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting)
    seen = -1  # the header is record -1
    start = 1
    try:
        for row in reader:
            if row:  # pandas skips blank lines (skip_blank_lines=True)
                if seen in wanted:
                    found[seen] = start
                    if len(found) == len(wanted):
                        break
                seen += 1
            start = reader.line_num + 1
    except csv.Error:
        pass
    return found


def open_text(name, path):
    """Opens `path` for reading text line by line: UTF-8 (a byte-order mark dropped), gzip
    recognised by content as in `read_bytes`, newlines left to the `csv` module."""
    path = _validation.check_existing_file(name, path)
    binary = open(path, "rb")
    if binary.peek(2)[:2] == _GZIP_MAGIC:
        binary = gzip.GzipFile(fileobj=binary, mode="rb")
    return io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")


def expand_paths(name, patterns):
    """Files named by `patterns` (paths or glob patterns such as ``shards/train-*.tsv.gz``).

    Each pattern's matches are sorted, patterns keep their order. A pattern that matches
    nothing, and a file named twice, are errors: data is never silently missing or doubled.

    Returns:
        A list of str paths, at least one.
    """
    if isinstance(patterns, (str, os.PathLike)):
        patterns = [patterns]
    if not isinstance(patterns, (list, tuple)) or not patterns:
        _validation.check_string(name, patterns)  # raises: not a path or a list of them
    paths = []
    for pattern in patterns:
        pattern = os.fspath(pattern) if isinstance(pattern, os.PathLike) else pattern
        if isinstance(pattern, str) and glob.has_magic(pattern):
            matches = sorted(path for path in glob.glob(pattern) if os.path.isfile(path))
            if not matches:
                raise DataFileNotFoundError(
                    f"`{name}`: the pattern {pattern!r} matches no file (read relative to "
                    f"{os.getcwd()!r}). Check the pattern, and quote it in a shell so that the "
                    "shell does not expand it first."
                )
            paths.extend(matches)
        else:
            paths.append(_validation.check_existing_file(name, pattern))
    seen = {}
    for path in paths:
        key = os.path.realpath(path)
        if key in seen:
            raise DataError(
                f"`{name}`: the file {path!r} is named twice (also as {seen[key]!r}); its texts "
                "would be read twice. Name each file once."
            )
        seen[key] = path
    return paths
