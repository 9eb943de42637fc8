"""Vocabularies as Keras preprocessing layers, adapted on the training split only.

Every vocabulary here gives id 0 to padding (the empty string "") and, where unknown input is
possible, id 1 to out-of-vocabulary input ("[UNK]"), so `Embedding(mask_zero=True)` skips
padding and a word first seen at test time maps to 1:

- `build_text_vectorizer`: raw strings -> word (or character) ids, a `TextVectorization`. It
  lives inside the saved model, so the model takes raw strings (see `with_text_input`).
- `build_token_lookup`: pre-tokenised words -> ids, a `StringLookup` (CoNLL tokens).
- `build_tag_lookup`: tags -> ids 1..K, id 0 = padding, no OOV id (an unknown tag is an error).
- `build_char_lookup`: characters -> ids, a `StringLookup` (character language models, and
  per-token character features through `CharacterIds`).

The final layers are always built with `vocabulary=[...]` rather than adapted in place: Keras
then stores the vocabulary in the model's `config.json` instead of a `vocabulary.txt` asset,
which it reads back with `str.splitlines()` and so cannot hold a "\\n" or "\\u2028" token (a
character vocabulary of real text has both). Vocabulary order: most frequent first; ties
are broken by token, descending in `build_text_vectorizer` (Keras's `adapt()` order) and
ascending in the `StringLookup` builders; tags are sorted by name.
"""

import collections
import itertools

import keras
import numpy as np
import tensorflow as tf

from seqrecipes import _validation
from seqrecipes.datasets.options import without_autotuner
from seqrecipes.errors import InvalidArgumentError

from seqrecipes.ids import OOV_ID, OOV_TOKEN, PAD_ID, PAD_TOKEN  # noqa: F401 (0 and 1)
STANDARDIZE = (
    None, "lower", "strip_punctuation", "lower_and_strip_punctuation", "lower_and_split_scripts",
    "lower_strip_html_and_punctuation",
)
# Keras's "strip_punctuation" pattern (`TextVectorization`), for the standardisations below.
_PUNCTUATION = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'
_HTML_TAG = r"</?[a-zA-Z][^<>]{0,40}>"  # <br />, <i>, </p> ...; not "<3" or "a < b"
SPLITS = ("whitespace", "character")


@keras.saving.register_keras_serializable(package="seqrecipes")
def lower_and_split_scripts(inputs):
    """Lower-cases and puts spaces around runs of Hangul syllables, jamo, digits, punctuation.

    Korean words carry particles and punctuation ("영화ㅋㅋ!!" is one whitespace token); this
    splits them by script so that whitespace splitting yields "영화", "ㅋㅋ", "!!". It is a TF
    graph function registered with Keras, so a `.keras` model that uses it loads with
    `safe_mode=True`.
    """
    inputs = tf.strings.lower(inputs)
    return tf.strings.regex_replace(
        inputs, r"([가-힣]+|[ㄱ-ㅣ]+|\p{N}+|[\p{P}\p{S}]+)", r" \1 "
    )


@keras.saving.register_keras_serializable(package="seqrecipes")
def lower_strip_html_and_punctuation(inputs):
    """Lower-cases, turns HTML tags into spaces, then strips punctuation as Keras does.

    Web reviews carry markup: IMDB has "<br /><br />" between paragraphs, and Keras's
    "lower_and_strip_punctuation" would glue the "br" left over to the neighbouring words
    ("end.<br /><br />The" -> "endbr brthe"). A TF graph function registered with Keras, so a
    `.keras` model that uses it loads with `safe_mode=True`.
    """
    inputs = tf.strings.lower(inputs)
    inputs = tf.strings.regex_replace(inputs, _HTML_TAG, " ")
    return tf.strings.regex_replace(inputs, _PUNCTUATION, "")


_STANDARDIZE_FUNCTIONS = {
    "lower_and_split_scripts": lower_and_split_scripts,
    "lower_strip_html_and_punctuation": lower_strip_html_and_punctuation,
}


def _standardize_option(standardize):
    _validation.check_choice("standardize", standardize, STANDARDIZE)
    return _STANDARDIZE_FUNCTIONS.get(standardize, standardize)


