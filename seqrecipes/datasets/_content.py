"""What a data file is, told by its first bytes before any parser sees it.

Every reader goes through `_files.read_bytes` or `_files.open_text`, and both ask this module
first, so a CSV, a text corpus and a CoNLL file are recognised the same way:

- compressed: gzip, bzip2, xz and a zip archive of one file are read as what they hold (the
  standard library reads all four, whole or as a stream); zstd has no reader in the standard
  library, so it is refused with the command that decompresses it. The name does not matter,
  only the magic bytes: ``data.csv`` holding gzip is read, ``data.csv.gz`` holding text too.
- UTF-16 and UTF-32, by their byte-order mark, and UTF-16 without one, by its NUL bytes
  (every ASCII character has a NUL half): decoded, so a file saved as "Unicode" by Windows
  tools reads like its UTF-8 twin.
- anything else that is not text (an Excel workbook, a PDF, random bytes): refused as "not a
  text file", naming the format where its magic bytes tell it, before a reader blames a
  delimiter or a carriage return for it.

Without this, pandas and the `csv` module parse a zip, an xz stream, UTF-16 or random bytes as
text and fail on whatever byte breaks them first: the issue measured "a carriage return inside
a row" (with a `sed -i` fix that would destroy the archive) for four of them.
"""

import bz2
import dataclasses
import gzip
import io
import lzma
import zipfile
import zlib

from seqrecipes.errors import DataError

_HEAD = 4096  # bytes looked at to tell an encoding or binary content
# Errors a decompressor raises on a damaged or truncated stream.
DECOMPRESSION_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile)


@dataclasses.dataclass(frozen=True)
class _Compression:
    name: str
    magic: bytes
    command: str  # what decompresses it on the command line, FILE being the path
    decompress: object  # (path, bytes) -> bytes; None where the standard library has none
    open: object  # path -> binary stream; None likewise


def _zip_member(path, archive):
    """The one file of a zip archive, or a `DataError` naming what it holds instead."""
    names = [info.filename for info in archive.infolist()
             if not info.is_dir() and not info.filename.startswith("__MACOSX/")]
    if "[Content_Types].xml" in names and any(name.startswith("xl/") for name in names):
        raise DataError(
            f"{path}: an Excel workbook (.xlsx), not a text file. Save the sheet as CSV "
            "(UTF-8) and pass that file."
        )
    if len(names) != 1:
        listed = ", ".join(repr(name) for name in names[:10])
        listed += f", ... ({len(names) - 10} more)" if len(names) > 10 else ""
        raise DataError(
            f"{path}: a zip archive of {len(names)} files ({listed or 'none'}); one file is "
            f"read from a zip. Extract the one you mean (`unzip {path} NAME`) and pass it."
        )
    return names[0]


def _unzip(path, raw):
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        return archive.read(_zip_member(path, archive))


def _open_zip(path):
    archive = zipfile.ZipFile(path)  # the member keeps the file open after this goes
    return archive.open(_zip_member(path, archive))


def _is_bzip2(head):
    # "BZh" + block size "1".."9" + the first block's magic (pi) or the end-of-stream one
    # (sqrt(pi)): three letters alone could start a text.
    return (len(head) >= 10 and head[3:4].isdigit() and head[3:4] != b"0"
            and head[4:10] in (b"\x31\x41\x59\x26\x53\x59", b"\x17\x72\x45\x38\x50\x90"))


COMPRESSIONS = (
    _Compression("gzip", b"\x1f\x8b", "gunzip -k FILE", lambda _, raw: gzip.decompress(raw),
                 lambda path: gzip.GzipFile(path, "rb")),
    _Compression("bzip2", b"BZh", "bunzip2 -k FILE", lambda _, raw: bz2.decompress(raw),
                 lambda path: bz2.BZ2File(path, "rb")),
    _Compression("xz", b"\xfd7zXZ\x00", "unxz -k FILE", lambda _, raw: lzma.decompress(raw),
                 lambda path: lzma.LZMAFile(path, "rb")),
    _Compression("zip", b"PK\x03\x04", "unzip FILE", _unzip, _open_zip),
    _Compression("zstd", b"\x28\xb5\x2f\xfd", "zstd -d FILE", None, None),
)
_SUFFIXES = (".gz", ".bz2", ".xz", ".zip", ".zst")

