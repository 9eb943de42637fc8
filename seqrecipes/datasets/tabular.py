"""Labelled text tables (TSV / CSV) read with pandas: NSMC, IMDB and any table with a header.

Two dialects are understood, chosen from the file name or the header (or by `format=`):

- ``"tsv"``: tab-separated, **quotes are ordinary characters** (`csv.QUOTE_NONE`, pandas
  ``quoting=3``). This is how NSMC (``id<TAB>document<TAB>label``) is meant to be read: its
  quote artefacts (tripled and doubled quote characters) stay literal, as in the original
  pipeline.
- ``"csv"``: comma-separated with standard quoting, so texts may hold commas, quotes, tabs and
  line breaks (IMDB's ``text,label,rating,id``).

Every cell is read as text (``keep_default_na=False``): a review that says ``NA`` stays ``"NA"``.
Labels become `int` when every label is an integer, otherwise they stay strings.
"""

import dataclasses
import re

import numpy as np

from seqrecipes import _validation
from seqrecipes.datasets import _files, _table
from seqrecipes.datasets._table import FORMATS
from seqrecipes.errors import DataError

EMPTY_POLICIES = ("error", "drop", "keep")
# Header names tried, in order, when `text_column` / `label_column` are not given.
TEXT_COLUMNS = ("text", "document", "sentence", "review")
LABEL_COLUMNS = ("label", "sentiment")
INTEGER = re.compile(r"[+-]?\d+")


@dataclasses.dataclass(frozen=True, repr=False)
class LabelledTexts:
    """Texts and their labels, as read from one file.

    Attributes:
        texts: list of str. The documents, verbatim.
        labels: list of int or str. One label per text, as written in the file.
        classes: tuple. The distinct labels, sorted.
        path: str. The file they came from.
        format: str. The dialect used, "csv" or "tsv".
        num_empty: int. Empty or whitespace-only documents found (kept or dropped, see `empty`).
        empty: str. The `empty` policy the file was read with ("error" means none were found).
        rows: tuple of int. For each text, its 1-based record number in the file (header not
            counted), so a later error can point back at the file.
    """

    texts: list
    labels: list
    classes: tuple
    path: str
    format: str
    num_empty: int
    empty: str
    rows: tuple

    def __len__(self):
        return len(self.texts)

    def __repr__(self):  # short: the default would print every text
        return (
            f"LabelledTexts(path={self.path!r}, format={self.format!r}, texts={len(self)}, "
            f"classes={self.classes!r}, num_empty={self.num_empty}, empty={self.empty!r})"
        )

    @property
    def label_counts(self):
        """A dict ``{label: count}`` in the order of `classes`."""
        counts = dict.fromkeys(self.classes, 0)
        for label in self.labels:
            counts[label] += 1
        return counts

    def label_ids(self, classes=None):
        """Maps labels to ids: the position of each label in `classes` (an int32 array).

        Args:
            classes: sequence or None. The class list, usually the training split's `classes`
                (so a test file is encoded like its training file). Defaults to `self.classes`.

        Raises:
            DataError: a label is not in `classes`; the message names the value and the line.
        """
        classes = self.classes if classes is None else tuple(classes)
        index = {label: i for i, label in enumerate(classes)}
        ids = np.empty(len(self.labels), dtype=np.int32)
        for i, label in enumerate(self.labels):
            if label not in index:
                raise DataError(
                    f"{self.where(i)}: label {label!r} is not one of the classes {list(classes)}. "
                    "Pass `classes` that include it (e.g. the union of the splits' classes) or "
                    "fix the label in the file."
                )
            ids[i] = index[label]
        return ids

    def where(self, i):
        """``"file:line"`` of text `i` (the line is found by replaying the file)."""
        raw = _files.read_bytes("path", self.path)
        return _table.Locator(self.path, raw, self.format)(self.rows[i] - 1)

    def summary(self):
        """One line for logs: size, label counts and what happened to empty documents."""
        counts = ", ".join(f"{label!r}: {n:,}" for label, n in self.label_counts.items())
        empty = f"{self.num_empty} empty documents"
        if self.num_empty:
            empty += " (dropped)" if self.empty == "drop" else " (kept)"
        return f"{self.path}: {len(self):,} texts, {len(self.classes)} classes ({counts}); {empty}"


