"""The vectors recipe's input: unlabelled text files, tokenised exactly as the recipes do.

Three kinds of file, recognised per file (`detect_format`) or named with `format`:

- plain text, one text per line (blank lines are counted and skipped);
- a table with a header (CSV / TSV, `datasets.tabular`'s dialects), its text column read as
  `sentiment train --data` reads it (`text_column`, else the first of "text", "document",
  "sentence", "review"); a label column, if there is one, is never read;
- a CoNLL column file (`datasets.conll`), its tokens read as `ner train --train` reads them;
  the tags are not read (and not checked).

Gzip, bzip2, xz, one-file zip and UTF-16 files are recognised by content, as by every reader.

Texts are tokenised with the sentiment recipe's tokenisers (`sentiment.data`): its
standardisation and split for the language, run in Python by `portable.text` (which mirrors the
model's `TextVectorization` token for token), after kiwipiepy for the Korean morpheme
tokenisers; so a vector's word is the word the sentiment vocabulary holds. CoNLL tokens are kept
as they are, lower-cased with `lowercase` as `ner train` does by default (`ner.data.words`).

A token holding an ASCII space character (a space among the characters of the "syllables"
tokenizer, a token of a tab-separated CoNLL file) cannot be written in the word2vec text
format, whose fields are separated by spaces: such tokens are left out, and counted.
"""

import dataclasses
import os

from seqrecipes import _validation
from seqrecipes.datasets import _files, _table
from seqrecipes.datasets.tabular import TEXT_COLUMNS, pick_column
from seqrecipes.errors import DataError, InvalidArgumentError
from seqrecipes.portable.text import TextVectorizer
from seqrecipes.recipes.ner.data import words as ner_words
from seqrecipes.recipes.sentiment import FALLBACK_TOKENIZERS, LANGUAGE_DEFAULTS
from seqrecipes.recipes.sentiment import data as sentiment_text

FORMATS = ("auto", "text", "csv", "tsv", "conll")
TABLE_FORMATS = ("csv", "tsv")
LANGUAGES = sentiment_text.LANGUAGES
TOKENIZERS = sentiment_text.TOKENIZERS
# Names that mark a CoNLL file (after a compression suffix is dropped).
CONLL_SUFFIXES = (".conll", ".iob", ".iob2", ".bio")
# What `format` each setting of the input is read by: given for files of no such format, it
# would be silently ignored, so it is refused (`check_settings_apply`).
SETTINGS_BY_FORMAT = {
    "text_column": TABLE_FORMATS,
    "token_column": ("conll",),
    "delimiter": ("conll",),
    "lowercase": ("conll",),
    "tokenizer": ("text", *TABLE_FORMATS),
}
_ASCII_SPACES = frozenset(" \t\n\v\f\r")


@dataclasses.dataclass(frozen=True)
class Source:
    """What was read from one file: its format, texts (CoNLL: sentences) and empty texts."""

    path: str
    format: str
    texts: int
    empty: int
    column: object = None  # the text column of a table, the token column of a CoNLL file

    def summary(self):
        column = "" if self.column is None else (
            f", column {self.column!r}" if self.format in TABLE_FORMATS
            else f", token column {self.column}")
        unit = "sentences" if self.format == "conll" else "texts"
        empty = f", {self.empty:,} empty skipped" if self.empty else ""
        return f"{self.path} ({self.format}{column}): {self.texts:,} {unit}{empty}"


@dataclasses.dataclass(frozen=True)
class Corpus:
    """Token lists to train on and what they came from."""

    sentences: list
    sources: tuple
    tokenizer: object  # the tokenizer of the text and table files; None when all are CoNLL
    lowercase: object  # whether CoNLL tokens were lower-cased; None when none is CoNLL
    spaced_tokens: int  # tokens left out: they hold an ASCII space (see the module's doc)

    @property
    def num_texts(self):
        return sum(source.texts for source in self.sources)

    @property
    def num_tokens(self):
        return sum(map(len, self.sentences))

    def describe(self):
        """The corpus for config.json."""
        return {
            "files": [dataclasses.asdict(source) for source in self.sources],
            "texts": self.num_texts,
            "tokens": self.num_tokens,
            "spaced_tokens_left_out": self.spaced_tokens,
        }


def default_tokenizer(language):
    """`(tokenizer, note)`: the sentiment recipe's default for `language`, or its fallback
    (and a note saying why) when the default needs kiwipiepy and it is not installed."""
    tokenizer = LANGUAGE_DEFAULTS[language]["tokenizer"]
    if sentiment_text.tokenizer_installed(language, tokenizer):
        return tokenizer, None
    fallback = FALLBACK_TOKENIZERS[language]
    return fallback, (f"kiwipiepy is not installed, so {fallback} instead of the default "
                      f"{tokenizer}: {sentiment_text.korean.KOREAN_INSTALL}")


def detect_format(path, text, *, text_column=None):
    """The format of the file at `path` whose decoded content is `text`.

    From the name first (``.csv``, ``.tsv`` / ``.tab``, ``.conll`` / ``.iob`` / ``.bio``,
    compression suffixes dropped), else from the content: a first line ``-DOCSTART-`` is
    CoNLL (CoNLL-2003's ``train.txt``); a header naming `text_column` or one of the usual text
    columns between tabs or commas is a table (NSMC's ``ratings_train.txt``); anything else is
    plain text. The summary names the format each file was read as.
    """
    name = _files.stripped_name(path).lower()
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".tsv", ".tab")):
        return "tsv"
    if name.endswith(CONLL_SUFFIXES):
        return "conll"
    first = next((line for line in text.split("\n", 50)[:50] if line.strip()), "")
    if first.split() and first.split()[0] == "-DOCSTART-":  # `datasets.conll.DOCSTART`
        return "conll"
    names = text_column and (text_column,) or TEXT_COLUMNS
    for delimiter, format in (("\t", "tsv"), (",", "csv")):
        cells = [cell.strip().strip('"') for cell in first.split(delimiter)]
        if len(cells) > 1 and any(column in cells for column in names):
            return format
    return "text"


