"""Generated string-to-string tasks for the decoder recipes, deterministic from a seed.

* "reverse": a digit string and its reverse (``"4071" -> "1704"``).
* "addition": two numbers written as digits and their sum (``"123+45" -> "168"``).
* "dates": a date written one of several ways and its ISO form
  (``"March 3, 2021" -> "2021-03-03"``), the classic date-normalisation toy translation.
* `digit_code_splits` (for the one-to-many recipe): a feature vector that encodes a digit string,
  the shape of image captioning: one vector in, a sequence out.

Every example is a pair of strings. `CharacterTable` turns them into token ids for the models
(0 padding, 1 start, 2 end, then the task's characters). The alphabet of a generated task is
fixed and known in advance, so a table built from it replaces adapting a Keras `StringLookup`;
decoding ids back to text in Python, step by step, needs the inverse table anyway.
"""

import dataclasses
import datetime

import numpy as np

from seqrecipes import _validation
from seqrecipes.ids import END_ID, PAD_ID, START_ID

TASKS = ("reverse", "addition", "dates")
DIGITS = "0123456789"
_MONTHS = [datetime.date(2000, month, 1).strftime("%B") for month in range(1, 13)]
# Longest input by default: short enough to learn in minutes on a CPU without attention.
DEFAULT_MAX_DIGITS = {"reverse": 8, "addition": 3}
_DATE_FORMATS = (
    lambda d: f"{d.day} {_MONTHS[d.month - 1]} {d.year}",  # 3 March 2021
    lambda d: f"{_MONTHS[d.month - 1]} {d.day}, {d.year}",  # March 3, 2021
    lambda d: f"{d.day} {_MONTHS[d.month - 1][:3]} {d.year}",  # 3 Mar 2021
    lambda d: f"{_MONTHS[d.month - 1][:3]} {d.day:02d} {d.year}",  # Mar 03 2021
    lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",  # 03.03.2021 (day first)
    lambda d: f"{d.year}/{d.month}/{d.day}",  # 2021/3/3
)
_FIRST_DAY = datetime.date(1950, 1, 1).toordinal()
_LAST_DAY = datetime.date(2049, 12, 31).toordinal()


class CharacterTable:
    """Maps characters to token ids and back: 0 padding, 1 start, 2 end, then `alphabet`."""

    def __init__(self, alphabet):
        self.alphabet = "".join(sorted(set(alphabet)))
        self._ids = {char: index + 3 for index, char in enumerate(self.alphabet)}

    @property
    def size(self):
        """The number of ids, the three special ones included."""
        return len(self.alphabet) + 3

    def encode(self, texts, *, length=None, start=False, end=False):
        """Returns an int32 array `(len(texts), length)` of ids, padded with 0 at the end.

        Raises:
            InvalidArgumentError: a text has a character outside the alphabet, or is longer
                than `length`.
        """
        rows = []
        for text in texts:
            unknown = sorted(set(text) - set(self._ids))
            _validation.check_conflict(
                bool(unknown),
                f"{text!r} has characters outside this task's alphabet: {unknown}. "
                f"Use only {self.alphabet!r}.",
            )
            rows.append([START_ID] * start + [self._ids[char] for char in text] + [END_ID] * end)
        longest = max((len(row) for row in rows), default=0)
        length = longest if length is None else length
        _validation.check_conflict(
            longest > length,
            f"A text needs {longest} ids but `length` is {length}. Shorten it or raise `length`.",
        )
        ids = np.full((len(rows), length), PAD_ID, dtype="int32")
        for index, row in enumerate(rows):
            ids[index, : len(row)] = row
        return ids

    def decode(self, ids):
        """Returns the text of each row of ids, up to its first end token (special ids dropped)."""
        texts = []
        for row in np.asarray(ids):
            chars = []
            for token in row:
                if token == END_ID:
                    break
                if token >= 3:
                    chars.append(self.alphabet[token - 3])
            texts.append("".join(chars))
        return texts


def task_alphabet(task):
    """Returns every character the sources and targets of `task` can hold."""
    _validation.check_choice("task", task, TASKS)
    if task == "reverse":
        return DIGITS
    if task == "addition":
        return DIGITS + "+"
    return DIGITS + "".join(_MONTHS) + " ,./-"


def max_target_length(task, max_digits=None):
    """Returns the longest target `task` generates (in characters, without the end token)."""
    if task == "reverse":
        return max_digits
    if task == "addition":
        return max_digits + 1
    return len("2021-03-03")


def _number(rng, max_digits):
    digits = int(rng.integers(1, max_digits + 1))
    low = 0 if digits == 1 else 10 ** (digits - 1)  # no leading zeros
    return int(rng.integers(low, 10**digits))


def _example(task, rng, max_digits):
    if task == "reverse":
        length = int(rng.integers(1, max_digits + 1))
        text = "".join(rng.choice(list(DIGITS), size=length))
        return text, text[::-1]
    if task == "addition":
        a, b = _number(rng, max_digits), _number(rng, max_digits)
        return f"{a}+{b}", str(a + b)
    day = datetime.date.fromordinal(int(rng.integers(_FIRST_DAY, _LAST_DAY + 1)))
    written = _DATE_FORMATS[int(rng.integers(len(_DATE_FORMATS)))](day)
    return written, day.isoformat()


