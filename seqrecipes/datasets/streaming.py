"""Streaming input for files that do not fit in memory: read row by row, never a DataFrame.

A stream is one file or several shards (paths or glob patterns, gzip or not), each a labelled
table with a header, in the dialects of `load_table` ("tsv": tabs, quotes are text; "csv":
standard quoting). Rows are read with the `csv` module one at a time and checked as they come
(file:line in every error).

* `scan_labelled_files` reads every shard once before training: it checks every row, counts
  the labels and the empty documents, and keeps a uniform random sample of the texts (reservoir
  sampling, seeded) of bounded size, to adapt the vocabulary on and to place the bucket
  boundaries. Uniform over the whole stream, so shards sorted by date, source or label still
  give a vocabulary that represents all of them; memory is the sample, not the data.
* `stream_classification_dataset` feeds the shards through `tf.data` on every pass: chunks of
  rows cross from Python to TensorFlow (with an optional Python-side tokeniser such as kiwipiepy
  applied per chunk), are vectorised, split back into rows of ids, optionally cached (ids, not
  strings; to a file for data larger than memory), shuffled in a bounded buffer, then bucketed
  and padded as in `classification_dataset`.
* `iter_labelled_texts` yields `(text, label_id)` from one file, for code of one's own.
"""

import collections
import csv
import dataclasses
import random
import sys

import numpy as np
import tensorflow as tf

from seqrecipes import _validation
from seqrecipes.datasets import _files, _table, bucketing
from seqrecipes.datasets.tabular import (
    EMPTY_POLICIES, INTEGER, LABEL_COLUMNS, TEXT_COLUMNS, pick_column,
)
from seqrecipes.datasets.vocab import in_pipeline
from seqrecipes.errors import DataError

BOUNDARY_SAMPLE = 10_000  # texts read to estimate bucket boundaries when none are given
CHUNK = 1024  # rows per hand-over from Python to TensorFlow (and per tokeniser call)
_SHOWN = 5  # places an error lists


class _LabelledFile:
    """One labelled table, read row by row: `iter` yields `(where, text, label)` strings.

    The header is read (and the columns resolved) when the object is made, so a wrong column
    or delimiter fails before any training starts.
    """

    def __init__(self, path, text_column=None, label_column=None, format="auto"):
        self.path = _validation.check_existing_file("path", path)
        _validation.check_choice("format", format, _table.FORMATS)
        with _files.open_text("path", self.path) as handle:
            header_line = self._first_line(handle)
        if format == "auto":
            format = _table.detect_format(self.path, header_line.encode("utf-8"))
        self.format = format
        self.delimiter, self.quoting = _table.DIALECTS[format]
        header = next(csv.reader([header_line], delimiter=self.delimiter, quoting=self.quoting))
        _table.check_unique_columns(self.path, header)
        self.header_row = header  # as a repeated header line inside the data would read
        self.header = [name.strip() for name in header]
        self.text_column = pick_column(self.header, self.path, "text_column", text_column,
                                       TEXT_COLUMNS)
        self.label_column = pick_column(self.header, self.path, "label_column", label_column,
                                        LABEL_COLUMNS)

    def _first_line(self, handle):
        try:
            line = handle.readline()
        except UnicodeDecodeError as error:
            raise DataError(f"{self.path}:1: not valid UTF-8 ({error.reason}). Save the file "
                            "as UTF-8.") from None
        if not line.strip():
            raise DataError(f"{self.path}: the file is empty or starts with a blank line; "
                            "expected a header line naming a text and a label column.")
        return line.rstrip("\r\n")

    def __iter__(self):
        csv.field_size_limit(sys.maxsize)  # a long review is one field
        text_at = self.header.index(self.text_column)
        label_at = self.header.index(self.label_column)
        size = len(self.header)
        with _files.open_text("path", self.path) as handle:
            reader = csv.reader(handle, delimiter=self.delimiter, quoting=self.quoting)
            line = 1
            try:
                next(reader)
                for row in reader:
                    line = reader.line_num
                    if not row:
                        continue  # a blank line, as pandas skips it
                    where = f"{self.path}:{line}"
                    if row == self.header_row:
                        raise _table.repeated_header(where, self.header)
                    if len(row) != size:
                        raise DataError(
                            f"{where}: expected {size} fields separated by "
                            f"{self.delimiter!r}, found {len(row)}. Fix the row"
                            + (" (a tab inside a text splits it in TSV; save the file as "
                               "CSV)." if self.format == "tsv" else
                               ", or look for an unclosed quote above it.")
                        )
                    label = row[label_at].strip()
                    if not label:
                        raise DataError(
                            f"{where}: the label (column {self.label_column!r}) is missing. "
                            "Labels are never filled in: fix or remove the row."
                        )
                    yield where, row[text_at], label
            except UnicodeDecodeError as error:
                raise DataError(
                    f"{self.path}: not valid UTF-8 after line {line} ({error.reason}). Save "
                    "the file as UTF-8 (e.g. `iconv -f cp949 -t utf-8`)."
                ) from None
            except csv.Error as error:
                raise DataError(f"{self.path}:{reader.line_num}: {error}. Look for an "
                                "unclosed quote.") from None
            except _files.DECOMPRESSION_ERRORS as error:
                raise DataError(
                    f"{self.path}: cannot be decompressed after line {line} ({error}). The "
                    "download may be incomplete: fetch the file again."
                ) from None


