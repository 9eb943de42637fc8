"""CoNLL column files (one token per line, blank line between sentences) with IOB tag checks.

CoNLL-2003 (``token POS chunk NER``, space-separated) and character files such as KLUE-NER's
``dev.char.conll`` (``char<TAB>tag``, spaces written as ``▁``) both read with the defaults.
``-DOCSTART-`` lines and blank lines separate sentences and are never sentences themselves.

Tags are checked against IOB2 (every entity starts with ``B-X``; ``I-X`` only continues an ``X``
entity). A broken ``I-X`` is an error pointing at ``file:line``, or, with ``invalid="repair"``,
becomes ``B-X`` and is counted in `num_repaired`: never changed silently. IOB1 files (``B-`` only
between two adjacent entities of one type) are converted to IOB2 with ``scheme="iob1"``, or
recognised with ``scheme="auto"``.
"""

import collections
import dataclasses
import os

from seqeval.metrics.sequence_labeling import get_entities

from seqrecipes import _validation
from seqrecipes.datasets import _files
from seqrecipes.errors import DataError, NotIOBTagError

SCHEMES = ("iob2", "iob1", "auto", "none")
INVALID_POLICIES = ("error", "repair")
DOCSTART = "-DOCSTART-"


@dataclasses.dataclass(frozen=True, repr=False)
class TaggedSentences:
    """Sentences of tokens with one tag per token, as read from one file.

    Attributes:
        tokens: list of list of str. One list per sentence.
        tags: list of list of str. Parallel to `tokens`; IOB2 unless `scheme` is "none".
        lines: list of list of int. The 1-based source line of every token.
        path: str. The file they came from.
        scheme: str. The file's tag scheme: "iob2", "iob1" (converted to IOB2) or "none".
        num_documents: int. ``-DOCSTART-`` lines seen.
        num_repaired: int. ``I-X`` tags that started an entity and became ``B-X`` because of
            ``invalid="repair"`` (always 0 with ``invalid="error"``).
        num_converted: int. ``I-X`` tags rewritten as ``B-X`` by the IOB1 -> IOB2 conversion.
        documents: list of int. The document of every sentence: the number of
            ``-DOCSTART-`` lines before it (all 0 in a file without them).
    """

    tokens: list
    tags: list
    lines: list
    path: str
    scheme: str
    num_documents: int
    num_repaired: int
    num_converted: int
    documents: list = None

    def __len__(self):
        return len(self.tokens)

    def __repr__(self):  # short: the default would print every sentence
        return (
            f"TaggedSentences(path={self.path!r}, sentences={len(self)}, "
            f"tokens={self.num_tokens}, scheme={self.scheme!r}, "
            f"num_repaired={self.num_repaired}, num_converted={self.num_converted})"
        )

    @property
    def num_tokens(self):
        return sum(len(sentence) for sentence in self.tokens)

    def where(self, sentence, position=0):
        """``"file:line"`` of a token, for error messages."""
        return f"{self.path}:{self.lines[sentence][position]}"

    def tag_counts(self):
        """A dict ``{tag: count}`` over all tokens, sorted by tag."""
        return dict(sorted(collections.Counter(t for s in self.tags for t in s).items()))

    def entity_counts(self):
        """A dict ``{type: number of entity spans}`` (spans found by seqeval), sorted by type."""
        _validation.check_conflict(
            self.scheme == "none",
            f"{self.path} was read with scheme='none', so its tags are not entities. Read it "
            "with scheme='iob2', 'iob1' or 'auto' to count entities.",
        )
        counts = collections.Counter(kind for kind, _, _ in get_entities(self.tags))
        return dict(sorted(counts.items()))


