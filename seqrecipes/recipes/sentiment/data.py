"""The sentiment recipe's text side: languages, tokenisers, reading and splitting the data.

English words are lower-cased, HTML line breaks (IMDB's ``<br />``) and punctuation removed,
all inside the model's `TextVectorization`, so the saved model takes raw text. Korean has the
tokenisers of `seqrecipes.datasets.korean`: "syllables" and "scripts" live inside the model
too; "morphemes", "morpheme_tags" and "syllables_and_morphemes" (kiwipiepy) run in Python
before the model, at training and prediction time alike (`pretokenize`), and the run records
which one it used.
"""

import dataclasses

import numpy as np

from seqrecipes.datasets import korean, load_table, sample_path
from seqrecipes.errors import DataError, MissingDependencyError
from seqrecipes.recipes.engine import classification as _classification

LANGUAGES = ("en", "ko")
TOKENIZERS = {"en": ("words",), "ko": korean.KOREAN_TOKENIZERS}
SAMPLES = {"en": "sentiment_en", "ko": "sentiment_ko"}
VECTORIZER_OPTIONS = {
    ("en", "words"): {"standardize": "lower_strip_html_and_punctuation", "split": "whitespace"},
    **{("ko", name): options for name, options in korean.KOREAN_VECTORIZER_OPTIONS.items()},
}
IN_MODEL = {("en", "words"), ("ko", "syllables"), ("ko", "scripts")}


def tokenizer_installed(language, tokenizer):
    """True when `tokenizer` can run here (the in-model ones always; kiwipiepy's if installed)."""
    return (language, tokenizer) in IN_MODEL or korean.kiwipiepy_installed()


def check_tokenizer_installed(language, tokenizer):
    """Raises `MissingDependencyError` early when a kiwipiepy tokeniser cannot be imported."""
    if (language, tokenizer) in IN_MODEL:
        return
    try:
        korean.import_kiwipiepy()
    except ImportError as error:
        raise MissingDependencyError(
            f"tokenizer={tokenizer!r} needs kiwipiepy, which is not installed. Install it with "
            f"{korean.KOREAN_INSTALL}, or choose tokenizer='syllables' (nothing to install; "
            "the saved model then takes raw text)."
        ) from error


def pretokenize(texts, language, tokenizer):
    """The Python-side step before the model: kiwipiepy morphemes for Korean, else nothing."""
    if (language, tokenizer) in IN_MODEL:
        return list(texts)
    return korean.pretokenize_korean(list(texts), tokenizer)


def pretokenizer(language, tokenizer):
    """`pretokenize` as a function of a list of texts, or None when the model tokenises."""
    if (language, tokenizer) in IN_MODEL:
        return None
    return lambda texts: pretokenize(texts, language, tokenizer)


def describe_input(language, tokenizer):
    """What the saved and exported model take as input, in words."""
    if (language, tokenizer) in IN_MODEL:
        return "raw text"
    if tokenizer == "syllables_and_morphemes":
        return ("each text's characters (a space as \u2581) then its kiwipiepy form/TAG "
                "morphemes, joined by spaces: seqrecipes.datasets.pretokenize_korean(texts, "
                "'syllables_and_morphemes')")
    tags = "form/TAG" if tokenizer == "morpheme_tags" else "form"
    return (f"kiwipiepy morphemes ({tags} tokens joined by spaces): "
            f"seqrecipes.datasets.pretokenize_korean(texts, {tokenizer!r})")


@dataclasses.dataclass
class Splits:
    """The texts and class ids of the train, validation and test splits, and their sources."""

    classes: tuple
    train: tuple  # (texts, ids); (None, None) when the training data is streamed
    validation: tuple
    test: tuple
    sources: dict  # "data" / "validation" / "test" -> summary line of the file(s)
    num_empty: dict  # the same keys -> empty documents found
    test_from: str  # "file" or "split"
    held_out: str  # how validation and test were held out, for the summary
    scan: object = None  # the `StreamScan` of the training shards, when streamed


def _check_classes(classes, path):
    if len(classes) < 2:
        raise DataError(
            f"{path}: every text has the label {classes[0]!r}; a classifier needs at "
            "least two classes. Check `label_column`."
        )


def _read_file(path, classes, options):
    """(texts, ids), summary and empty count of a labelled file encoded with `classes`."""
    table = load_table(path, **options)
    return (list(table.texts), table.label_ids(classes)), table.summary(), table.num_empty


def read_splits(config):
    """Reads the data (and validation, test) files of `config`; holds out stratified splits."""
    path = config["data"] or str(sample_path(SAMPLES[config["language"]]))
    options = dict(
        text_column=config["text_column"], label_column=config["label_column"],
        empty=config["empty"], format=config.get("format", "auto"),
    )
    data = load_table(path, **options)
    _check_classes(data.classes, path)
    classes = data.classes
    ids = data.label_ids(classes)
    texts = np.array(data.texts, dtype=object)
    sources, num_empty = {"data": data.summary()}, {"data": data.num_empty}
    seed = config["seed"]
    rest = np.arange(len(ids))
    held = [f"stratified, seed {seed}"]
    if config["test"] is not None:
        test_split, sources["test"], num_empty["test"] = _read_file(
            config["test"], classes, options)
        held.append("test file")
    else:
        rest, test_rows = _classification.stratified_split(
            ids, config["test_split"], seed=seed, what="test", source=path
        )
        test_split = (list(texts[test_rows]), ids[test_rows])
        held.append(f"test {config['test_split']:g} of the data")
    if config["validation"] is not None:
        validation_split, sources["validation"], num_empty["validation"] = _read_file(
            config["validation"], classes, options)
        kept = rest
        held.append("validation file")
    else:
        kept, validation = _classification.stratified_split(
            ids[rest], config["validation_split"], seed=seed, what="validation", source=path
        )
        kept, validation = rest[kept], rest[validation]
        validation_split = (list(texts[validation]), ids[validation])
    return Splits(
        classes=classes,
        train=(list(texts[kept]), ids[kept]),
        validation=validation_split,
        test=test_split,
        sources=sources,
        num_empty=num_empty,
        test_from="file" if config["test"] is not None else "split",
        held_out="; ".join(held),
    )


def read_stream_splits(config, sample_size):
    """Scans the training shards once (checks, counts, a sample of `sample_size` texts) and
    reads the validation and test files, encoded with the classes the shards hold."""
    from seqrecipes.datasets import scan_labelled_files

    scan = scan_labelled_files(
        config["data"], text_column=config["text_column"], label_column=config["label_column"],
        format=config.get("format", "auto"), empty=config["empty"], sample_size=sample_size,
        seed=config["seed"],
    )
    _check_classes(scan.classes, scan.paths[0])
    options = dict(text_column=scan.text_column, label_column=scan.label_column,
                   empty=config["empty"], format=config.get("format", "auto"))
    sources, num_empty = {"data": scan.summary()}, {"data": scan.num_empty}
    parts = {}
    for name in ("validation", "test"):
        parts[name], sources[name], num_empty[name] = _read_file(
            config[name], scan.classes, options)
    return Splits(
        classes=scan.classes,
        train=(None, None),
        validation=parts["validation"],
        test=parts["test"],
        sources=sources,
        num_empty=num_empty,
        test_from="file",
        held_out=(f"training streamed from {len(scan.paths)} file(s), shuffle buffer "
                  f"{config['shuffle_buffer']:,}; validation and test files"),
        scan=scan,
    )
