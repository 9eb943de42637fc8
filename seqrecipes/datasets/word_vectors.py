"""Pretrained word vectors: read a GloVe, word2vec or fastText file, and match a vocabulary.

The files are read by gensim's `KeyedVectors` (the library made for them; an optional
dependency, the `vectors` extra), never by a parser of our own:

    format            what the file holds                         gensim reads it with
    GloVe text        "word v1 ... vd" per line, no header        load_word2vec_format
                                                                  (no_header=True)
    word2vec text     a "count dim" header line, then as GloVe    load_word2vec_format
                      (fastText's `.vec` files are word2vec text)
    word2vec binary   the header, then "word " + d float32 each   ... (binary=True)
    fastText binary   Facebook's `.bin` (starts with the int32    load_facebook_vectors
                      793712314): words and subword n-grams

The format is read from the content, not the suffix: the fastText magic number at the start,
else a "count dim" first line (binary when what follows is not UTF-8 text or holds control
bytes), else GloVe text.

`vectors_for_vocabulary` gives a recipe's vocabulary its initial embedding matrix: each word
takes the file's vector by exact match, else by lower-cased match (the file's first word
that lower-cases to the same string: files list frequent words first), else (fastText
binary only) the vector its character n-grams compose, else a random row drawn as Keras's
`Embedding` draws its own (uniform in [-0.05, 0.05]), so uncovered words start as they would
without vectors, never at zero. Ids 0 (padding) and 1 (out of vocabulary) are never looked up.
"""

import dataclasses
import os

import numpy as np

from seqrecipes import _validation, ids
from seqrecipes.errors import DataError, InvalidArgumentError, MissingDependencyError

VECTORS_INSTALL = 'pip install "seqrecipes[vectors]"'
FORMATS = {  # format -> how messages and the coverage line name it
    "glove_text": "GloVe text",
    "word2vec_text": "word2vec text",
    "word2vec_binary": "word2vec binary",
    "fasttext_binary": "fastText binary",
    # Not a file: trained by `ner train` on its own training tokens (`--own-vectors`).
    "word2vec_own": "word2vec on the training tokens",
}
# The first int32 of a Facebook-format fastText model (gensim's
# `models._fasttext_bin._FASTTEXT_FILEFORMAT_MAGIC`, fastText's FASTTEXT_FILEFORMAT_MAGIC_INT32).
FASTTEXT_MAGIC = 793712314
_HEAD_BYTES = 1 << 16  # enough of the file to tell the formats apart
_CONTROL_BYTES = bytes(range(0, 9)) + bytes(range(14, 32)) + b"\x7f"  # never in a text file
RANDOM_LIMIT = 0.05  # Keras's `Embedding` default, "uniform": RandomUniform(-0.05, 0.05)
EXAMPLES = 5  # words shown on each side when a file and a vocabulary do not overlap


@dataclasses.dataclass(frozen=True)
class WordVectors:
    """Word vectors read from a file: `keyed_vectors` (gensim's), its `path` and `format`."""

    path: str
    format: str
    keyed_vectors: object

    @property
    def dim(self):
        return int(self.keyed_vectors.vector_size)

    @property
    def num_words(self):
        return len(self.keyed_vectors.index_to_key)

    def describe(self):
        """E.g. "glove.txt (GloVe text, 50 dims, 400,000 words)"; vectors not read from a
        file (`path` None): "word2vec on the training tokens (100 dims, 4,630 words)"."""
        figures = f"{self.dim} dims, {self.num_words:,} words"
        if self.path is None:
            return f"{FORMATS[self.format]} ({figures})"
        return f"{os.path.basename(self.path)} ({FORMATS[self.format]}, {figures})"


def import_gensim(purpose="Reading `word_vectors`"):
    """Returns the `gensim` module (`models` imported), or says how to install gensim.

    The one place gensim is imported from: reading vector files here, training them in
    `recipes/vectors`.
    """
    try:
        import gensim.models
    except ImportError as error:
        raise MissingDependencyError(
            f"{purpose} needs gensim, which is not installed. Install it with: "
            f"{VECTORS_INSTALL}"
        ) from error
    return gensim


