"""Argument checks: one error class, one message shape.

Every message reads ``"`name` must be <what>. Received: name=<value> (<type>)."`` so users see the
same sentence whatever they got wrong. Checks run at the top of a builder, loader or recipe,
before any layer is built or file is read.
"""

import itertools
import numbers
import os

from seqrecipes.errors import DataFileNotFoundError, InvalidArgumentError


def _received(name, value):
    return f"Received: {name}={value!r} ({type(value).__name__})."


def _fail(name, value, requirement):
    raise InvalidArgumentError(f"`{name}` must be {requirement}. {_received(name, value)}")


def _is_int(value):
    # `True` is an `int` in Python but never a sensible count.
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_num_classes(num_classes):
    """Returns `num_classes` if it is an integer >= 2: a classifier's number of classes."""
    check_positive_int("num_classes", num_classes)
    check_conflict(
        num_classes < 2,
        "`num_classes` must be at least 2 (use 2 for a binary task: one sigmoid unit). "
        f"Received: num_classes={num_classes!r}.",
    )
    return num_classes


def check_positive_int(name, value, *, allow_none=False):
    """Returns `value` if it is an integer >= 1 (or `None` when allowed)."""
    if value is None and allow_none:
        return None
    if not _is_int(value) or value < 1:
        _fail(name, value, "a positive integer" + (" or None" if allow_none else ""))
    return int(value)


def check_int(name, value):
    """Returns `value` if it is an integer (negative allowed: e.g. a column index from the end)."""
    if not _is_int(value):
        _fail(name, value, "an integer")
    return int(value)


def check_non_negative_int(name, value):
    """Returns `value` if it is an integer >= 0."""
    if not _is_int(value) or value < 0:
        _fail(name, value, "a non-negative integer")
    return int(value)


MAX_SEED = 2**32 - 1  # NumPy's `np.random.seed` and scikit-learn's `random_state` limit


def check_seed(name, value, *, allow_none=False):
    """Returns `value` if it is a seed every library we seed accepts: an integer from 0 to
    2**32 - 1. NumPy (`keras.utils.set_random_seed` seeds it) and scikit-learn refuse larger
    ones with a ValueError deep in training; TensorFlow and Keras take any int64."""
    if value is None and allow_none:
        return None
    if not _is_int(value) or not 0 <= value <= MAX_SEED:
        _fail(name, value, f"an integer from 0 to {MAX_SEED} (2**32 - 1, the largest seed "
              "NumPy and scikit-learn take)" + (" or None" if allow_none else ""))
    return int(value)


def check_positive_ints(name, value):
    """Returns a tuple of positive integers from one integer or a non-empty sequence of them.

    This is how `units=128` and `units=(128, 64)` (a stack) are both accepted.
    """
    items = (value,) if _is_int(value) else value
    if isinstance(value, (str, bytes)) or not isinstance(items, (tuple, list)) or not items:
        _fail(name, value, "a positive integer or a non-empty list of positive integers")
    if not all(_is_int(item) and item >= 1 for item in items):
        _fail(name, value, "a positive integer or a non-empty list of positive integers")
    return tuple(int(item) for item in items)


def check_fraction(name, value, *, closed_right=False):
    """Returns `value` as a float in [0, 1) (or [0, 1] with `closed_right=True`)."""
    is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    upper_ok = is_number and (value <= 1 if closed_right else value < 1)
    if not is_number or value != value or value < 0 or not upper_ok:
        _fail(name, value, "a number in [0, 1]" if closed_right else "a number in [0, 1)")
    return float(value)


def check_positive_float(name, value, *, allow_none=False):
    """Returns `value` as a float > 0 (or `None` when allowed)."""
    if value is None and allow_none:
        return None
    is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not is_number or not value > 0 or value == float("inf"):
        _fail(name, value, "a positive finite number" + (" or None" if allow_none else ""))
    return float(value)


def check_non_negative_float(name, value):
    """Returns `value` as a finite float >= 0."""
    is_number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not is_number or not value >= 0 or value == float("inf"):
        _fail(name, value, "a non-negative finite number")
    return float(value)


def check_choice(name, value, choices):
    """Returns `value` if it is one of `choices`, else names them all."""
    if not isinstance(value, (str, type(None))) or value not in choices:
        shown = ", ".join(repr(choice) for choice in choices)
        _fail(name, value, f"one of {shown}")
    return value


def check_bool(name, value):
    """Returns `value` if it is `True` or `False` (not 0, 1 or a string)."""
    if not isinstance(value, bool):
        _fail(name, value, "True or False")
    return value


def check_string(name, value, *, allow_none=False):
    """Returns `value` if it is a non-empty string (or `None` when allowed)."""
    if value is None and allow_none:
        return None
    if not isinstance(value, str) or not value:
        _fail(name, value, "a non-empty string" + (" or None" if allow_none else ""))
    return value


def check_existing_file(name, value):
    """Returns `value` as a string path if it names an existing file; the path is in the error."""
    if not isinstance(value, (str, os.PathLike)) or not str(value):
        _fail(name, value, "a path to a file")
    path = os.fspath(value)
    if not os.path.exists(path):
        raise DataFileNotFoundError(
            f"`{name}`: no such file: {path!r}. Check the path (it is read relative to "
            f"{os.getcwd()!r})."
        )
    if os.path.isdir(path):
        raise DataFileNotFoundError(f"`{name}`: {path!r} is a directory, not a file.")
    return path