class _LabelIds:
    """Label strings -> ids: positions in `class_names`, or integer ids when it is None."""

    def __init__(self, class_names):
        self.class_names = None if class_names is None else list(class_names)
        self.integer = class_names is None or all(
            isinstance(name, (int, np.integer)) and not isinstance(name, bool)
            for name in class_names
        )
        if class_names is not None:
            self.index = {(int(name) if self.integer else str(name)): i
                          for i, name in enumerate(class_names)}

    def __call__(self, label, where):
        if self.integer:
            if not INTEGER.fullmatch(label):
                hint = ("Pass `class_names` to map label strings to ids" if
                        self.class_names is None else f"The classes are {self.class_names}")
                raise DataError(f"{where}: label {label!r} is not an integer id. {hint}, or "
                                "fix the row.")
            value = int(label)
            if self.class_names is None:
                return value
        else:
            value = label
        if value not in self.index:
            raise DataError(
                f"{where}: label {label!r} is not one of the classes {self.class_names}. Fix "
                "the label, or train on data (or a sample) that has it."
            )
        return self.index[value]


def iter_labelled_texts(path, *, text_column=None, label_column=None, class_names=None,
                        format="auto"):
    """Yields `(text, label_id)` for every row of a labelled table, one at a time.

    Args:
        path: str or path. A table with a header (CSV / TSV), compression and UTF-16
            recognised by content.
        text_column, label_column: str or None. Header names; None tries "text", "document",
            "sentence", "review" and "label", "sentiment", as `load_table` does.
        class_names: list or None. The classes in id order (label i is `class_names[i]`);
            None means the labels are integer ids already.
        format: str. "auto" (from the name, else the header), "csv" or "tsv" (quotes are
            text, as NSMC needs).

    Yields:
        `(str, int)` pairs, in file order; blank lines are skipped, empty texts kept.

    Raises:
        DataFileNotFoundError: no such file.
        DataError: a missing column, a row with the wrong number of fields, a missing or
            unknown label, bytes that are not UTF-8; each with file:line.
    """
    source = _LabelledFile(path, text_column, label_column, format)
    label_id = _LabelIds(class_names)
    for where, text, label in source:
        yield text, label_id(label, where)


@dataclasses.dataclass(frozen=True, repr=False)
class StreamScan:
    """What one full read of a stream's shards found.

    Attributes:
        paths: tuple of str. The shards, in reading order.
        text_column, label_column: str. The columns read (the same in every shard).
        classes: tuple. The distinct labels, sorted (int when every label is an integer).
        label_counts: dict. Class -> number of texts the stream yields.
        num_texts: int. Texts the stream yields (empty documents dropped when `empty="drop"`).
        num_empty: int. Empty or whitespace-only documents found.
        empty: str. The `empty` policy.
        sample: list of str. At most `sample_size` texts drawn uniformly from the whole
            stream (seeded), in stream order.
    """

    paths: tuple
    text_column: str
    label_column: str
    classes: tuple
    label_counts: dict
    num_texts: int
    num_empty: int
    empty: str
    sample: list

    def summary(self):
        """One line for logs, like `LabelledTexts.summary`."""
        counts = ", ".join(f"{label!r}: {n:,}" for label, n in self.label_counts.items())
        empty = f"{self.num_empty} empty documents"
        if self.num_empty:
            empty += " (dropped)" if self.empty == "drop" else " (kept)"
        files = self.paths[0] if len(self.paths) == 1 else (
            f"{len(self.paths)} files ({self.paths[0]} ... {self.paths[-1]})")
        return (f"{files}: {self.num_texts:,} texts streamed, {len(self.classes)} classes "
                f"({counts}); {empty}; vocabulary sample {len(self.sample):,} texts")