# Formats that are not text and have magic bytes of their own: named in the refusal.
_BINARY = (
    (b"%PDF", "a PDF document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office file (.xls / .doc)"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"PAR1", "a Parquet file"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file (.h5)"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x93NUMPY", "a NumPy array (.npy)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"PK\x05\x06", "an empty zip archive"),
)

# Byte-order marks, the longest first (UTF-32LE's starts with UTF-16LE's).
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
# Control characters that text does not hold (tab, line feed, vertical tab, form feed,
# carriage return and escape are left out).
_CONTROL = bytes(set(range(32)) - {9, 10, 11, 12, 13, 27}) + b"\x7f"


def compression(head):
    """The `_Compression` whose magic bytes start `head`, or None."""
    for kind in COMPRESSIONS:
        if head.startswith(kind.magic) and (kind.name != "bzip2" or _is_bzip2(head)):
            return kind
    return None


def strip_suffix(name):
    """`name` without a compression suffix (``train.csv.xz`` -> ``train.csv``)."""
    for suffix in _SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _refuse_unreadable(path, kind):
    raise DataError(
        f"{path}: a {kind.name}-compressed file, which seqrecipes does not read. Decompress it "
        f"(`{kind.command.replace('FILE', path)}`) and pass the decompressed file; gzip, "
        "bzip2, xz and single-file zip archives are read as they are."
    )


def _damaged(path, kind, error):
    return DataError(
        f"{path}: starts like a {kind.name} file but cannot be decompressed ({error}). The "
        "download may be incomplete: fetch the file again."
    )


def decompressed(path, raw):
    """`raw` decompressed when its magic bytes say gzip, bzip2, xz or zip; else `raw`."""
    kind = compression(raw[:16])
    if kind is None:
        return raw
    if kind.decompress is None:
        _refuse_unreadable(path, kind)
    try:
        return kind.decompress(path, raw)
    except DataError:  # a zip that does not hold one file: `_zip_member` says what it holds
        raise
    except (*DECOMPRESSION_ERRORS, ValueError) as error:  # bz2.decompress: ValueError
        raise _damaged(path, kind, error) from None


def open_decompressed(path):
    """A binary stream of `path`'s content, decompressed as in `decompressed`."""
    with open(path, "rb") as stream:
        head = stream.read(16)
    kind = compression(head)
    if kind is None:
        return open(path, "rb")
    if kind.open is None:
        _refuse_unreadable(path, kind)
    try:
        return kind.open(path)
    except DECOMPRESSION_ERRORS as error:
        raise _damaged(path, kind, error) from None


def encoding(path, head):
    """The codec of a (decompressed) file from its first bytes: "utf-8-sig" for UTF-8 or
    ASCII, "utf-16" / "utf-32" (with a byte-order mark), "utf-16-le" / "utf-16-be" (without).

    Raises:
        DataError: not a text file (a known binary format by its magic, only NUL bytes, or
            bytes that are not UTF-8 and hold NUL or control characters); the message says
            which.
    """
    head = head[:_HEAD]
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec
    for magic, what in _BINARY:
        if head.startswith(magic):
            raise DataError(f"{path}: {what}, not a text file. {_TEXT_NEEDED}")
    codec = _utf16_without_bom(head)
    if codec:
        return codec
    controls = sum(head.count(bytes([byte])) for byte in _CONTROL)
    try:
        head.decode("utf-8")
        utf8 = True
    except UnicodeDecodeError as error:
        utf8 = error.start >= len(head) - 3  # a character cut by the end of the sample
    # UTF-8 text may hold a NUL or a control character and is read. Bytes that are not UTF-8
    # and carry them are binary; without them they are text in another encoding (cp949,
    # Latin-1: `_files.decode` says where and how to convert). Only NULs: a zeroed file.
    zeroed = head and not head.strip(b"\x00")
    if zeroed or (not utf8 and (b"\x00" in head or controls > len(head) // 20)):
        where = head.find(b"\x00") if b"\x00" in head else None
        detail = f" (a NUL byte at offset {where})" if where is not None else ""
        raise DataError(f"{path}: not a text file{detail}. {_TEXT_NEEDED}")
    return "utf-8-sig"


_TEXT_NEEDED = ("Expected UTF-8 text (UTF-16 and gzip, bzip2, xz or zip compression are also "
                "read): pass the text file itself, or export it as CSV / text first.")


def _utf16_without_bom(head):
    """"utf-16-le" / "utf-16-be" for UTF-16 without a byte-order mark, else None.

    ASCII in UTF-16 is the character then NUL (LE) or NUL then the character (BE), so one
    byte of every pair is mostly NUL and the other is not, and line feeds are whole code units
    (``0a 00`` / ``00 0a``) at even offsets. UTF-8 text can hold NUL characters too; it is
    taken for UTF-16 only when all of this holds and the decoded text has no NUL of its own.
    """
    head = head[: len(head) - len(head) % 2]
    if len(head) < 8:
        return None
    # Valid UTF-8 in which NULs are few is UTF-8 holding NUL characters (a CSV of any text
    # can; the fuzz suite found "text,label\n\x00,0\n" read as UTF-16). ASCII in UTF-16 is
    # half NUL bytes, and Hangul or other scripts in UTF-16 are almost never valid UTF-8.
    try:
        head.decode("utf-8")
        valid_utf8 = True
    except UnicodeDecodeError as error:
        valid_utf8 = error.start >= len(head) - 3  # a character cut by the sample's end
    if valid_utf8 and head.count(0) * 5 < len(head):
        return None
    even, odd = head[0::2], head[1::2]
    for codec, unit, high, low in (("utf-16-le", b"\n\x00", odd, even),
                                   ("utf-16-be", b"\x00\n", even, odd)):
        nul = high.count(0)
        if nul < len(high) // 4 or low.count(0) * 4 > nul:
            continue
        if not any(head[i : i + 2] == unit for i in range(0, len(head), 2)):
            continue
        try:
            text = head.decode(codec)
        except UnicodeDecodeError as error:
            if error.start < len(head) - 4:  # not a surrogate pair cut by the sample's end
                continue
            text = head[: error.start].decode(codec)
        if "\x00" not in text:
            return codec
    return None


def as_utf8(path, raw):
    """`raw` (decompressed) as UTF-8 bytes: UTF-16 / UTF-32 transcoded, binary refused.

    UTF-8 (a byte-order mark included) is returned as it is, so byte offsets in later errors
    are the file's own; invalid UTF-8 is left for `_files.decode` to locate.
    """
    codec = encoding(path, raw[:_HEAD])
    if codec == "utf-8-sig":
        return raw
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as error:
        raise DataError(
            f"{path}: reads as {codec.upper()} from its start but is not valid {codec.upper()} "
            f"at byte offset {error.start} ({error.reason}). Save the file as UTF-8 "
            f"(`iconv -f {codec.upper()} -t UTF-8 {path} > {path}.utf8`)."
        ) from None
    return text.encode("utf-8")