def load_conll(
    path,
    *,
    token_column=0,
    tag_column=-1,
    delimiter=None,
    scheme="iob2",
    invalid="error",
):
    """Reads a CoNLL column file into sentences of tokens and tags.

    Every non-blank line holds one token; all of them must have the same number of columns.

    Args:
        path: str or path-like. The file (UTF-8; compression and UTF-16 recognised by
            content).
        token_column: int. Column of the token (negative counts from the end). Defaults to 0.
        tag_column: int. Column of the tag. Defaults to -1 (the last: NER in CoNLL-2003).
        delimiter: str or None. Column separator; None splits on any run of whitespace.
            Defaults to None. Use "\\t" when tokens may contain spaces.
        scheme: str. The file's tag scheme: "iob2" (checked), "iob1" (converted to IOB2),
            "auto" (IOB1 when some ``I-X`` starts an entity and no ``B-X`` follows a tag of
            another type, IOB2 otherwise; the result's `scheme` says which) or "none" (tags
            read as they are, e.g. POS tags). Defaults to "iob2".
        invalid: str. What to do with an IOB2 ``I-X`` that follows ``O``, a different type or
            the sentence start: "error" (raise with ``file:line``) or "repair" (make it
            ``B-X``, counted in `num_repaired`). Defaults to "error".

    Returns:
        A `TaggedSentences`.

    Raises:
        DataFileNotFoundError: the file does not exist.
        DataError: the file is empty, not UTF-8, has a line with too few or a different number
            of columns, an empty token, a tag that is not ``O`` / ``B-X`` / ``I-X``, or (with
            ``invalid="error"``) an ``I-X`` that does not continue an ``X`` entity.

    Example:

    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder, "tiny.conll")
    ...     _ = path.write_text("-DOCSTART- O\\n\\nAda B-PER\\nLovelace I-PER\\nwrote O\\n")
    ...     data = load_conll(path)
    >>> data.tokens, data.tags, data.lines
    ([['Ada', 'Lovelace', 'wrote']], [['B-PER', 'I-PER', 'O']], [[3, 4, 5]])
    >>> data.entity_counts()
    {'PER': 1}
    """
    token_column = _validation.check_int("token_column", token_column)
    tag_column = _validation.check_int("tag_column", tag_column)
    _validation.check_string("delimiter", delimiter, allow_none=True)
    _validation.check_choice("scheme", scheme, SCHEMES)
    _validation.check_choice("invalid", invalid, INVALID_POLICIES)
    raw = _files.read_bytes("path", path)
    path_str = os.fspath(path)
    text = _files.decode(path_str, raw)
    tokens, tags, lines, documents, num_documents = _read_columns(
        path_str, text, token_column, tag_column, delimiter
    )
    if not tokens:
        raise DataError(
            f"{path_str}: no sentences found. Expected one `token ... tag` line per token and a "
            "blank line between sentences."
        )
    if scheme != "none":
        for sentence_tags, sentence_lines in zip(tags, lines):
            for tag, line in zip(sentence_tags, sentence_lines):
                _check_tag(path_str, line, tag)
    if scheme == "auto":
        scheme = "iob1" if _looks_iob1(tags) else "iob2"
    num_repaired = num_converted = 0
    if scheme in ("iob1", "iob2"):
        for sentence_tags, sentence_lines in zip(tags, lines):
            fixed = _start_entities(path_str, sentence_tags, sentence_lines, scheme, invalid)
            num_converted += fixed if scheme == "iob1" else 0
            num_repaired += fixed if scheme == "iob2" else 0
    return TaggedSentences(
        tokens=tokens,
        tags=tags,
        lines=lines,
        path=path_str,
        scheme=scheme,
        num_documents=num_documents,
        num_repaired=num_repaired,
        num_converted=num_converted,
        documents=documents,
    )