def _open_shards(paths, text_column, label_column, format):
    """`_LabelledFile`s for every shard, all reading the columns the first one resolved."""
    paths = _files.expand_paths("paths", paths)
    first = _LabelledFile(paths[0], text_column, label_column, format)
    return [first] + [
        _LabelledFile(path, first.text_column, first.label_column, format) for path in paths[1:]
    ]


def scan_labelled_files(paths, *, text_column=None, label_column=None, format="auto",
                        empty="error", sample_size=100_000, seed=0):
    """Reads every row of every shard once: checks, counts and a bounded sample of texts.

    Args:
        paths: a path, a glob pattern ("shards/train-*.tsv.gz") or a list of them.
        text_column, label_column, format: as in `iter_labelled_texts`.
        empty: str. Empty documents: "error" (raise, naming where), "drop" or "keep".
        sample_size: int. At most this many texts are kept in `sample`.
        seed: int. Seeds the sample.

    Returns:
        A `StreamScan`.

    Raises:
        DataFileNotFoundError: a missing file, or a pattern that matches none.
        DataError: any bad row (file:line), labels that mix integers and names, or empty
            documents with `empty="error"`.
    """
    _validation.check_choice("empty", empty, EMPTY_POLICIES)
    _validation.check_positive_int("sample_size", sample_size)
    _validation.check_int("seed", seed)
    shards = _open_shards(paths, text_column, label_column, format)
    counts, first_seen, empties = collections.Counter(), {}, []
    sample, seen, rng = [], 0, random.Random(seed)
    num_empty = 0
    for shard in shards:
        for where, text, label in shard:
            if not text.strip():
                num_empty += 1
                if len(empties) < _SHOWN:
                    empties.append(where)
                if empty == "drop":
                    continue
            counts[label] += 1
            first_seen.setdefault(label, where)
            seen += 1
            if len(sample) < sample_size:  # reservoir sampling (Vitter's algorithm R)
                sample.append((seen, text))
            else:
                slot = rng.randrange(seen)
                if slot < sample_size:
                    sample[slot] = (seen, text)
    if num_empty and empty == "error":
        raise DataError(
            f"{num_empty:,} empty documents (column {shards[0].text_column!r}), first at "
            f"{', '.join(empties)}. Pass empty='drop' to leave them out or "
            "empty='keep' to keep them as empty strings."
        )
    if not counts:
        raise DataError(f"{shards[0].path}: no texts in {len(shards)} file(s); every shard "
                        "has only its header (or only empty documents, dropped).")
    integer = {label: bool(INTEGER.fullmatch(label)) for label in counts}
    all_integer = all(integer.values())
    if any(integer.values()) and not all_integer:
        odd = sorted(label for label, is_integer in integer.items() if not is_integer)
        raise DataError(
            f"{first_seen[odd[0]]}: the label {odd[0]!r} is not an integer, while other labels "
            f"are (non-integer labels: {_files.shown_list(odd, 5)}). Mixed kinds are not "
            "guessed: fix those rows, or write every label as a name."
        )
    by_class = collections.Counter()
    for label, n in counts.items():
        by_class[int(label) if all_integer else label] += n
    classes = tuple(sorted(by_class))
    return StreamScan(
        paths=tuple(shard.path for shard in shards),
        text_column=shards[0].text_column,
        label_column=shards[0].label_column,
        classes=classes,
        label_counts={name: by_class[name] for name in classes},
        num_texts=seen,
        num_empty=num_empty,
        empty=empty,
        sample=[text for _, text in sorted(sample)],
    )