def check_settings_apply(given, formats):
    """Refuses a setting of `given` (not None) that no file's format reads (`formats`)."""
    unused = [name for name, value in given.items()
              if value is not None and not set(SETTINGS_BY_FORMAT[name]) & set(formats)]
    if unused:
        read = ", ".join(f"`{name}` ({' / '.join(SETTINGS_BY_FORMAT[name])} files)"
                         for name in unused)
        raise InvalidArgumentError(
            f"The data holds only {' and '.join(sorted(set(formats)))} files, so {read} "
            f"{'does' if len(unused) == 1 else 'do'} not apply. Received: "
            + ", ".join(f"{name}={given[name]!r}" for name in unused)
            + ". Leave it out, or check `format` and `data`."
        )


def _read_text(path, text):
    lines = _files.normalize_newlines(text).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    texts = [line for line in lines if line.strip()]
    return texts, len(lines) - len(texts)


def _read_table(path, format, text_column):
    frame, _, path, format = _table.read_frame(path, format=format, min_columns=1)
    columns = [str(column) for column in frame.columns]
    column = pick_column(columns, path, "text_column", text_column, TEXT_COLUMNS)
    cells = frame[column].tolist()
    texts = [cell for cell in cells if cell.strip()]
    return texts, len(cells) - len(texts), column, format


def _tokenize(texts, language, tokenizer):
    options = sentiment_text.VECTORIZER_OPTIONS[(language, tokenizer)]
    splitter = TextVectorizer(["", "[UNK]"], standardize=options["standardize"],
                              split=options["split"])
    return [splitter.tokens(text)
            for text in sentiment_text.pretokenize(texts, language, tokenizer)]


def read_corpus(paths, *, format, text_column, token_column, delimiter, language, tokenizer,
                lowercase):
    """Reads and tokenises every file of `paths`, in order (`Corpus`).

    `tokenizer`, `lowercase` and `token_column` may be None: the defaults (the language's
    sentiment tokenizer, lower-cased CoNLL tokens, column 0) are filled in once the files'
    formats are known, and a setting given for a format no file has is refused.

    Raises:
        DataFileNotFoundError: a file does not exist.
        DataError: a file cannot be read as its format (named, with the line), or every file
            is empty.
        InvalidArgumentError: a setting that no file's format reads, or an unknown tokenizer.
        MissingDependencyError: a kiwipiepy tokenizer without kiwipiepy.
    """
    read = []
    for path in paths:
        path = os.fspath(path)
        raw = _files.read_bytes("data", path)
        text = _files.decode(path, raw)
        file_format = (detect_format(path, text, text_column=text_column)
                       if format == "auto" else format)
        read.append((path, text, file_format))
    formats = [file_format for _, _, file_format in read]
    check_settings_apply({"text_column": text_column, "token_column": token_column,
                          "delimiter": delimiter, "lowercase": lowercase,
                          "tokenizer": tokenizer}, formats)
    has_texts = any(file_format != "conll" for file_format in formats)
    note = None
    if has_texts:
        if tokenizer is None:
            tokenizer, note = default_tokenizer(language)
        _validation.check_choice("tokenizer", tokenizer, TOKENIZERS[language])
        sentiment_text.check_tokenizer_installed(language, tokenizer)
    if "conll" in formats:
        lowercase = True if lowercase is None else lowercase
        token_column = 0 if token_column is None else token_column
    sentences, sources = [], []
    for path, text, file_format in read:
        if file_format == "conll":
            # Here: `datasets.conll` imports seqeval (and pandas), which `--help` must not.
            from seqrecipes.datasets.conll import load_conll

            data = load_conll(path, token_column=token_column, tag_column=-1,
                              delimiter=delimiter, scheme="none")
            sentences += ner_words(data.tokens, lowercase)
            sources.append(Source(path, "conll", len(data.tokens), 0, token_column))
            continue
        if file_format == "text":
            texts, empty = _read_text(path, text)
            column = None
        else:
            texts, empty, column, file_format = _read_table(path, file_format, text_column)
        sentences += _tokenize(texts, language, tokenizer)
        sources.append(Source(path, file_format, len(texts), empty, column))
    spaced = sum(1 for sentence in sentences for token in sentence
                 if not _ASCII_SPACES.isdisjoint(token))
    if spaced:
        sentences = [[token for token in sentence if _ASCII_SPACES.isdisjoint(token)]
                     for sentence in sentences]
    sentences = [sentence for sentence in sentences if sentence]
    corpus = Corpus(sentences=sentences, sources=tuple(sources),
                    tokenizer=tokenizer if has_texts else None,
                    lowercase=lowercase if "conll" in formats else None,
                    spaced_tokens=spaced)
    if not corpus.num_tokens:
        shown = "; ".join(source.summary() for source in sources)
        raise DataError(
            f"No tokens to train on: {shown}. Vectors are learned from the words of texts: "
            "give files that hold text (check `format`"
            + (" and `text_column`" if any(f in TABLE_FORMATS for f in formats) else "") + ")."
        )
    return corpus, note