def check_max_digits(task, max_digits):
    """Returns the task's `max_digits` (its default when None); "dates" takes none."""
    _validation.check_choice("task", task, TASKS)
    if task == "dates":
        _validation.check_conflict(
            max_digits is not None,
            "`max_digits` sets the length of the numbers of the 'reverse' and 'addition' "
            f"tasks; 'dates' has none. Received: task='dates', max_digits={max_digits!r}. "
            "Leave `max_digits` unset.",
        )
        return None
    if max_digits is None:
        return DEFAULT_MAX_DIGITS[task]
    return _validation.check_positive_int("max_digits", max_digits)


@dataclasses.dataclass(frozen=True)
class Splits:
    """Disjoint train / validation / test splits of a generated task."""

    train: list
    validation: list
    test: list


def _unique_examples(make, count, seed, what):
    rng = np.random.default_rng([seed, 0])
    seen, examples = set(), []
    attempts = 0
    while len(examples) < count:
        attempts += 1
        _validation.check_conflict(
            attempts > 20 * count + 1000,
            f"Could not generate {count} different {what} examples: the task has fewer. "
            "Lower the split sizes or make the strings longer (`max_digits`).",
        )
        source, target = make(rng)
        if source not in seen:
            seen.add(source)
            examples.append((source, target))
    # Short strings run out first; shuffling spreads every length over every split.
    return [examples[index] for index in rng.permutation(len(examples))]


def generate_splits(task, *, max_digits=None, train_size, validation_size, test_size, seed):
    """Returns `Splits` of distinct examples: no source appears in two splits.

    Args:
        task: str. "reverse", "addition" or "dates".
        max_digits: int or None. Longest string (reverse) or number (addition); None for the
            task's default; must be None for "dates".
        train_size, validation_size, test_size: int. Examples per split.
        seed: int. The same seed gives the same examples.
    """
    max_digits = check_max_digits(task, max_digits)
    sizes = [
        _validation.check_positive_int(name, value)
        for name, value in (("train_size", train_size), ("validation_size", validation_size),
                            ("test_size", test_size))
    ]
    examples = _unique_examples(
        lambda rng: _example(task, rng, max_digits), sum(sizes), seed, repr(task)
    )
    first, second = sizes[0], sizes[0] + sizes[1]
    return Splits(examples[:first], examples[first:second], examples[second:])


def digit_code_splits(
    *, max_digits, feature_dim, noise, train_size, validation_size, test_size, seed
):
    """Returns `Splits` of (vectors, strings): feature vectors that each encode a digit string.

    A string of 1 to `max_digits` digits is written as one one-hot row per position (11
    symbols: the ten digits and "no digit here"), flattened, sent through a fixed random
    projection to `feature_dim` features, and Gaussian noise is added: a stand-in for an image
    embedding from which a decoder must generate the caption. No string appears in two
    splits, so the test figures measure generation for codes never seen in training.

    Args:
        max_digits: int. Longest string.
        feature_dim: int. Width of each vector.
        noise: float. Standard deviation of the noise (each clean feature has variance 1).
        train_size, validation_size, test_size: int. Examples per split.
        seed: int. The same seed gives the same vectors and strings.
    """
    _validation.check_positive_int("max_digits", max_digits)
    _validation.check_positive_int("feature_dim", feature_dim)
    _validation.check_non_negative_float("noise", noise)
    sizes = [
        _validation.check_positive_int(name, value)
        for name, value in (("train_size", train_size), ("validation_size", validation_size),
                            ("test_size", test_size))
    ]

    def make(rng):
        length = int(rng.integers(1, max_digits + 1))
        text = "".join(rng.choice(list(DIGITS), size=length))
        return text, text

    strings = [text for text, _ in _unique_examples(make, sum(sizes), seed, "digit-string")]
    symbols = len(DIGITS) + 1
    one_hot = np.zeros((len(strings), max_digits, symbols), dtype="float32")
    one_hot[:, :, len(DIGITS)] = 1.0
    for row, text in enumerate(strings):
        for position, char in enumerate(text):
            one_hot[row, position] = 0.0
            one_hot[row, position, int(char)] = 1.0
    rng = np.random.default_rng([seed, 1])  # another stream than the strings' draws
    # Each row of the one-hot code has `max_digits` ones: dividing by its square root gives
    # every projected feature unit variance.
    projection = rng.normal(size=(symbols * max_digits, feature_dim)) / np.sqrt(max_digits)
    vectors = one_hot.reshape(len(strings), -1) @ projection
    vectors = (vectors + noise * rng.normal(size=vectors.shape)).astype("float32")
    first, second = sizes[0], sizes[0] + sizes[1]
    return Splits(
        (vectors[:first], strings[:first]),
        (vectors[first:second], strings[first:second]),
        (vectors[second:], strings[second:]),
    )