def _vectorization_options(standardize, split, ngrams):
    """`TextVectorization` keyword arguments for these settings, checked."""
    _validation.check_choice("split", split, SPLITS)
    _validation.check_positive_int("ngrams", ngrams, allow_none=True)
    return dict(standardize=_standardize_option(standardize), split=split,
                ngrams=ngrams if ngrams != 1 else None)


def _check_sizes(max_tokens, min_frequency):
    _validation.check_positive_int("max_tokens", max_tokens, allow_none=True)
    _validation.check_positive_int("min_frequency", min_frequency)
    _validation.check_conflict(
        max_tokens is not None and max_tokens < 3,
        "`max_tokens` counts the padding (0) and OOV (1) ids too, so it must be at least 3 "
        f"to hold any token. Received: max_tokens={max_tokens!r}.",
    )


def _keep(ranked, max_tokens, min_frequency, what):
    """The tokens of `ranked` ((token, count) pairs, best first) seen >= `min_frequency` times.

    At most `max_tokens - 2` are kept (ids 0 and 1 are padding and OOV).
    """
    ranked = list(ranked)
    kept = [str(token) for token, count in ranked if count >= min_frequency]
    if max_tokens is not None:
        kept = kept[: max_tokens - 2]
    if not kept:
        total = sum(count for _, count in ranked)
        raise InvalidArgumentError(
            f"No {what} occurs at least min_frequency={min_frequency} times in the training "
            f"data ({total} {what}s in all). Lower `min_frequency` or check that the "
            "training data is not empty."
        )
    return kept


def _ranked(counter):
    """(token, count) pairs, most frequent first, ties in token order."""
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))


def build_text_vectorizer(
    texts,
    *,
    max_tokens=20000,
    min_frequency=2,
    standardize="lower_and_strip_punctuation",
    split="whitespace",
    ngrams=None,
    max_samples=None,
    batch_size=1024,
    name="text_vectorizer",
):
    """Builds a `TextVectorization` layer (raw strings -> token ids) from training texts.

    The texts are fed to Keras as a batched `tf.data.Dataset` (adapting a NumPy array of 150k
    strings takes minutes, a batched dataset about a second). `TextVectorization` has
    `max_tokens` but no minimum frequency, and `adapt()` keeps no counts, so the counts come
    from the layer itself: a full-vocabulary copy is adapted with the same standardisation
    and split, the texts are vectorised once more and the ids counted (`np.bincount`). That
    tokenises exactly as the final layer will, with no regular expression of ours to drift
    from Keras's. With `min_frequency=1` the second pass is skipped.

    Args:
        texts: list of str (the training split only), or any iterable of str (a file being
            streamed), read up to `max_samples` items into memory.
        max_tokens: int or None. Largest vocabulary size, padding and OOV included (Keras's
            meaning). Defaults to 20000.
        min_frequency: int. Keep tokens seen at least this many times. Defaults to 2.
        standardize: str or None. "lower_and_strip_punctuation" (default), "lower",
            "strip_punctuation", None, "lower_and_split_scripts" (lower-case and split
            Hangul / jamo / digits / punctuation runs apart; see `lower_and_split_scripts`)
            or "lower_strip_html_and_punctuation" (HTML tags such as IMDB's "<br />" become
            spaces first; see `lower_strip_html_and_punctuation`).
        split: str. "whitespace" (words) or "character" (Unicode characters: Hangul
            syllables for Korean). Defaults to "whitespace".
        ngrams: int or None. Also make the n-grams of consecutive tokens up to this length
            (2: every word, then every pair of neighbouring words, "good film"), counted and
            kept like words (Keras's `ngrams`). For bag models (`build_bag_classifier`):
            the ids are then no longer one per token in order. Defaults to None (tokens).
        max_samples: int or None. Adapt on at most this many texts (the first ones: shuffle
            a file first, or the vocabulary sees only its beginning). Defaults to all.
        batch_size: int. Texts per batch while counting. Defaults to 1024.
        name: str. The layer's name.

    Returns:
        A `keras.layers.TextVectorization` with `output_mode="int"`: id 0 is padding "",
        id 1 is "[UNK]", then the kept tokens, most frequent first.

    Raises:
        InvalidArgumentError: a bad argument, a non-string text, or no token left.

    Example:

    >>> vectorizer = build_text_vectorizer(["a good film", "a bad film", "good"])
    >>> [str(token) for token in vectorizer.get_vocabulary()]
    ['', '[UNK]', 'good', 'film', 'a']
    >>> vectorizer(["a great film"]).numpy().tolist()
    [[4, 1, 3]]
    """
    _check_sizes(max_tokens, min_frequency)
    options = _vectorization_options(standardize, split, ngrams)
    _validation.check_positive_int("max_samples", max_samples, allow_none=True)
    _validation.check_positive_int("batch_size", batch_size)
    _validation.check_string("name", name)
    texts = _validation.check_strings("texts", texts, max_samples)
    batches = without_autotuner(
        tf.data.Dataset.from_tensor_slices(tf.constant(texts, tf.string)).batch(batch_size))
    # Dense ids, padded with 0 per batch (`ragged=True` runs on TensorFlow only): the padding
    # is counted in `counts[0]`, which is never read.
    full = keras.layers.TextVectorization(max_tokens=None, **options)
    full.adapt(batches)  # Keras counts every token, sorts by count, ties by token
    vocabulary = full.get_vocabulary()
    counts = np.zeros(len(vocabulary), np.int64)
    if min_frequency > 1:
        for ids in batches.map(in_pipeline(full)).as_numpy_iterator():
            counts += np.bincount(ids.ravel(), minlength=len(vocabulary))
    else:
        counts[2:] = 1  # every token of the full vocabulary was seen at least once
    kept = _keep(zip(vocabulary[2:], counts[2:]), max_tokens, min_frequency, "token")
    return keras.layers.TextVectorization(
        max_tokens=max_tokens, vocabulary=kept, name=name, **options
    )


