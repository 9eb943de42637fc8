"""Korean tokenisation: kiwipiepy morphemes (optional extra) or a fallback inside the model.

TensorFlow-free, so the portable reader tokenises exactly as training did; training code
imports it as `seqrecipes.datasets.korean`.

A saved model must take raw strings, but kiwipiepy runs in Python, not in the TF graph. So
there are two kinds of Korean tokeniser (`KOREAN_TOKENIZERS`):

- "syllables" and "scripts" need nothing extra and live inside the model: they are only
  `TextVectorization` options (`KOREAN_VECTORIZER_OPTIONS`), so the `.keras` file takes raw
  review text. "syllables" splits into Unicode characters (Hangul syllables, jamo such as
  ㅋ/ㅠ, digits, letters, spaces): a vocabulary of a few thousand that covers any text, with
  no out-of-vocabulary words from particles glued to nouns. "scripts" splits on whitespace
  after separating Hangul / jamo / digit / punctuation runs (`lower_and_split_scripts`).
  Measured on NSMC (bench/korean_tokenizers.py), "syllables" is the default fallback.
- "morphemes" (forms), "morpheme_tags" (form/tag) and "syllables_and_morphemes" need
  `pip install "seqrecipes[korean]"` and run BEFORE the model, at training and at prediction time alike: call
  `pretokenize_korean(texts, tokenizer)` on every text the model sees (train, validation,
  test, and each request at serving time), then the model's own vectorizer splits the
  morphemes on whitespace. The recipe records the tokenizer in its config so that `predict`
  applies it again; a model exported from it takes pre-tokenised strings.
  "syllables_and_morphemes" gives the model both views of a text in one token stream: its
  characters (a space as "\u2581"), then its form/TAG morphemes. With n-grams up to 4 over the
  stream, a bag model sees the character 1-4-grams that "syllables" gives and the morpheme
  1-4-grams beside them. Measured on NSMC with the sentiment recipe's NBSVM (full training
  file, official test set): 0.8833 test accuracy, from 0.8769 with "syllables" alone
  (`python bench/peers.py --data nsmc`); kiwipiepy's analysis is most of the added time.
"""

import functools
import os

from seqrecipes import _validation

KOREAN_INSTALL = 'pip install "seqrecipes[korean]"'
KOREAN_TOKENIZERS = (
    "syllables", "scripts", "morphemes", "morpheme_tags", "syllables_and_morphemes",
)
# The tokenizers that run kiwipiepy before the model.
MORPHEME_TOKENIZERS = ("morphemes", "morpheme_tags", "syllables_and_morphemes")
# Options of `build_text_vectorizer` for each tokenizer (applied after `pretokenize_korean`).
KOREAN_VECTORIZER_OPTIONS = {
    "syllables": {"standardize": "lower", "split": "character"},
    "scripts": {"standardize": "lower_and_split_scripts", "split": "whitespace"},
    # kiwi output is "form" or "form/TAG" tokens joined by spaces: lower-case (English forms
    # and the tags alike, at train and predict time) but keep punctuation, which kiwi tagged.
    "morphemes": {"standardize": "lower", "split": "whitespace"},
    "morpheme_tags": {"standardize": "lower", "split": "whitespace"},
    "syllables_and_morphemes": {"standardize": "lower", "split": "whitespace"},
}
# A space among the character tokens of "syllables_and_morphemes" (whitespace splits them).
SPACE_TOKEN = "\u2581"


def import_kiwipiepy():
    """Returns the `kiwipiepy` module, or raises `ImportError` with the `pip install` command."""
    try:
        import kiwipiepy
    except ImportError as error:
        raise ImportError(
            "Korean morpheme tokenisation needs kiwipiepy, which is not installed. Install "
            f"it with: {KOREAN_INSTALL} (or use the tokenizer 'syllables', which needs "
            "nothing extra)."
        ) from error
    return kiwipiepy


@functools.lru_cache(maxsize=4)
def _kiwi(num_workers):
    # Loading the model takes about a second: load once per worker count.
    return import_kiwipiepy().Kiwi(num_workers=num_workers)


def tokenize_korean(texts, *, tags=True, num_workers=None):
    """Splits Korean texts into morphemes with kiwipiepy; one space-joined string per text.

    Args:
        texts: list of str.
        tags: bool. Write "form/TAG" tokens (True, e.g. "짜증/NNG 나/VV 네요/EF") or forms
            only (False, "짜증 나 네요"). Defaults to True.
        num_workers: int or None. kiwipiepy threads; None uses every core. Defaults to None.

    Returns:
        list of str, in the order of `texts`; an empty text gives "".

    Raises:
        ImportError: kiwipiepy is not installed; the message gives the `pip` command.
    """
    _validation.check_bool("tags", tags)
    _validation.check_positive_int("num_workers", num_workers, allow_none=True)
    texts = _validation.check_strings("texts", texts)
    kiwi = _kiwi(num_workers or os.cpu_count() or 1)

    def token(morpheme):
        form = "_".join(morpheme.form.split())  # a form never contains a separator
        return f"{form}/{morpheme.tag}" if tags else form

    return [" ".join(token(m) for m in sentence) for sentence in kiwi.tokenize(texts)]


def kiwipiepy_installed():
    """True when kiwipiepy imports (the morpheme tokenizers can be used)."""
    try:
        import_kiwipiepy()
    except ImportError:
        return False
    return True


def characters_and_morphemes(texts):
    """Each text as its characters (a space as `SPACE_TOKEN`) then its form/TAG morphemes.

    >>> characters_and_morphemes(["재밌다 ㅋㅋ"])  # doctest: +SKIP
    ['재 밌 다 ▁ ㅋ ㅋ 재밌/VA 다/EF ㅋㅋ/SW']
    """
    texts = _validation.check_strings("texts", texts)
    characters = [" ".join(SPACE_TOKEN if char.isspace() else char for char in " ".join(
        text.split())) for text in texts]
    return [" ".join(part for part in pair if part)
            for pair in zip(characters, tokenize_korean(texts, tags=True))]


def pretokenize_korean(texts, tokenizer):
    """Applies `tokenizer`'s Python step to `texts`: kiwi morphemes, or nothing.

    Call it on every text before the model (training and prediction alike); for
    "syllables" and "scripts" it returns the texts unchanged, because their tokenisation
    is inside the model's vectorizer.

    Args:
        texts: list of str.
        tokenizer: str. One of `KOREAN_TOKENIZERS`.

    Returns:
        list of str.

    Example:

    >>> pretokenize_korean(["재밌다 ㅋㅋ"], "syllables")
    ['재밌다 ㅋㅋ']
    """
    _validation.check_choice("tokenizer", tokenizer, KOREAN_TOKENIZERS)
    if tokenizer == "syllables_and_morphemes":
        return characters_and_morphemes(texts)
    if tokenizer in ("morphemes", "morpheme_tags"):
        return tokenize_korean(texts, tags=tokenizer == "morpheme_tags")
    return _validation.check_strings("texts", texts)