def stream_classification_dataset(
    paths,
    *,
    vectorizer,
    text_column=None,
    label_column=None,
    class_names=None,
    format="auto",
    empty="error",
    transform=None,
    batch_size=32,
    boundaries=None,
    sample_texts=None,
    shuffle_buffer=None,
    seed=None,
    cache=None,
    min_length=1,
    max_length=None,
    prefetch=True,
):
    """Like `classification_dataset`, but reads the shards row by row on every pass.

    Args:
        paths: a path, a glob pattern or a list of them (read in that order).
        text_column, label_column, class_names, format: as in `iter_labelled_texts`.
        vectorizer: the `TextVectorization` from `build_text_vectorizer`.
        empty: str. Empty documents: "error" (default; raised with file:line during the
            pass), "drop" or "keep". `scan_labelled_files` counts them beforehand.
        transform: callable or None. Applied to each chunk of texts (a list of str) before
            vectorising, e.g. a kiwipiepy tokeniser; must return one str per text.
        batch_size, min_length, max_length, seed, prefetch: as in `classification_dataset`
            (truncation is not counted on a stream).
        boundaries: list of int or None. None estimates them from `sample_texts`, else from
            the first 10,000 texts of the stream.
        sample_texts: list of str or None. Texts (after `transform`) to place the bucket
            boundaries on, e.g. `transform(scan.sample)`.
        shuffle_buffer: int or None. Shuffle within a buffer of this many texts (ids);
            None does not shuffle.
        cache: None, "memory" or a file path. Cache the ids after the first pass (a file
            for data larger than memory); None re-reads and re-vectorises every epoch.

    Returns:
        A `tf.data.Dataset` of `(token_ids, label_ids)`, padded per batch with 0.
    """
    bucketing.check_batching(batch_size, boundaries, 1, min_length, max_length, seed)
    _validation.check_positive_int("shuffle_buffer", shuffle_buffer, allow_none=True)
    _validation.check_choice("empty", empty, EMPTY_POLICIES)
    if cache is not None:
        _validation.check_string("cache", cache)
    shards = _open_shards(paths, text_column, label_column, format)  # checks every header now
    label_id = _LabelIds(class_names)

    def prepared(texts):
        if transform is None:
            return texts
        out = transform(texts)
        if len(out) != len(texts):
            raise DataError(f"`transform` returned {len(out)} texts for {len(texts)}; it "
                            "must return one per text.")
        return out

    def chunks():
        texts, labels = [], []
        for shard in shards:
            for where, text, label in shard:
                if not text.strip():
                    if empty == "drop":
                        continue
                    if empty == "error":
                        raise DataError(f"{where}: empty document. Pass empty='drop' or "
                                        "empty='keep'.")
                texts.append(text)
                labels.append(label_id(label, where))
                if len(texts) == CHUNK:
                    yield np.array(prepared(texts), object), np.array(labels, np.int32)
                    texts, labels = [], []
        if texts:
            yield np.array(prepared(texts), object), np.array(labels, np.int32)

    if boundaries is None:
        from seqrecipes.datasets.encoding import encode_texts

        if sample_texts is None:
            sample_texts = []
            for texts, _ in chunks():
                sample_texts.extend(texts.tolist())
                if len(sample_texts) >= BOUNDARY_SAMPLE:
                    break
        lengths = encode_texts(list(sample_texts), vectorizer).row_lengths().numpy()
        boundaries = bucketing.resolve_boundaries(None, lengths, None, max_length, batch_size)
    dataset = tf.data.Dataset.from_generator(
        chunks,
        output_signature=(
            tf.TensorSpec((None,), tf.string), tf.TensorSpec((None,), tf.int32),
        ),
    )
    vectorize = in_pipeline(vectorizer)
    dataset = dataset.map(
        lambda texts, labels: {
            "token_ids": tf.RaggedTensor.from_tensor(
                tf.cast(vectorize(texts), tf.int32), padding=0
            ),
            "y": labels,
        }
    ).unbatch()

    def to_output(batch):
        return batch["token_ids"], batch["y"]

    return bucketing.bucketed(
        dataset, batch_size=batch_size, boundaries=[int(b) for b in boundaries],
        shuffle=shuffle_buffer is not None, shuffle_buffer=shuffle_buffer, seed=seed,
        max_length=max_length, min_length=min_length, to_output=to_output, cache=cache,
        prefetch=prefetch,
    )