def _empty(name, path):
    return DataError(
        f"`{name}`: {path} is empty. A vector file holds one word per line followed by its "
        "values (GloVe text; word2vec text starts with a \"count dim\" line), or is a "
        "word2vec or fastText binary file."
    )


def detect_format(path, *, name="word_vectors"):
    """Returns the format of the vector file at `path` (a key of `FORMATS`), from its content."""
    with open(path, "rb") as handle:
        head = handle.read(_HEAD_BYTES)
    if not head.strip():
        raise _empty(name, path)
    if len(head) >= 4 and int.from_bytes(head[:4], "little", signed=True) == FASTTEXT_MAGIC:
        return "fasttext_binary"
    first, _, rest = head.partition(b"\n")
    fields = first.split()
    if len(fields) != 2 or not all(field.isdigit() for field in fields):
        return "glove_text"
    if len(head) == _HEAD_BYTES:  # cut at the last whole line (or character) read
        rest = rest[: rest.rfind(b"\n") + 1] or rest[:-4]
    try:
        rest.decode("utf-8")
    except UnicodeDecodeError:
        return "word2vec_binary"
    return "word2vec_binary" if any(byte in _CONTROL_BYTES for byte in rest) else "word2vec_text"


def _text_problem(path, fmt, *, values=True):
    """`file:line: what is wrong` for the first malformed line of a text vector file, or None.

    gensim's own errors name no line ("could not broadcast input array from shape (49,) into
    shape (50,)"), and a row of one value it reads without a word (NumPy broadcasts the value
    into every dimension), so the file is read here too, split as gensim splits it (single
    spaces), to say where. With `values=False` only the number of values on each line is
    checked, on the raw bytes (every load does that, before gensim reads the file: 0.11 s of
    the 2.8 s load of a 41 MB word2vec text file of 53,717 x 64 on this project's machine); with
    `values=True` (after gensim failed) also that the line is UTF-8 and its values numbers.
    """
    count = dim = None
    number = 0
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            raw = raw.rstrip()
            if number == 1 and fmt == "word2vec_text":
                count, dim = (int(field) for field in raw.split())
                continue
            found = raw.count(b" ")  # values after the word, as gensim's split(" ") sees them
            if dim is None:  # GloVe: the first line sets the dimension, as gensim reads it
                dim = found
                if dim == 0:
                    return (f"{path}:{number}: a word with no values after it (values are "
                            f"separated by single spaces). Line: {_shown(raw)}")
            if found != dim:
                where = "the header" if fmt == "word2vec_text" else "line 1"
                return (f"{path}:{number}: expected a word and {dim} values ({where} gives "
                        f"{dim} dimensions), found {found} values. Line: {_shown(raw)}")
            if not values:
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                return f"{path}:{number}: not UTF-8 text ({error.reason} at byte {error.start})"
            for value in line.split(" ")[1:]:
                try:
                    float(value)
                except ValueError:
                    return (f"{path}:{number}: {value!r} is not a number (values are "
                            "separated by single spaces)")
    if count is not None and number - 1 < count:
        return (f"{path}:1: the header says {count:,} vectors, but the file has "
                f"{number - 1:,} (correct the count on line 1)")
    return None


def _shown(raw, width=60):
    text = raw.decode("utf-8", errors="replace")
    return repr(text[:width]) + ("..." if len(text) > width else "")


