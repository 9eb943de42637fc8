"""Raw strings -> token ids exactly as the model's `TextVectorization` makes them, in Python.

ONNX and LiteRT have no string operations, so a portable export takes ids and this module
does what the Keras model's string layers did (`seqrecipes.datasets.vocab`): standardise,
split, make n-grams, look tokens up (id 0 padding, id 1 out of vocabulary: `seqrecipes.ids`).
Each step copies TensorFlow's behaviour, checked against the Keras layer on tricky text
(tests/portable/test_text.py) and on every IMDB and NSMC test text (bench/portable_export.py):

- `tf.strings.lower` lower-cases ASCII letters only ("ÉCOLE" -> "École"), so does `_lower`;
- `tf.strings.split` splits on ASCII whitespace only (" \\t\\n\\v\\f\\r"; a no-break space or
  U+3000 stays inside a token), so does `_WHITESPACE`;
- `tf.strings.unicode_split` gives code points, as `list(str)`;
- `tf.strings.ngrams(width=(1..n), separator=" ")` lists all 1-grams, then all 2-grams ...;
- the regular expressions are RE2's; Python's `re` reads these the same way, except `\\p{..}`
  classes, which `_split_scripts` spells with `unicodedata` categories (Unicode versions of
  RE2 and Python may differ on characters added in the newest Unicode release).

Korean morphemes (kiwipiepy) run before all this, as at training time (`pretokenize`).
"""

import re
import unicodedata

import numpy as np

from seqrecipes import _validation
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.ids import OOV_ID, PAD_ID

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# Keras's "strip_punctuation" pattern and our HTML tag pattern (`datasets.vocab`).
_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
_HTML_TAG = re.compile(r"</?[a-zA-Z][^<>]{0,40}>")
_WHITESPACE = re.compile(r"[ \t\n\v\f\r]+")


def _lower(text):
    return text.translate(_ASCII_LOWER)


def _strip_punctuation(text):
    return _PUNCTUATION.sub("", text)


def _script(char):
    """The run `lower_and_split_scripts` puts `char` in: its regex's alternatives, in order."""
    if "가" <= char <= "힣":
        return "hangul"
    if "ㄱ" <= char <= "ㅣ":
        return "jamo"
    category = unicodedata.category(char)[0]
    if category == "N":
        return "number"
    if category in "PS":
        return "punctuation"
    return None


def _split_scripts(text):
    # r"([가-힣]+|[ㄱ-ㅣ]+|\p{N}+|[\p{P}\p{S}]+)" -> r" \1 ": each maximal run of one class
    # gets a space on both sides (the classes do not overlap, so the leftmost alternative
    # that matches is the run's own class).
    pieces, run, kind = [], [], None
    for char in text:
        script = _script(char)
        if script != kind or script is None:
            if run:
                pieces.append(f" {''.join(run)} " if kind else "".join(run))
            run, kind = [], script
        run.append(char)
    if run:
        pieces.append(f" {''.join(run)} " if kind else "".join(run))
    return "".join(pieces)


STANDARDIZERS = {
    None: lambda text: text,
    "lower": _lower,
    "strip_punctuation": _strip_punctuation,
    "lower_and_strip_punctuation": lambda text: _strip_punctuation(_lower(text)),
    "lower_and_split_scripts": lambda text: _split_scripts(_lower(text)),
    "lower_strip_html_and_punctuation":
        lambda text: _strip_punctuation(_HTML_TAG.sub(" ", _lower(text))),
}
SPLITS = ("whitespace", "character")


class TextVectorizer:
    """Raw strings -> padded id rows, as the Keras `TextVectorization` of a run does.

    Args:
        vocabulary: list of str. The layer's `get_vocabulary()`: "" (padding), "[UNK]", then
            the tokens by id.
        standardize: str or None. One of `STANDARDIZERS`.
        split: str. "whitespace" or "character".
        ngrams: int or None. Also n-grams of 2..ngrams tokens.
        pretokenize: str or None. A Korean morpheme tokenizer ("morphemes",
            "morpheme_tags") run first, as at training time; None: nothing.

    Example:

    >>> vectorizer = TextVectorizer(["", "[UNK]", "good", "film"],
    ...                             standardize="lower_and_strip_punctuation")
    >>> vectorizer(["A GOOD film!", ""]).tolist()
    [[1, 2, 3], [0, 0, 0]]
    """

    def __init__(self, vocabulary, *, standardize, split="whitespace", ngrams=None,
                 pretokenize=None):
        _validation.check_choice("standardize", standardize, tuple(STANDARDIZERS))
        _validation.check_choice("split", split, SPLITS)
        _validation.check_positive_int("ngrams", ngrams, allow_none=True)
        if list(vocabulary[:2]) != ["", "[UNK]"]:
            raise InvalidArgumentError(
                "`vocabulary` must start with the padding token '' and '[UNK]' (ids 0 and "
                f"1), as `TextVectorization.get_vocabulary()` does. Received: "
                f"{list(vocabulary[:2])!r}.")
        self.vocabulary = list(vocabulary)
        self._ids = {token: index for index, token in enumerate(self.vocabulary)}
        self._ids.pop("", None)  # no token is empty; padding is never looked up
        self.standardize, self.split = standardize, split
        self.ngrams = ngrams if ngrams and ngrams > 1 else None
        self.pretokenize = pretokenize

    def tokens(self, text):
        """The tokens (n-grams included) of one text, before the lookup."""
        text = STANDARDIZERS[self.standardize](text)
        tokens = list(text) if self.split == "character" else \
            [token for token in _WHITESPACE.split(text) if token]
        if self.ngrams:
            tokens = [" ".join(tokens[start:start + width])
                      for width in range(1, self.ngrams + 1)
                      for start in range(len(tokens) - width + 1)]
        return tokens

    def _pretokenized(self, texts):
        if self.pretokenize is None:
            return texts
        from seqrecipes.portable import korean  # kiwipiepy is imported on first use

        return korean.pretokenize_korean(texts, self.pretokenize)

    def id_lists(self, texts):
        """One list of ids per text (no padding)."""
        texts = self._pretokenized(_validation.check_strings("texts", texts))
        ids = self._ids
        return [[ids.get(token, OOV_ID) for token in self.tokens(text)] for text in texts]

    def __call__(self, texts, *, min_length=0):
        """`(len(texts), steps)` int32 ids padded with 0 to the longest text (at least
        `min_length` steps), as the Keras layer returns them for one batch."""
        rows = self.id_lists(texts)
        steps = max([min_length, *map(len, rows)])
        padded = np.full((len(rows), steps), PAD_ID, dtype="int32")
        for row, ids in zip(padded, rows):
            row[:len(ids)] = ids
        return padded
