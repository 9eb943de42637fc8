"""Sentiment recipe: a labelled table to a trained, evaluated, saved model that takes raw text.

    seqrecipes sentiment train                       # the embedded English sample, ~10 s
    seqrecipes sentiment train --data reviews.csv --model gru --units 128 --bidirectional
    seqrecipes sentiment evaluate runs/sentiment test.csv
    seqrecipes sentiment predict runs/sentiment "What a film!" "Dull."
    seqrecipes sentiment export runs/sentiment exported/

    run = sentiment.load("runs/sentiment")           # load once, predict many times:
    run.predict(["What a film!"])                    # a few texts: one compiled call

`train` reads the table (`datasets.load_table`), holds out stratified validation (and, without
`--test`, test) splits, adapts the vocabulary on the training split only, trains with early
stopping on the validation loss (`_training.fit_resumable`: the same command resumes an
interrupted run and reaches the same result), evaluates on the test split and writes the run
directory (`_artifacts.write_run`). The default model is the one that measured best on real
data for each language against scikit-learn and fastText peers (README, "Quality";
bench/peers.py): NBSVM, a linear model on a text's distinct n-grams scaled by naive-Bayes
ratios (`models.nbsvm`), over word 1-3-grams for English and syllable 1-4-grams for Korean
(inside the model: nothing to install, raw text in).
"""

import json
import pathlib
import sys

from seqrecipes import _validation
from seqrecipes.datasets._files import expand_paths
from seqrecipes.recipes import _classification, _cli, _model_flags
from seqrecipes.recipes import _sentiment_text as text

DEFAULT_RUN_DIR = "runs/sentiment"
EMPTY = ("drop", "keep", "error")
LANGUAGE_DEFAULTS = {  # the recipe's defaults per --language; measured in bench/
    "en": {"tokenizer": "words", "model": "nbsvm"},
    "ko": {"tokenizer": "syllables", "model": "nbsvm"},
}
# Model settings that differ from the family's defaults (`_model_flags.DEFAULTS`) per language.
MODEL_DEFAULTS = {("ko", "cnn"): {"kernel_sizes": (2, 3, 4, 5)}}  # Korean morphemes are short
# Vocabulary per model family: a bag needs word pairs and room for them; sequence models see
# word order themselves and do well on the 30k most frequent words.
VOCABULARY_DEFAULTS = {
    "fasttext": {"ngrams": 2, "max_tokens": 200_000},
    # NBSVM: words, pairs and triples; IMDB's 22,500 training reviews keep 840k seen twice.
    "nbsvm": {"ngrams": 3, "max_tokens": 2_000_000},
    # ... and on Korean syllables, character 1-4-grams (NSMC: 689k seen twice).
    ("nbsvm", "syllables"): {"ngrams": 4},
}
SEQUENCE_VOCABULARY = {"ngrams": 1, "max_tokens": 30_000}
MODEL_ARGUMENTS = _model_flags.ALL_SETTINGS
STREAM_VOCABULARY_SAMPLE = 100_000  # texts a stream's vocabulary is adapted on by default
STREAM_SHUFFLE_BUFFER = 10_000  # texts a stream is shuffled within by default