def load_word_vectors(path, *, name="word_vectors"):
    """Reads a GloVe, word2vec (text or binary) or fastText (`.vec` or `.bin`) vector file.

    Args:
        path: str or path-like. The file; its format is read from its content.
        name: str. The argument the path came from, for messages.

    Returns:
        A `WordVectors` (`keyed_vectors`, `path`, `format`, `dim`, `describe()`).

    Raises:
        DataFileNotFoundError: there is no such file.
        DataError: the file is empty, holds no vectors, or cannot be read; a text file's
            message gives `file:line` and what was wrong there.
        MissingDependencyError: gensim is not installed.
    """
    path = _validation.check_existing_file(name, path)
    fmt = detect_format(path, name=name)
    models = import_gensim().models
    problem = _text_problem(path, fmt, values=False) if fmt.endswith("_text") else None
    if problem is not None:
        raise DataError(f"`{name}`: {problem}. Fix the file, or pass another one.")
    try:
        if fmt == "fasttext_binary":
            keyed = models.fasttext.load_facebook_vectors(path)
        else:
            keyed = models.KeyedVectors.load_word2vec_format(
                path, binary=fmt == "word2vec_binary", no_header=fmt == "glove_text"
            )
    except (ValueError, EOFError, UnicodeDecodeError, AssertionError, OverflowError,
            NotImplementedError, MemoryError) as error:
        problem = _text_problem(path, fmt) if fmt in ("glove_text", "word2vec_text") else None
        raise DataError(
            f"`{name}`: {problem or f'{path}: cannot be read as {FORMATS[fmt]} ({error})'}. "
            "Fix the file, or pass another one."
        ) from error
    if len(keyed.index_to_key) == 0 or keyed.vector_size == 0:
        raise _empty(name, path)
    return WordVectors(path=path, format=fmt, keyed_vectors=keyed)


def check_dimension(vectors, embedding_dim, *, name="word_vectors"):
    """Returns the embedding width for `vectors`: the file's, which `embedding_dim` (None:
    not given) must equal."""
    if embedding_dim is not None and embedding_dim != vectors.dim:
        raise InvalidArgumentError(
            f"`{name}` {vectors.path} holds {vectors.dim}-dimensional vectors, but "
            f"embedding_dim={embedding_dim}. Leave out `embedding_dim` (the file's dimension "
            f"is used), or pass embedding_dim={vectors.dim}."
        )
    return vectors.dim


def token_counts(encoded, size):
    """Occurrences of each id in `encoded` (a ragged or nested array of encoded training
    texts), for `vectors_for_vocabulary`'s `counts`."""
    flat = encoded.flat_values.numpy() if hasattr(encoded, "flat_values") else np.concatenate(
        [np.ravel(row) for row in encoded] or [np.zeros(0, dtype=np.int64)])
    return np.bincount(np.asarray(flat, dtype=np.int64), minlength=size)[:size]


def _counts(counts, size):
    if counts is None:
        return None
    counts = np.array(counts, dtype=np.int64)
    if counts.shape != (size,):
        raise InvalidArgumentError(
            f"`counts` must give one count per vocabulary id ({size}). Received: counts of "
            f"shape {counts.shape}."
        )
    counts[ids.PAD_ID] = 0  # padding is not a token
    return counts