def _read_columns(path, text, token_column, tag_column, delimiter):
    tokens, tags, lines, documents = [], [], [], []
    sentence_tokens, sentence_tags, sentence_lines = [], [], []
    num_documents = 0
    width = first_line = None
    for number, line in enumerate(_files.normalize_newlines(text).split("\n"), start=1):
        fields = (line.split(delimiter) if delimiter else line.split()) if line.strip() else None
        if fields and fields[0].strip() == DOCSTART:  # "-DOCSTART-" with any other columns
            num_documents += 1
            fields = None
        if fields is None:  # a blank or -DOCSTART- line ends the current sentence
            if sentence_tokens:
                tokens.append(sentence_tokens)
                tags.append(sentence_tags)
                lines.append(sentence_lines)
                documents.append(sentence_document)
                sentence_tokens, sentence_tags, sentence_lines = [], [], []
            continue
        if width is None:
            width, first_line = len(fields), number
            _check_columns(path, number, fields, token_column, tag_column)
        if len(fields) != width:
            raise DataError(
                f"{path}:{number}: {len(fields)} columns, expected {width} as on line "
                f"{first_line} (the first token line): {_files.shown(line)}. Every token line "
                "needs "
                f"the same columns{_delimiter_hint(delimiter)}."
            )
        token, tag = fields[token_column], fields[tag_column].strip()
        if not token or not tag:
            raise DataError(
                f"{path}:{number}: empty {'tag' if token else 'token'} in {_files.shown(line)}. "
                f"Every token line needs a token and a tag{_delimiter_hint(delimiter)}."
            )
        if not sentence_tokens:
            sentence_document = num_documents  # -DOCSTART- lines before the sentence
        sentence_tokens.append(token)
        sentence_tags.append(tag)
        sentence_lines.append(number)
    if sentence_tokens:
        tokens.append(sentence_tokens)
        tags.append(sentence_tags)
        lines.append(sentence_lines)
        documents.append(sentence_document)
    return tokens, tags, lines, documents, num_documents


def _check_columns(path, number, fields, token_column, tag_column):
    width = len(fields)
    needed = max(c + 1 if c >= 0 else -c for c in (token_column, tag_column))
    if width < needed or (token_column % width) == (tag_column % width):
        raise DataError(
            f"{path}:{number}: {width} column(s) {_files.shown_list(fields, 5)}, but "
            f"token_column={token_column} "
            f"and tag_column={tag_column} need {max(needed, 2)} different columns. Expected "
            "`token ... tag` on every token line; set `token_column` / `tag_column` or "
            "`delimiter`."
        )


def _delimiter_hint(delimiter):
    if delimiter is None:
        return " (columns are split on whitespace; pass delimiter='\\t' if tokens hold spaces)"
    return f" (columns are split on {delimiter!r})"


def _check_tag(path, line, tag):
    prefix, _, kind = tag.partition("-")
    if tag != "O" and not (prefix in ("B", "I") and kind):
        raise NotIOBTagError(
            f"{path}:{line}: tag {_files.shown(tag)} is not IOB: expected 'O', 'B-<type>' or "
            "'I-<type>'. "
            "Pass scheme='none' to read tags without checks (e.g. POS tags), or choose the "
            "tag column with `tag_column`.",
            where=f"{path}:{line}", tag=tag,
        )


def _looks_iob1(tags):
    """True when some I-X starts an entity and no B-X follows a tag of another type."""
    starts_with_i = False
    for sentence in tags:
        previous = "O"
        for tag in sentence:
            if tag[:2] == "B-" and previous[2:] != tag[2:]:
                return False  # IOB1 only uses B-X right after an X token
            if tag[:2] == "I-" and previous[2:] != tag[2:]:
                starts_with_i = True
            previous = tag
    return starts_with_i


def _start_entities(path, tags, lines, scheme, invalid):
    """Rewrites, in place, each I-X that starts an entity as B-X; returns how many changed."""
    changed = 0
    previous = "O"
    for i, tag in enumerate(tags):
        if tag[:2] == "I-" and previous[2:] != tag[2:]:
            if scheme == "iob2" and invalid == "error":
                after = "starts the sentence" if i == 0 else f"follows {previous!r}"
                raise DataError(
                    f"{path}:{lines[i]}: {tag!r} {after}; in IOB2 an entity starts with "
                    f"'B-{tag[2:]}'. Pass invalid='repair' to rewrite such tags as B- "
                    "(counted in num_repaired), or scheme='iob1' if the file uses IOB1."
                )
            tags[i] = "B-" + tag[2:]
            changed += 1
        previous = tag
    return changed