def _resolve(given):
    """Checks every argument of `train` and returns the run's complete config (JSON-ready)."""
    language = _validation.check_choice("language", given["language"], text.LANGUAGES)
    defaults = LANGUAGE_DEFAULTS[language]
    tokenizer = given["tokenizer"] or defaults["tokenizer"]
    _validation.check_choice("tokenizer", tokenizer, text.TOKENIZERS[language])
    model = given["model"] or defaults["model"]
    settings = _model_flags.resolve_model_settings(
        model, {name: given[name] for name in MODEL_ARGUMENTS},
        defaults=MODEL_DEFAULTS.get((language, model)),
    )
    stream = _validation.check_bool("stream", given["stream"])
    if given["data"] is not None:
        paths = expand_paths("data", given["data"])
        _validation.check_conflict(
            len(paths) > 1 and not stream,
            f"{len(paths)} --data files ({paths[0]}, ...) are read as one stream: add --stream "
            "(stream=True), with --validation and --test files, or name one file.",
        )
        given["data"] = paths if stream else str(pathlib.Path(paths[0]))
    for name in ("validation", "test", "vocabulary_file"):
        if given[name] is not None:
            given[name] = str(pathlib.Path(_validation.check_existing_file(name, given[name])))
    if stream:
        missing = [name for name in ("data", "validation", "test") if given[name] is None]
        _validation.check_conflict(
            bool(missing),
            "--stream reads the training data (--data: files or glob patterns) row by row and "
            "cannot hold splits out of it, so it needs --data, --validation and --test files. "
            f"Missing: {', '.join('--' + name for name in missing)}.",
        )
    for name in ("validation", "test"):
        _validation.check_conflict(
            given[name] is not None and given[f"{name}_split"] is not None,
            f"`{name}_split` holds part of `data` out, so it cannot be used with a `{name}` "
            f"file. Received: {name}={given[name]!r}, {name}_split={given[name + '_split']!r}. "
            "Leave one out.",
        )
    _validation.check_positive_int("vocabulary_sample", given["vocabulary_sample"],
                                   allow_none=True)
    _validation.check_conflict(
        given["vocabulary_file"] is not None and given["vocabulary_sample"] is not None,
        "Give a vocabulary file or a sample size to adapt one on, not both. Received: "
        f"vocabulary_file={given['vocabulary_file']!r}, "
        f"vocabulary_sample={given['vocabulary_sample']!r}.",
    )
    _validation.check_conflict(
        given["vocabulary_file"] is not None and given["max_tokens"] is not None,
        "The vocabulary file sets the vocabulary, so `max_tokens` does not apply. Received: "
        f"max_tokens={given['max_tokens']!r}. Leave it out, or cut the file.",
    )
    _validation.check_positive_int("shuffle_buffer", given["shuffle_buffer"], allow_none=True)
    _validation.check_conflict(
        given["shuffle_buffer"] is not None and not stream,
        "`shuffle_buffer` is for a stream (--stream); in memory every epoch is shuffled whole. "
        f"Received: shuffle_buffer={given['shuffle_buffer']!r}.",
    )
    if stream:
        given["shuffle_buffer"] = given["shuffle_buffer"] or STREAM_SHUFFLE_BUFFER
        if given["vocabulary_file"] is None and given["vocabulary_sample"] is None:
            given["vocabulary_sample"] = STREAM_VOCABULARY_SAMPLE
    _validation.check_string("text_column", given["text_column"], allow_none=True)
    _validation.check_string("label_column", given["label_column"], allow_none=True)
    _validation.check_choice("empty", given["empty"], EMPTY)
    splits = {}
    for name, default in (("validation", 0.1), ("test", 0.2)):
        value = given[f"{name}_split"]
        splits[name] = default if value is None and given[name] is None else value
    for name, value in (("validation_split", splits["validation"]),
                        ("test_split", splits["test"])):
        if value is not None:
            _validation.check_fraction(name, value)
            _validation.check_conflict(value <= 0, f"`{name}` must be greater than 0. "
                                                   f"Received: {name}={value!r}.")
    vocabulary = {**SEQUENCE_VOCABULARY, **VOCABULARY_DEFAULTS.get(model, {}),
                  **VOCABULARY_DEFAULTS.get((model, tokenizer), {})}
    for name in ("max_tokens", "ngrams"):
        vocabulary[name] = _validation.check_positive_int(
            name, given[name] if given[name] is not None else vocabulary[name]
        )
    if given["vocabulary_file"] is not None:
        vocabulary["max_tokens"] = None  # the file's size
    _validation.check_positive_int("min_frequency", given["min_frequency"])
    _cli.check_training_arguments(**{name: given[name] for name in _cli.TRAINING_SETTINGS})
    config = {
        "recipe": "sentiment",
        "language": language,
        "tokenizer": tokenizer,
        "input": text.describe_input(language, tokenizer),
        **{name: given[name] for name in (
            "data", "stream", "validation", "test", "text_column", "label_column", "empty",
            "shuffle_buffer",
        )},
        "validation_split": splits["validation"],
        "test_split": splits["test"],
        **vocabulary,
        "min_frequency": given["min_frequency"],
        "vocabulary_sample": given["vocabulary_sample"],
        "vocabulary_file": given["vocabulary_file"],
        **settings,
        **{name: given[name] for name in (
            "epochs", "batch_size", "learning_rate", "clipnorm", "patience", "seed", "verbose",
            "overwrite",
        )},
    }
    return json.loads(json.dumps(config))  # lists, not tuples: as a resumed run reads it back