def in_pipeline(vectorizer):
    """`vectorizer` as a function that `tf.data.Dataset.map` can call on any Keras backend.

    Inside tf.data a Keras preprocessing layer computes with TensorFlow whatever the backend,
    except that Keras 3.15's `TextVectorization` hands a callable `standardize` (ours:
    `lower_and_split_scripts`, `lower_strip_html_and_punctuation`) a NumPy array on every
    backend but TensorFlow, which a tf.data graph cannot make ("Cannot convert a symbolic
    tf.Tensor to a numpy array", text_vectorization.py `_apply_standardize_with_np_arrays`).
    Here such a standardisation runs first, as the TensorFlow function it is, and then a twin
    of the layer without it splits and looks up: the same ids as `vectorizer(texts)`.

    Args:
        vectorizer: a `TextVectorization` (`build_text_vectorizer`).

    Returns:
        A callable from a batch of strings to its ids (`vectorizer` itself when its
        standardisation is not a function).
    """
    config = vectorizer.get_config()
    standardize = config["standardize"]
    if not callable(standardize):
        return vectorizer
    config.update(standardize=None, name=f"{vectorizer.name}_split")
    split = keras.layers.TextVectorization.from_config(config)
    if not config["vocabulary"]:  # an adapted layer: the vocabulary is its state
        split.set_vocabulary(vectorizer.get_vocabulary(include_special_tokens=False))
    return lambda texts: split(standardize(texts))