def check_utf8_strings(name, strings):
    """Returns `strings` (a list of str) if every one can be encoded as UTF-8.

    A Python string can hold lone surrogates (U+D800..U+DFFF): `sys.argv` and files opened with
    ``errors="surrogateescape"`` turn bytes that are not UTF-8 into them. TensorFlow cannot
    convert such a string and fails deep inside `tf.constant`; this names the item instead.
    """
    try:
        "".join(strings).encode("utf-8")
        return strings
    except UnicodeEncodeError:
        pass
    for index, item in enumerate(strings):
        try:
            item.encode("utf-8")
        except UnicodeEncodeError as error:
            bad = item[error.start]
            raise InvalidArgumentError(
                f"`{name}`: item {index} is not valid text: {item!r:.80} holds the lone "
                f"surrogate {bad!r} at character {error.start}, which is what bytes that are not "
                "UTF-8 become on a command line or in a file read with "
                "errors='surrogateescape'. Pass UTF-8 text (e.g. convert it with `iconv -t "
                "utf-8`)."
            ) from None
    return strings


def check_conflict(condition, message):
    """Raises with `message` (which names both arguments and the fix) when `condition` holds."""
    if condition:
        raise InvalidArgumentError(message)


def check_settings_used(choice_name, choice, reads, given):
    """Refuses a setting the chosen option does not read: given, it would be silently ignored.

    The one check behind "a flag that does not apply with another": `--kernel-sizes` with
    `--model lstm`, `--char-units` with `--char-features cnn`, `--window` with `--task
    labelling`. A setting counts as given when it is not None, so its argument's default must
    be None (the real default is filled in after this check): a value equal to the default
    cannot be told from one left out otherwise.

    Args:
        choice_name: str. The argument that chooses (e.g. "model").
        choice: the value it has (e.g. "lstm").
        reads: dict. Each possible choice -> the names of the settings it reads.
        given: dict. Setting name -> value, None where it was left out. Names that no choice
            reads are not checked.
    """
    unused = [name for name, value in given.items() if value is not None
              and name not in reads[choice] and any(name in names for names in reads.values())]
    if unused:
        users = {name: [other for other, names in reads.items() if name in names]
                 for name in unused}
        raise InvalidArgumentError(
            f"{choice_name}={choice!r} does not use "
            + ", ".join(f"`{name}` (used by {', '.join(map(str, users[name]))})"
                        for name in unused)
            + ". Received: " + ", ".join(f"{name}={given[name]!r}" for name in unused)
            + f". Leave {'it' if len(unused) == 1 else 'them'} out or choose another "
            f"`{choice_name}`."
        )


def check_not_given(given, names, *, reason, fix):
    """Refuses any of `names` given (not None) in `given` where `reason` makes it meaningless.

    The message names each such argument with its value, why it does not apply and `fix`:
    ``"A vocabulary file sets the vocabulary, so `min_frequency` does not apply. Received:
    min_frequency=5. Leave it out, or cut the file."``
    """
    names = [name for name in names if given.get(name) is not None]
    if names:
        raise InvalidArgumentError(
            f"{reason}, so " + " and ".join(f"`{name}`" for name in names)
            + (" does" if len(names) == 1 else " do") + " not apply. Received: "
            + ", ".join(f"{name}={given[name]!r}" for name in names) + f". {fix}"
        )


def with_defaults(given, defaults):
    """`given` with each None replaced by its entry in `defaults` (after `check_not_given` /
    `check_settings_used`, whose arguments default to None so that they can tell)."""
    return {**given, **{name: value for name, value in defaults.items()
                        if given.get(name) is None}}


def check_strings(name, texts, max_samples=None):
    """Returns `texts` (a sequence or any iterable of str) as a list, at most `max_samples`.

    Every item must be a `str` that UTF-8 can encode (`check_utf8_strings`).
    """
    if isinstance(texts, (str, bytes)) or not hasattr(texts, "__iter__"):
        raise InvalidArgumentError(
            f"`{name}` must be a list (or other iterable) of strings. "
            f"Received: {name}={texts!r:.80} ({type(texts).__name__})."
        )
    items = list(itertools.islice(iter(texts), max_samples))
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise InvalidArgumentError(
                f"`{name}` must contain only strings; item {index} is {item!r:.80} "
                f"({type(item).__name__}). A missing value read by pandas is a float NaN: "
                "read the file with `keep_default_na=False`."
            )
    return check_utf8_strings(name, items)


def check_token_rows(name, rows, *, allow_empty_token=False):
    """Checks a list of token lists (sentences) and returns it as a list of lists of str."""
    if isinstance(rows, (str, bytes)) or not hasattr(rows, "__iter__"):
        raise InvalidArgumentError(
            f"`{name}` must be a list of token lists, e.g. [['EU', 'rejects'], ['Peter']]. "
            f"Received: {name}={rows!r:.80} ({type(rows).__name__})."
        )
    checked = []
    for index, row in enumerate(rows):
        if isinstance(row, (str, bytes)) or not hasattr(row, "__iter__"):
            raise InvalidArgumentError(
                f"`{name}` must be a list of token lists; item {index} is {row!r:.80} "
                f"({type(row).__name__}), not a list of tokens."
            )
        row = list(row)
        for token in row:
            if not isinstance(token, str) or (not token and not allow_empty_token):
                raise InvalidArgumentError(
                    f"`{name}`: item {index} holds {token!r:.80}; every token must be a "
                    "non-empty string (the empty string is the padding token)."
                )
        check_utf8_strings(f"{name}[{index}]", row)
        checked.append(row)
    return checked