def train(
    *,
    data=None,
    validation=None,
    test=None,
    stream=False,
    text_column=None,
    label_column=None,
    language="en",
    tokenizer=None,
    empty="drop",
    validation_split=None,
    test_split=None,
    model=None,
    embedding_dim=None,
    units=None,
    bidirectional=None,
    merge_mode=None,
    pooling=None,
    kernel_sizes=None,
    filters=None,
    dropout=None,
    recurrent_dropout=None,
    head_dropout=None,
    max_tokens=None,
    min_frequency=2,
    ngrams=None,
    vocabulary_sample=None,
    vocabulary_file=None,
    shuffle_buffer=None,
    run_dir=DEFAULT_RUN_DIR,
    overwrite=False,
    epochs=20,
    batch_size=32,
    learning_rate=1e-3,
    clipnorm=None,
    patience=2,
    seed=1234,
    verbose=1,
):
    """Trains, evaluates and saves a sentiment classifier; prints a one-screen summary.

    Args:
        data: path or None. A labelled table (CSV / TSV, gzip allowed, with a header). None:
            the embedded sample of `language` (`sentiment_en` or `sentiment_ko`). With
            `stream`: a path, a glob pattern ("shards/train-*.tsv.gz") or a list of them.
        validation: path or None. A labelled validation table; None holds
            `validation_split` of `data` out.
        test: path or None. A labelled test table; None holds `test_split` of `data` out.
        stream: bool. Read `data` row by row on every epoch instead of into memory, for data
            larger than memory (README, "Streaming from shards"): the shards are scanned
            once first (every row checked, labels and empty documents counted, a uniform
            sample kept for the vocabulary), then streamed through a shuffle buffer. Needs
            `validation` and `test` files. Defaults to False.
        text_column, label_column: str or None. Column names; None tries "text", "document",
            "sentence", "review" and "label", "sentiment".
        language: str. "en" or "ko". Chooses the tokeniser and the default model.
        tokenizer: str or None. en: "words". ko: "syllables" (default), "scripts" (both
            inside the model), "morpheme_tags" or "morphemes" (kiwipiepy, before the model).
        empty: str. Empty documents: "drop" (default; the summary reports how many),
            "keep" or "error".
        validation_split: float or None. Share of the training texts held out (stratified)
            for early stopping when there is no `validation` file. Defaults to 0.1 then.
        test_split: float or None. Share of `data` held out for testing when there is no
            `test` file. Defaults to 0.2 then.
        model: str or None. "lstm", "gru", "simple_rnn", "cnn", "fasttext" or "nbsvm"; None:
            the language's default ("nbsvm" for both).
        embedding_dim, units, bidirectional, merge_mode, pooling, kernel_sizes, filters,
            dropout, recurrent_dropout, head_dropout: the model's settings (see
            `recipes._model_flags`); None takes the model's default.
        max_tokens: int or None. Vocabulary size, padding and OOV included. None: 200,000
            for fasttext (words and pairs), 2,000,000 for nbsvm (1-3-grams), 30,000 otherwise.
        min_frequency: int. Keep tokens seen at least this often in training. Defaults to 2.
        ngrams: int or None. Also count n-grams up to this length. None: 3 for nbsvm (4 on
            syllables), 2 for fasttext, 1 (words only) otherwise.
        vocabulary_sample: int or None. Adapt the vocabulary on this many training texts,
            drawn uniformly with `seed`. None: all of them in memory, 100,000 with `stream`.
        vocabulary_file: path or None. Take the vocabulary from this file instead (one token
            per line, most frequent first, as the tokeniser makes them: see
            `datasets.text_vectorizer_from_file`); `max_tokens` and `min_frequency` then do
            not apply.
        shuffle_buffer: int or None. With `stream`: texts in the shuffle buffer. Defaults
            to 10,000.
        run_dir: path. Where the run is written; the same command resumes it.
        overwrite: bool. Replace a complete run in `run_dir`.
        epochs, batch_size, learning_rate, clipnorm, patience, seed, verbose: training.

    Returns:
        A dict: `run_dir`, `config`, `metrics` (as in metrics.json), `history`,
        `best_epoch`, `resumed_from_epoch`, `summary` (the text printed) and `seconds`
        (`total` and `fit`: wall time, kept out of metrics.json so that runs compare equal).
    """
    from seqrecipes.recipes import _sentiment_train

    config = _resolve(dict(locals()))
    return _sentiment_train.train(config, run_dir)