def text_vectorizer_from_file(
    path, *, standardize="lower_and_strip_punctuation", split="whitespace", ngrams=None,
    name="text_vectorizer",
):
    """A `TextVectorization` whose vocabulary is a file: one token per line, best first.

    The file lists tokens as `TextVectorization.get_vocabulary()` does (a leading empty line
    and "[UNK]" line, the padding and OOV ids, may be there or not); gzip is recognised. For
    data too large to adapt on, or to share one vocabulary between runs. Every token is
    checked: each must be a distinct, non-empty string without surrounding whitespace that
    the tokeniser can produce, e.g. "good" and not "Good" when text is lower-cased (a token
    that could never match would waste its id silently).

    Args:
        path: str or path. The vocabulary file (UTF-8).
        standardize, split, ngrams, name: as in `build_text_vectorizer`; the same as the
            texts will be vectorised with.

    Returns:
        A `keras.layers.TextVectorization`: id 0 padding, id 1 "[UNK]", then the file's tokens
        in order.

    Raises:
        DataFileNotFoundError: no such file.
        DataError: an empty file, a blank, repeated or unreachable token (file:line).
    """
    from seqrecipes.datasets import _files
    from seqrecipes.errors import DataError

    options = _vectorization_options(standardize, split, ngrams)
    raw = _files.read_bytes("vocabulary_file", path)
    lines = _files.normalize_newlines(_files.decode(path, raw)).split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final line ending
    start = 0
    if lines[:1] == [PAD_TOKEN]:
        start = 1
    if lines[start:start + 1] == [OOV_TOKEN]:
        start += 1
    tokens, first_line = [], {}
    for number, token in enumerate(lines[start:], start=start + 1):
        where = f"{path}:{number}"
        if not token.strip():
            raise DataError(f"{where}: an empty line; every line after the optional leading "
                            "padding (empty) and [UNK] lines must hold one token.")
        if token != token.strip():
            raise DataError(f"{where}: the token {token!r} has whitespace around it; the "
                            "tokeniser never produces that. Remove the spaces.")
        if token == OOV_TOKEN:
            raise DataError(f"{where}: {OOV_TOKEN!r} is the out-of-vocabulary id's token; it "
                            "may only be the first line (or the second, after an empty one).")
        if token in first_line:
            raise DataError(f"{where}: the token {token!r} is already in the vocabulary (line "
                            f"{first_line[token]}); each token must appear once.")
        first_line[token] = number
        tokens.append(token)
    if not tokens:
        raise DataError(f"{path}: the vocabulary file holds no token; write one per line, "
                        "most frequent first.")
    layer = keras.layers.TextVectorization(vocabulary=tokens, name=name, **options)
    # A token is reachable when vectorising it as a text yields its own id.
    own_ids = np.arange(len(tokens)) + 2
    unreachable = []
    for begin in range(0, len(tokens), 4096):
        ids = layer(tf.constant(tokens[begin:begin + 4096]))
        ids = ids.to_list() if isinstance(ids, tf.RaggedTensor) else ids.numpy().tolist()
        for offset, row in enumerate(ids):
            if own_ids[begin + offset] not in row:
                unreachable.append(begin + offset)
    if unreachable:
        shown = ", ".join(f"{tokens[i]!r} (line {first_line[tokens[i]]})"
                          for i in unreachable[:5])
        raise DataError(
            f"{path}: {len(unreachable):,} token(s) can never match text, because the "
            f"tokeniser (standardize={standardize!r}, split={split!r}, ngrams={ngrams}) never "
            f"produces them: {shown}. Write tokens as the tokeniser makes them (e.g. "
            "lower-cased, without punctuation)."
        )
    return layer


def build_token_lookup(sentences, *, max_tokens=None, min_frequency=1, name="token_lookup"):
    """Builds a `StringLookup` (pre-tokenised words -> ids) from training sentences.

    Tokens are kept as they are (no lower-casing): CoNLL tokens are already split, and case
    is a feature for named entities. Counting is a `collections.Counter` over the tokens,
    which is exact here because there is no standardisation to reproduce.

    Args:
        sentences: list of token lists, e.g. `[["EU", "rejects"], ["Peter"]]`.
        max_tokens: int or None. Largest vocabulary size, padding and OOV included.
        min_frequency: int. Keep tokens seen at least this many times. Defaults to 1.
        name: str. The layer's name.

    Returns:
        A `keras.layers.StringLookup`: "" -> 0 (padding), unknown -> 1, then the tokens.

    Example:

    >>> lookup = build_token_lookup([["EU", "rejects", "EU"], ["Peter"]])
    >>> [str(token) for token in lookup.get_vocabulary()]
    ['', '[UNK]', 'EU', 'Peter', 'rejects']
    >>> lookup([["EU", "Paris", ""]]).numpy().tolist()
    [[2, 1, 0]]
    """
    _check_sizes(max_tokens, min_frequency)
    _validation.check_string("name", name)
    rows = _validation.check_token_rows("sentences", sentences)
    counter = collections.Counter(itertools.chain.from_iterable(rows))
    kept = _keep(_ranked(counter), max_tokens, min_frequency, "token")
    return keras.layers.StringLookup(
        vocabulary=kept, mask_token=PAD_TOKEN, oov_token=OOV_TOKEN, name=name
    )