def load_table(path, *, text_column=None, label_column=None, format="auto", empty="error"):
    """Reads a labelled text table (TSV or CSV, optionally compressed or UTF-16).

    The file must have a header line. NSMC (``id<TAB>document<TAB>label``) and IMDB
    (``text,label,rating,id``) load with the defaults apart from `empty`.

    Args:
        path: str or path-like. The file; gzip, bzip2, xz, a one-file zip and UTF-16 / UTF-32
            are recognised by their content, whatever the name (`_content`).
        text_column: str or None. Header of the text column. Defaults to the first of
            "text", "document", "sentence", "review" that exists.
        label_column: str or None. Header of the label column. Defaults to the first of
            "label", "sentiment" that exists.
        format: str. "csv", "tsv" or "auto": ``.csv`` -> csv, ``.tsv`` / ``.tab`` -> tsv (after
            dropping ``.gz``); any other name -> tsv if the header has a tab, else csv.
            Defaults to "auto".
        empty: str. What to do with empty or whitespace-only documents: "error" (raise, saying
            how many and where), "drop" (leave them out) or "keep" (keep them as they are).
            Either way `num_empty` counts them. Defaults to "error", so nothing is decided
            silently: NSMC train has 5 empty reviews and needs an explicit choice.

    Returns:
        A `LabelledTexts`.

    Raises:
        DataFileNotFoundError: the file does not exist.
        DataError: the file is empty, has no rows, is not UTF-8, has the wrong delimiter, lacks
            a column (the message lists the columns that exist), has a row with too many
            fields, a missing label, or empty documents with ``empty="error"``.

    Example:

    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder, "reviews.csv")
    ...     _ = path.write_text('text,label\\n"Great, really.",pos\\nDull.,neg\\n')
    ...     data = load_table(path)
    >>> data.texts, data.classes, data.label_counts
    (['Great, really.', 'Dull.'], ('neg', 'pos'), {'neg': 1, 'pos': 1})
    >>> data.label_ids().tolist()
    [1, 0]
    """
    _validation.check_string("text_column", text_column, allow_none=True)
    _validation.check_string("label_column", label_column, allow_none=True)
    _validation.check_choice("format", format, FORMATS)
    _validation.check_choice("empty", empty, EMPTY_POLICIES)
    _validation.check_conflict(
        text_column is not None and text_column == label_column,
        f"`text_column` and `label_column` are both {text_column!r}. Name two different columns.",
    )
    frame, raw, path, format = _table.read_frame(path, format=format)
    columns = [str(column) for column in frame.columns]
    text_column = pick_column(columns, path, "text_column", text_column, TEXT_COLUMNS)
    label_column = pick_column(columns, path, "label_column", label_column, LABEL_COLUMNS)
    texts = frame[text_column].tolist()
    labels = [label.strip() for label in frame[label_column].tolist()]
    where = _table.Locator(path, raw, format)

    missing = [i for i, label in enumerate(labels) if not label]
    if missing:
        raise DataError(
            f"{where(missing[0])}: the label (column {label_column!r}) is missing "
            f"({len(missing)} rows without a label, at lines {where.lines(missing)}). Labels "
            "are never filled in: fix or remove those rows."
        )
    integer = [bool(INTEGER.fullmatch(label)) for label in labels]
    if all(integer):
        labels = [int(label) for label in labels]
    elif any(integer):
        # 0/1 labels with a stray "NaN" or "NA" (a missing value written out by another tool)
        # would otherwise become a third class, silently.
        odd = [i for i, is_integer in enumerate(integer) if not is_integer]
        values = sorted(set(labels[i] for i in odd))
        raise DataError(
            f"{where(odd[0])}: the label {_files.shown(labels[odd[0]], 40)} (column "
            f"{label_column!r}) is not an integer, while {sum(integer):,} other labels are "
            f"integers ({len(odd)} rows with non-integer labels {_files.shown_list(values, 5)}, "
            f"at lines {where.lines(odd)}). Missing labels are never filled in and mixed kinds are not "
            "guessed: fix or remove those rows, or write every label as a name."
        )

    blank = [i for i, text in enumerate(texts) if not text.strip()]
    if blank and empty == "error":
        raise DataError(
            f"{path}: {len(blank)} empty documents (column {text_column!r}) at lines "
            f"{where.lines(blank)}. Pass empty='drop' to leave them out or empty='keep' to "
            "keep them as empty strings."
        )
    rows = range(1, len(texts) + 1)
    if blank and empty == "drop":
        keep = sorted(set(range(len(texts))) - set(blank))
        texts, labels, rows = ([seq[i] for i in keep] for seq in (texts, labels, rows))
    return LabelledTexts(
        texts=texts,
        labels=labels,
        classes=tuple(sorted(set(labels))),
        path=path,
        format=format,
        num_empty=len(blank),
        empty=empty,
        rows=tuple(rows),
    )


def pick_column(columns, path, name, given, defaults):
    """`given` if it is one of `columns`, else (when None) the first of `defaults` there."""
    if given is None:
        found = [column for column in defaults if column in columns]
        if found:
            return found[0]
        raise DataError(
            f"{path}: no column named {' / '.join(map(repr, defaults))}. The columns are "
            f"{_files.shown_list(columns)}. Pass `{name}` with one of them."
        )
    if given not in columns:
        raise DataError(
            f"{path}: `{name}`={given!r} is not a column. The columns are "
            f"{_files.shown_list(columns)}."
        )
    return given