def vectors_for_vocabulary(vectors, tokens, *, counts=None, embedding_dim=None, seed=None,
                           name="word_vectors"):
    """The initial embedding matrix of a vocabulary, and how much of it the file covers.

    Args:
        vectors: `WordVectors` (from `load_word_vectors`).
        tokens: list of str. The vocabulary, index = id (0 padding and 1 OOV are skipped).
        counts: array-like of int or None. Occurrences of each id in the training data
            (`np.bincount` of the encoded training split; id 1 counts the words the
            vocabulary lacks), for the coverage of token occurrences.
        embedding_dim: int or None. The embedding width the caller asked for; it must be the
            file's dimension. None: the file's.
        seed: int or None. Seed of the random rows.
        name: str. The argument the vectors came from, for messages.

    Returns:
        (matrix, coverage): a float32 array `[len(tokens), dim]` and a dict: `path`, `format`,
        `dim`, `file_words`, `words` (vocabulary words looked up), `exact`, `lowercase`,
        `subword` (fastText binary: composed from n-grams), `missing`, and with `counts`
        `tokens` (training token occurrences) and the same four counts of them.

    Raises:
        InvalidArgumentError: `embedding_dim` differs from the file's dimension, or no
            vocabulary word has a vector in the file.
    """
    check_dimension(vectors, embedding_dim, name=name)
    import keras  # here: reading a file does not need TensorFlow

    keyed = vectors.keyed_vectors
    size, dim = len(tokens), vectors.dim
    counts = _counts(counts, size)
    matrix = keras.ops.convert_to_numpy(
        keras.initializers.RandomUniform(-RANDOM_LIMIT, RANDOM_LIMIT, seed=seed)((size, dim))
    ).astype("float32")
    lowered = {}
    for index, word in enumerate(keyed.index_to_key):
        lowered.setdefault(word.lower(), index)
    subwords = vectors.format == "fasttext_binary"
    found = np.zeros(size, dtype=np.int8)  # 0 missing, 1 exact, 2 lower-cased, 3 subword
    reserved = (ids.PAD_ID, ids.OOV_ID)
    for index, token in enumerate(tokens):
        if index in reserved:
            continue
        token = str(token)
        if token in keyed.key_to_index:
            matrix[index], found[index] = keyed.vectors[keyed.key_to_index[token]], 1
        elif token.lower() in lowered:
            matrix[index], found[index] = keyed.vectors[lowered[token.lower()]], 2
        elif subwords and token:
            try:
                vector = keyed.get_vector(token)  # the mean of its n-gram buckets' vectors
            except KeyError:  # a model trained without n-grams (bucket 0)
                continue
            if np.any(vector):  # zeros: no n-gram of the word has a bucket
                matrix[index], found[index] = vector, 3
    looked_up = np.ones(size, dtype=bool)
    looked_up[[i for i in reserved if i < size]] = False
    kinds = {"exact": 1, "lowercase": 2, "subword": 3, "missing": 0}
    coverage = {
        "path": vectors.path, "format": vectors.format, "dim": dim,
        "file_words": vectors.num_words, "words": int(looked_up.sum()),
        **{kind: int(np.sum(looked_up & (found == code))) for kind, code in kinds.items()},
    }
    if counts is not None:
        coverage["tokens"] = int(counts.sum())
        for kind, code in kinds.items():
            # Tokens the vocabulary lacks (id 1) count as missing: they get the OOV row.
            chosen = (found == code) & (looked_up if code else True)
            coverage[f"{kind}_tokens"] = int(counts[chosen].sum())
    if coverage["words"] and coverage["missing"] == coverage["words"]:
        vocabulary = [str(token) for index, token in enumerate(tokens) if index not in reserved]
        raise InvalidArgumentError(
            f"`{name}` {vectors.path} ({FORMATS[vectors.format]}) has a vector for none of "
            f"the {coverage['words']:,} vocabulary words tried, exactly or lower-cased. "
            f"Vocabulary words: {vocabulary[:EXAMPLES]}; the file's words: "
            f"{list(keyed.index_to_key[:EXAMPLES])}. The vectors must be trained on tokens "
            "made the way the recipe makes them (the same tokenizer and case): "
            "`seqrecipes vectors train` does."
        )
    return matrix, coverage


def _share(part, whole):
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def coverage_line(coverage):
    """One line for a run's output, e.g. "glove.txt (GloVe text, 50 dims): 9,812 of 10,000
    words (98.1%: 9,100 exact, 712 lower-cased); 99.4% of training tokens"."""
    found = coverage["words"] - coverage["missing"]
    parts = [f"{coverage['exact']:,} exact", f"{coverage['lowercase']:,} lower-cased"]
    if coverage["subword"]:
        parts.append(f"{coverage['subword']:,} from subword n-grams")
    kind = FORMATS[coverage["format"]]
    source = (f"{kind} ({coverage['dim']} dims)" if coverage["path"] is None
              else f"{os.path.basename(coverage['path'])} ({kind}, {coverage['dim']} dims)")
    line = (f"{source}: {found:,} of {coverage['words']:,} words "
            f"({_share(found, coverage['words'])}: {', '.join(parts)})")
    if "tokens" in coverage:
        covered = coverage["tokens"] - coverage["missing_tokens"]
        line += f"; {_share(covered, coverage['tokens'])} of training tokens"
    return line