def build_tag_lookup(tag_sequences, *, name="tag_lookup"):
    """Builds a `StringLookup` for tags: id 0 is padding, ids 1..K are the tags, sorted.

    Index 0 is padding on purpose: the gold mask is then `tag_ids != 0`, computable from the
    labels alone (a CRF loss or a metric that never sees the inputs can use it), and no real
    tag is ever confused with padding. A model over these ids has `vocabulary_size()` = K + 1
    outputs; class 0 is never a target, and predictions take the argmax over ids 1..K (see
    `decode_tags`). There is no OOV id: a tag unseen in training is an error, never mapped
    silently. Tags are sorted by name so that the same tag set gives the same ids whatever
    the data.

    Args:
        tag_sequences: list of tag lists, e.g. `[["B-ORG", "O"], ["B-PER"]]`.
        name: str. The layer's name.

    Returns:
        A `keras.layers.StringLookup`; `get_vocabulary()[i]` is the name of tag id i.

    Example:

    >>> tags = build_tag_lookup([["B-ORG", "O", "O"], ["B-PER"]])
    >>> [str(tag) for tag in tags.get_vocabulary()]
    ['', 'B-ORG', 'B-PER', 'O']
    >>> tags.vocabulary_size()
    4
    """
    _validation.check_string("name", name)
    rows = _validation.check_token_rows("tag_sequences", tag_sequences)
    names = sorted(set(itertools.chain.from_iterable(rows)))
    if not names:
        raise InvalidArgumentError("`tag_sequences` holds no tag: the training data is empty.")
    return keras.layers.StringLookup(
        vocabulary=names, mask_token=PAD_TOKEN, num_oov_indices=0, name=name
    )


def build_char_lookup(texts, *, max_tokens=None, min_frequency=1, name="char_lookup"):
    """Builds a `StringLookup` over Unicode characters (id 0 padding, id 1 unknown).

    Characters are Python `str` code points, the same units as `tf.strings.unicode_split`
    (and `CharacterIds`). Whitespace and newlines are characters like any other, as a
    character language model needs.

    Args:
        texts: list of str (a corpus, or one string per document), or list of token lists
            (per-token character features for tagging).
        max_tokens: int or None. Largest vocabulary size, padding and OOV included.
        min_frequency: int. Keep characters seen at least this many times. Defaults to 1.
        name: str. The layer's name.

    Returns:
        A `keras.layers.StringLookup`.

    Example:

    >>> chars = build_char_lookup(["hello"])
    >>> [str(char) for char in chars.get_vocabulary()]
    ['', '[UNK]', 'l', 'e', 'h', 'o']
    >>> chars(["h", "i"]).numpy().tolist()
    [4, 1]
    """
    _check_sizes(max_tokens, min_frequency)
    _validation.check_string("name", name)
    if isinstance(texts, (list, tuple)) and texts and not isinstance(texts[0], str):
        texts = ["".join(row) for row in _validation.check_token_rows("texts", texts)]
    counter = collections.Counter(itertools.chain.from_iterable(_validation.check_strings("texts", texts)))
    kept = _keep(_ranked(counter), max_tokens, min_frequency, "character")
    return keras.layers.StringLookup(
        vocabulary=kept, mask_token=PAD_TOKEN, oov_token=OOV_TOKEN, name=name
    )


def decode_tags(tag_ids, lengths, tag_lookup):
    """Turns tag ids (or per-tag scores) back into tag names, one list per sentence.

    Args:
        tag_ids: array-like `(sentences, steps)` of ids, or `(sentences, steps, K + 1)` scores
            (softmax output), or a list of per-sentence arrays (as `predict_in_order` gives).
            Scores are decoded by the argmax over ids 1..K: id 0 is padding, never a tag.
        lengths: list of int. Real length of each sentence; positions past it are padding
            and dropped (the gold mask, never the predicted label, decides what counts).
        tag_lookup: the `StringLookup` from `build_tag_lookup`.

    Returns:
        list of lists of tag names, e.g. `[["B-ORG", "O"], ["B-PER"]]` (for seqeval).

    Raises:
        InvalidArgumentError: an id 0 (padding) or an unknown id inside a sentence.
    """
    names = np.array(tag_lookup.get_vocabulary(), dtype=object)
    decoded = []
    for index, length in enumerate(lengths):
        row = np.asarray(tag_ids[index])[:length]
        if row.ndim == 2:  # scores: skip class 0 (padding)
            row = np.argmax(row[:, 1:], axis=-1) + 1
        if len(row) != length or ((row < 1) | (row >= len(names))).any():
            raise InvalidArgumentError(
                f"`tag_ids` row {index} must hold {length} tag ids in 1..{len(names) - 1} "
                f"(0 is padding). Received: {row.tolist()!r:.200}."
            )
        decoded.append([str(name) for name in names[row]])
    return decoded
