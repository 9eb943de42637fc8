"""Opening data files: content recognised first (`_content`), UTF-8 errors located by byte and line.

Every reader in `seqrecipes.datasets` goes through `read_bytes` and `decode` (or `open_text`,
streaming), so a missing file, a directory, a compressed or UTF-16 file, a binary file or a bad
byte gives the same kind of `DataError` everywhere.
"""

import csv
import glob
import io
import os

from seqrecipes import _validation
from seqrecipes.datasets import _content
from seqrecipes.errors import DataError, DataFileNotFoundError

DECOMPRESSION_ERRORS = _content.DECOMPRESSION_ERRORS


def read_bytes(name, path):
    """Returns the content of `path` as UTF-8 bytes, recognised by its first bytes.

    gzip, bzip2, xz and one-file zip content is decompressed, UTF-16 / UTF-32 is transcoded,
    and anything that is not text is refused (see `_content`), whatever the file's name.

    Args:
        name: str. The argument name shown in errors (e.g. "path").
        path: str or path-like. The file.
    """
    path = _validation.check_existing_file(name, path)
    with open(path, "rb") as stream:
        raw = stream.read()
    return _content.as_utf8(path, _content.decompressed(path, raw))


def stripped_name(path):
    """The file name without a compression suffix (``train.csv.gz`` -> ``train.csv``; also
    ``.bz2``, ``.xz``, ``.zip``, ``.zst``)."""
    return _content.strip_suffix(os.path.basename(os.fspath(path)))


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
    """Opens `path` for reading text line by line, its content recognised as in `read_bytes`
    (decompressed, UTF-8 with a byte-order mark dropped, or UTF-16 / UTF-32), newlines left to
    the `csv` module. Reading it may raise `DECOMPRESSION_ERRORS` on a damaged stream."""
    path = _validation.check_existing_file(name, path)
    with _content.open_decompressed(path) as binary:
        try:
            head = binary.read(4096)
        except DECOMPRESSION_ERRORS as error:
            raise DataError(f"{path}: cannot be decompressed ({error}). The download may be "
                            "incomplete: fetch the file again.") from None
    encoding = _content.encoding(path, head)
    return io.TextIOWrapper(_content.open_decompressed(path), encoding=encoding, newline="")


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
