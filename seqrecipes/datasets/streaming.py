"""Streaming input for files that do not fit in memory: read row by row, never a DataFrame.

`iter_labelled_texts` reads a delimited file (gzip or not) with the `csv` module, one record
at a time, and checks each row (file:line in every error). `stream_classification_dataset`
feeds it through `tf.data`: batches of strings are vectorised, split back into rows of ids,
optionally cached (ids, not strings; to a file for data larger than memory), shuffled in a
bounded buffer, then bucketed and padded as in `classification_dataset`.

For the vocabulary of a stream, adapt on a bounded sample:
`build_text_vectorizer((text for text, _ in iter_labelled_texts(...)), max_samples=100_000)`
reads only the first 100,000 texts, so the file must be shuffled (or the sample made large
enough) for them to represent it.
"""

import csv
import gzip
import itertools
import sys

import tensorflow as tf

from seqrecipes import _validation
from seqrecipes.datasets import bucketing
from seqrecipes.errors import DataError

QUOTING = {"none": csv.QUOTE_NONE, "minimal": csv.QUOTE_MINIMAL}
BOUNDARY_SAMPLE = 10_000  # texts read to estimate bucket boundaries when none are given


def _open(path):
    if str(path).endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def iter_labelled_texts(
    path, *, text_column, label_column, class_names=None, delimiter="\t", quoting="none"
):
    """Yields `(text, label_id)` for every row of a delimited file with a header, one at a time.

    Args:
        path: str or path. A `.tsv` / `.csv` / `.txt` file, gzip-compressed if it ends in `.gz`.
        text_column: str. Header name of the text column (e.g. "document" for NSMC).
        label_column: str. Header name of the label column (e.g. "label").
        class_names: list of str or None. Label strings, in id order (label i is
            `class_names[i]`); None means the labels are integer ids already.
        delimiter: str. One character. Defaults to a tab.
        quoting: str. "none" (quote characters are text, like pandas `quoting=3`, as NSMC
            needs) or "minimal" (CSV quoting, fields may span lines). Defaults to "none".

    Yields:
        `(str, int)` pairs, in file order.

    Raises:
        DataFileNotFoundError: no such file.
        DataError: a missing column, a short row or a bad label, with file:line.
    """
    path = _validation.check_existing_file("path", path)
    _validation.check_string("text_column", text_column)
    _validation.check_string("label_column", label_column)
    _validation.check_choice("quoting", quoting, tuple(QUOTING))
    labels = None if class_names is None else {name: i for i, name in enumerate(class_names)}
    csv.field_size_limit(sys.maxsize)  # a long review is one field
    with _open(path) as handle:
        reader = csv.reader(handle, delimiter=delimiter, quoting=QUOTING[quoting])
        header = next(reader, None)
        if header is None:
            raise DataError(f"{path}: the file is empty; expected a header line.")
        missing = [name for name in (text_column, label_column) if name not in header]
        if missing:
            raise DataError(
                f"{path}:1: no column {missing[0]!r}; the header has {header}. Pass the right "
                "`text_column` / `label_column`, or check `delimiter`."
            )
        text_at, label_at = header.index(text_column), header.index(label_column)
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if len(row) != len(header):
                raise DataError(
                    f"{where}: expected {len(header)} fields separated by {delimiter!r}, found "
                    f"{len(row)}. Fix the row, or check `delimiter` and `quoting`."
                )
            yield row[text_at], _label(row[label_at], labels, where)


def _label(value, labels, where):
    if labels is not None:
        if value not in labels:
            raise DataError(
                f"{where}: label {value!r} is not one of `class_names` {list(labels)}."
            )
        return labels[value]
    try:
        return int(value)
    except ValueError:
        raise DataError(
            f"{where}: label {value!r} is not an integer id. Pass `class_names` to map "
            "label strings to ids, or fix the row."
        ) from None


def stream_classification_dataset(
    path,
    *,
    vectorizer,
    text_column,
    label_column,
    class_names=None,
    delimiter="\t",
    quoting="none",
    batch_size=32,
    boundaries=None,
    shuffle_buffer=None,
    seed=None,
    cache=None,
    min_length=1,
    max_length=None,
    prefetch=True,
):
    """Like `classification_dataset`, but reads `path` row by row on every pass.

    Args:
        path, text_column, label_column, class_names, delimiter, quoting: as in
            `iter_labelled_texts`.
        vectorizer: the `TextVectorization` from `build_text_vectorizer`.
        batch_size, min_length, max_length, seed, prefetch: as in `classification_dataset`
            (truncation is not counted on a stream).
        boundaries: list of int or None. None estimates them from the first 10,000 texts.
        shuffle_buffer: int or None. Shuffle within a buffer of this many texts (ids);
            None does not shuffle.
        cache: None, "memory" or a file path. Cache the ids after the first pass (a file
            for data larger than memory); None re-reads and re-vectorises every epoch.

    Returns:
        A `tf.data.Dataset` of `(token_ids, label_ids)`, padded per batch with 0.
    """
    bucketing.check_batching(batch_size, boundaries, 1, min_length, max_length, seed)
    _validation.check_positive_int("shuffle_buffer", shuffle_buffer, allow_none=True)
    if cache is not None:
        _validation.check_string("cache", cache)

    def rows():
        return iter_labelled_texts(
            path, text_column=text_column, label_column=label_column,
            class_names=class_names, delimiter=delimiter, quoting=quoting,
        )

    first = rows()  # check the file and its header now, not at the first epoch
    next(first, None)
    first.close()
    if boundaries is None:
        from seqrecipes.datasets.encoding import encode_texts

        sample = [text for text, _ in itertools.islice(rows(), BOUNDARY_SAMPLE)]
        lengths = encode_texts(sample, vectorizer).row_lengths().numpy()
        boundaries = bucketing.resolve_boundaries(None, lengths, 16, max_length)
    dataset = tf.data.Dataset.from_generator(
        rows,
        output_signature=(
            tf.TensorSpec((), tf.string), tf.TensorSpec((), tf.int32),
        ),
    )
    dataset = dataset.batch(1024).map(
        lambda texts, labels: {
            "token_ids": tf.RaggedTensor.from_tensor(
                tf.cast(vectorizer(texts), tf.int32), padding=0
            ),
            "y": labels,
        }
    ).unbatch()

    def to_output(batch):
        return batch["token_ids"], batch["y"]

    return bucketing.bucketed(
        dataset, size=None, batch_size=batch_size, boundaries=[int(b) for b in boundaries],
        shuffle=shuffle_buffer is not None, shuffle_buffer=shuffle_buffer, seed=seed,
        max_length=max_length, min_length=min_length, to_output=to_output, cache=cache,
        prefetch=prefetch,
    )