run = train  # the recipe's entry point, as every recipe has one


def evaluate(run_dir, data, *, text_column=None, label_column=None, empty="drop", batch_size=64):
    """Evaluates a saved run on a labelled table; prints and returns the figures.

    Args:
        run_dir: path of a run written by `train`.
        data: path of a labelled table with the run's classes.
        text_column, label_column: str or None. Defaults to the run's own columns.
        empty: str. "drop" (default), "keep" or "error" for empty documents.
        batch_size: int. Texts per prediction batch.

    Returns:
        A dict: `accuracy`, `macro_f1`, `num_texts`, `classes`, `report`, `report_text`,
        `confusion_matrix` and `num_empty`.
    """
    from seqrecipes.datasets import load_table
    from seqrecipes.recipes import _sentiment_serve

    _validation.check_string("text_column", text_column, allow_none=True)
    _validation.check_string("label_column", label_column, allow_none=True)
    _validation.check_choice("empty", empty, EMPTY)
    _validation.check_positive_int("batch_size", batch_size)
    path = _validation.check_existing_file("data", data)
    served = _sentiment_serve.load(run_dir)
    config = served.config
    table = load_table(
        path, text_column=text_column or config["text_column"],
        label_column=label_column or config["label_column"], empty=empty,
    )
    label_ids = table.label_ids(served.classes)
    metrics = _classification.classification_metrics(
        label_ids, served.probabilities(table.texts, batch_size=batch_size), served.classes
    )
    metrics["num_empty"] = table.num_empty
    print(f"{table.summary()}\nRun {run_dir}: accuracy {metrics['accuracy']:.4f}, macro F1 "
          f"{metrics['macro_f1']:.4f}\n\n{metrics['report_text']}\nConfusion matrix:\n"
          f"{_classification.confusion_text(metrics['confusion_matrix'], served.classes)}")
    return metrics


def load(run_dir):
    """Loads a saved run once, for many predictions (a service, a notebook).

    `sentiment.predict` loads the run at every call; the loaded run keeps the model and a
    compiled function: one short text takes about a millisecond of model time (README,
    "Performance").

    Args:
        run_dir: path of a run written by `train`.

    Returns:
        A `LoadedRun` with `predict(texts, batch_size=64)` (rows as `predict` returns them),
        `probabilities(texts, batch_size=64)` (a `(texts, classes)` array), `classes`,
        `config` and `export(export_dir, overwrite=False)`.
    """
    from seqrecipes.recipes import _sentiment_serve

    return _sentiment_serve.load(run_dir)


def predict(run_dir, texts, *, batch_size=64):
    """Predicts the sentiment of raw texts with a saved run.

    Args:
        run_dir: path of a run written by `train`.
        texts: list of str (raw text, whatever the tokeniser: the run applies it).
        batch_size: int. Texts per prediction batch.

    Returns:
        One dict per text, in order: `text`, `label` (a class as the training file wrote
        it), `probability` (of that label) and `probabilities` (every class name -> float).
    """
    from seqrecipes.recipes import _sentiment_serve

    _validation.check_positive_int("batch_size", batch_size)
    return _sentiment_serve.load(run_dir).predict(texts, batch_size=batch_size)


def export(run_dir, export_dir, *, overwrite=False):
    """Exports a run as a TensorFlow SavedModel whose `serve` takes a batch of strings.

    The serving function returns the model's output: for two classes `(batch, 1)`, the
    probability of the second class; for more, `(batch, num_classes)` softmax probabilities.
    Class names, the input it expects and the tokeniser are written beside it, in
    ``assets.extra/seqrecipes.json``.

    Returns:
        The `pathlib.Path` of the SavedModel directory.
    """
    from seqrecipes.recipes import _sentiment_serve

    _validation.check_bool("overwrite", overwrite)
    return _sentiment_serve.load(run_dir).export(export_dir, overwrite=overwrite)


def add_parser(subparsers):
    """Adds `seqrecipes sentiment train | evaluate | predict | export`."""
    from seqrecipes.recipes import _sentiment_cli

    return _sentiment_cli.add_parser(subparsers, sys.modules[__name__])
