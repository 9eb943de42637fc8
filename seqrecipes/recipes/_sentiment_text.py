"""The sentiment recipe's text side: languages, tokenisers, reading and splitting the data.

English words are lower-cased, HTML line breaks (IMDB's ``<br />``) and punctuation removed,
all inside the model's `TextVectorization`, so the saved model takes raw text. Korean has the
tokenisers of `seqrecipes.datasets.korean`: "syllables" and "scripts" live inside the model
too; "morphemes" and "morpheme_tags" (kiwipiepy) run in Python before the model, at training
and prediction time alike (`pretokenize`), and the run records which one it used.
"""

import dataclasses

import numpy as np

from seqrecipes.datasets import korean, load_table, sample_path
from seqrecipes.errors import DataError, MissingDependencyError
from seqrecipes.recipes import _classification

LANGUAGES = ("en", "ko")
TOKENIZERS = {"en": ("words",), "ko": korean.KOREAN_TOKENIZERS}
SAMPLES = {"en": "sentiment_en", "ko": "sentiment_ko"}
VECTORIZER_OPTIONS = {
    ("en", "words"): {"standardize": "lower_strip_html_and_punctuation", "split": "whitespace"},
    **{("ko", name): options for name, options in korean.KOREAN_VECTORIZER_OPTIONS.items()},
}
IN_MODEL = {("en", "words"), ("ko", "syllables"), ("ko", "scripts")}


def check_tokenizer_installed(language, tokenizer):
    """Raises `MissingDependencyError` early when a kiwipiepy tokeniser cannot be imported."""
    if (language, tokenizer) in IN_MODEL:
        return
    try:
        korean._import_kiwipiepy()
    except ImportError as error:
        raise MissingDependencyError(
            f"--tokenizer {tokenizer} needs kiwipiepy, which is not installed. Install it with "
            f"{korean.KOREAN_INSTALL}, or choose --tokenizer syllables (nothing to install; "
            "the saved model then takes raw text)."
        ) from error


def pretokenize(texts, language, tokenizer):
    """The Python-side step before the model: kiwipiepy morphemes for Korean, else nothing."""
    if (language, tokenizer) in IN_MODEL:
        return list(texts)
    return korean.pretokenize_korean(list(texts), tokenizer)


def describe_input(language, tokenizer):
    """What the saved and exported model take as input, in words."""
    if (language, tokenizer) in IN_MODEL:
        return "raw text"
    tags = "form/TAG" if tokenizer == "morpheme_tags" else "form"
    return (f"kiwipiepy morphemes ({tags} tokens joined by spaces): "
            f"seqrecipes.datasets.pretokenize_korean(texts, {tokenizer!r})")


@dataclasses.dataclass
class Splits:
    """The texts and class ids of the train, validation and test splits, and their sources."""

    classes: tuple
    train: tuple  # (texts, ids)
    validation: tuple
    test: tuple
    sources: dict  # "data" / "test" -> LabelledTexts summary line
    num_empty: dict  # "data" / "test" -> empty documents found
    test_from: str  # "file" or "split"


def read_splits(config):
    """Reads the data (and test) file of `config`, holds out the splits, all stratified."""
    path = config["data"] or str(sample_path(SAMPLES[config["language"]]))
    options = dict(
        text_column=config["text_column"], label_column=config["label_column"],
        empty=config["empty"],
    )
    data = load_table(path, **options)
    if len(data.classes) < 2:
        raise DataError(
            f"{path}: every text has the label {data.classes[0]!r}; a classifier needs at "
            "least two classes. Check --label-column."
        )
    classes = data.classes
    ids = data.label_ids(classes)
    texts = np.array(data.texts, dtype=object)
    sources, num_empty = {"data": data.summary()}, {"data": data.num_empty}
    seed = config["seed"]
    if config["test"] is not None:
        test = load_table(config["test"], **options)
        test_split = (list(test.texts), test.label_ids(classes))
        sources["test"], num_empty["test"] = test.summary(), test.num_empty
        rest = np.arange(len(ids))
    else:
        rest, held = _classification.stratified_split(
            ids, config["test_split"], seed=seed, what="test", source=path
        )
        test_split = (list(texts[held]), ids[held])
    kept, validation = _classification.stratified_split(
        ids[rest], config["validation_split"], seed=seed, what="validation", source=path
    )
    kept, validation = rest[kept], rest[validation]
    return Splits(
        classes=classes,
        train=(list(texts[kept]), ids[kept]),
        validation=(list(texts[validation]), ids[validation]),
        test=test_split,
        sources=sources,
        num_empty=num_empty,
        test_from="file" if config["test"] is not None else "split",
    )
