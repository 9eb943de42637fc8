"""Sentiment recipe: a labelled table to a trained, evaluated, saved model that takes raw text.

    seqrecipes sentiment train                       # the embedded English sample, ~10 s
    seqrecipes sentiment train --data reviews.csv --model gru --units 128 --bidirectional
    seqrecipes sentiment evaluate runs/sentiment test.csv
    seqrecipes sentiment predict runs/sentiment "What a film!" "Dull."
    seqrecipes sentiment export runs/sentiment exported/
    seqrecipes sentiment explain runs/sentiment "Dull." --html why.html   # which words

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

from seqrecipes import _validation
from seqrecipes.datasets._files import expand_paths
from seqrecipes.recipes.engine import classification as _classification
from seqrecipes.recipes.engine import flags as _cli
from seqrecipes.recipes.sentiment import baseline as _baseline
from seqrecipes.recipes.sentiment import model as _model_flags
from seqrecipes.recipes.sentiment import data as text

DEFAULT_RUN_DIR = "runs/sentiment"
EMPTY = ("drop", "keep", "error")
FORMATS = ("auto", "csv", "tsv")  # `load_table`'s: auto reads the dialect from the name
LANGUAGE_DEFAULTS = {  # the recipe's defaults per --language; measured in bench/
    "en": {"tokenizer": "words", "model": "nbsvm"},
    # Korean: characters and kiwipiepy morphemes in one stream (NSMC test 0.8833 vs 0.8769 for
    # syllables alone); without kiwipiepy, syllables, and the run says what it missed.
    "ko": {"tokenizer": "syllables_and_morphemes", "model": "nbsvm"},
}
# The default tokenizer when the language's needs a package that is not installed.
FALLBACK_TOKENIZERS = {"ko": "syllables"}
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
    ("nbsvm", "syllables_and_morphemes"): {"ngrams": 4},
}
SEQUENCE_VOCABULARY = {"ngrams": 1, "max_tokens": 30_000}
MODEL_ARGUMENTS = _model_flags.ALL_SETTINGS
STREAM_VOCABULARY_SAMPLE = 100_000  # texts a stream's vocabulary is adapted on by default
STREAM_SHUFFLE_BUFFER = 10_000  # texts a stream is shuffled within by default
MIN_FREQUENCY = 2  # tokens seen once in training map to the OOV id
MONITORS = ("loss", "accuracy", "macro_f1")  # validation figure early stopping watches


def _resolve(given):
    """Checks every argument of `train` and returns the run's complete config (JSON-ready)."""
    language = _validation.check_choice("language", given["language"], text.LANGUAGES)
    defaults = LANGUAGE_DEFAULTS[language]
    tokenizer = given["tokenizer"] or defaults["tokenizer"]
    tokenizer_note = None
    if given["tokenizer"] is None and not text.tokenizer_installed(language, tokenizer):
        tokenizer_note = (f"kiwipiepy is not installed, so {FALLBACK_TOKENIZERS[language]} "
                          f"instead of the default {tokenizer}: {text.korean.KOREAN_INSTALL}")
        tokenizer = FALLBACK_TOKENIZERS[language]
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
            f"{len(paths)} `data` files ({paths[0]}, ...) are read as one stream: add "
            "stream=True, with `validation` and `test` files, or name one file.",
        )
        given["data"] = paths if stream else str(pathlib.Path(paths[0]))
    for name in ("validation", "test", "vocabulary_file"):
        if given[name] is not None:
            given[name] = str(pathlib.Path(_validation.check_existing_file(name, given[name])))
    if stream:
        missing = [name for name in ("data", "validation", "test") if given[name] is None]
        _validation.check_conflict(
            bool(missing),
            "stream=True reads the training data (`data`: files or glob patterns) row by row "
            "and cannot hold splits out of it, so it needs `data`, `validation` and `test` "
            f"files. Missing: {', '.join(f'`{name}`' for name in missing)}.",
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
    if given["vocabulary_file"] is not None:
        _validation.check_not_given(
            given, ("max_tokens", "min_frequency"),
            reason="The vocabulary file sets the vocabulary",
            fix="Leave it out, or cut the file.",
        )
    _validation.check_positive_int("shuffle_buffer", given["shuffle_buffer"], allow_none=True)
    _validation.check_conflict(
        given["shuffle_buffer"] is not None and not stream,
        "`shuffle_buffer` is for a stream (stream=True); in memory every epoch is shuffled "
        "whole. "
        f"Received: shuffle_buffer={given['shuffle_buffer']!r}.",
    )
    if stream:
        given["shuffle_buffer"] = given["shuffle_buffer"] or STREAM_SHUFFLE_BUFFER
        if given["vocabulary_file"] is None and given["vocabulary_sample"] is None:
            given["vocabulary_sample"] = STREAM_VOCABULARY_SAMPLE
    _validation.check_string("text_column", given["text_column"], allow_none=True)
    _validation.check_string("label_column", given["label_column"], allow_none=True)
    _validation.check_choice("empty", given["empty"], EMPTY)
    _validation.check_choice("format", given["format"], FORMATS)
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
    else:  # None: left out (a vocabulary file refuses it), 2 then
        given["min_frequency"] = _validation.check_positive_int(
            "min_frequency", MIN_FREQUENCY if given["min_frequency"] is None
            else given["min_frequency"])
    _validation.check_choice("monitor", given["monitor"], MONITORS)
    _validation.check_choice("baseline", given["baseline"], _baseline.BASELINES)
    class_weight = given["class_weight"]
    if isinstance(class_weight, dict):
        for name, weight in class_weight.items():
            _validation.check_positive_float(f"class_weight[{name!r}]", weight)
        class_weight = {str(name): float(weight) for name, weight in class_weight.items()}
    elif class_weight is not None:
        _validation.check_conflict(
            class_weight != "balanced",
            "`class_weight` must be None, \"balanced\" (each class weighted by n / (k * its "
            "count) on the training split) or a dict of class name -> weight. Received: "
            f"class_weight={class_weight!r}.",
        )
    _cli.check_training_arguments(**{name: given[name] for name in _cli.TRAINING_SETTINGS})
    config = {
        "recipe": "sentiment",
        "language": language,
        "tokenizer": tokenizer,
        "tokenizer_note": tokenizer_note,
        "input": text.describe_input(language, tokenizer),
        **{name: given[name] for name in (
            "data", "stream", "validation", "test", "text_column", "label_column", "format",
            "empty", "shuffle_buffer",
        )},
        "validation_split": splits["validation"],
        "test_split": splits["test"],
        **vocabulary,
        "min_frequency": given["min_frequency"],
        "vocabulary_sample": given["vocabulary_sample"],
        "vocabulary_file": given["vocabulary_file"],
        **settings,
        "class_weight": class_weight,
        "monitor": given["monitor"],
        "baseline": given["baseline"],
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
    format="auto",
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
    word_vectors=None,
    freeze_vectors=None,
    max_tokens=None,
    min_frequency=None,
    ngrams=None,
    vocabulary_sample=None,
    vocabulary_file=None,
    shuffle_buffer=None,
    class_weight=None,
    monitor="loss",
    baseline="tfidf",
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
        format: str. "auto" (the dialect from the file's name, else from its header), "csv"
            or "tsv", for every file of the run.
        language: str. "en" or "ko". Chooses the tokeniser and the default model.
        tokenizer: str or None. en: "words". ko: "syllables_and_morphemes" (default, each
            text's characters then its kiwipiepy form/TAG morphemes; "syllables" where
            kiwipiepy is not installed, and the run says so), "syllables", "scripts" (both
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
        word_vectors: path or None. A GloVe, word2vec (text or binary) or fastText (`.vec`
            or `.bin`) file, its format read from the content (`datasets.word_vectors`): each
            vocabulary word's embedding starts from its vector (exact match, then
            lower-cased; a fastText `.bin` composes one from subword n-grams for the rest),
            random otherwise. The run prints and stores the coverage (config.json,
            `word_vectors_coverage`); the vectors are saved inside model.keras. Its dimension
            is the embedding width (`embedding_dim`, if given, must equal it). Every model but
            nbsvm. The vectors must come from the run's tokenizer (`seqrecipes vectors
            train`). Defaults to None (a random embedding).
        freeze_vectors: bool or None. Keep the `word_vectors` unchanged in training (True)
            or fine-tune them (False, the default when left out); only with `word_vectors`.
        max_tokens: int or None. Vocabulary size, padding and OOV included. None: 200,000
            for fasttext (words and pairs), 2,000,000 for nbsvm (1-3-grams), 30,000 otherwise.
        min_frequency: int or None. Keep tokens seen at least this often in training. None:
            2 (and refused with `vocabulary_file`, where it does not apply).
        ngrams: int or None. Also count n-grams up to this length. None: 3 for nbsvm (4 on
            Korean syllables, alone or with morphemes), 2 for fasttext, 1 (words only)
            otherwise.
        vocabulary_sample: int or None. Adapt the vocabulary on this many training texts,
            drawn uniformly with `seed`. None: all of them in memory, 100,000 with `stream`.
        vocabulary_file: path or None. Take the vocabulary from this file instead (one token
            per line, most frequent first, as the tokeniser makes them: see
            `datasets.text_vectorizer_from_file`); `max_tokens` and `min_frequency` then do
            not apply.
        shuffle_buffer: int or None. With `stream`: texts in the shuffle buffer. Defaults
            to 10,000.
        class_weight: None, "balanced" or dict of class name -> weight. Scales each training
            text's loss by its class's weight; "balanced" gives class c the weight
            n / (k * n_c) on the training split (scikit-learn's rule), for imbalanced classes.
        monitor: str. The validation figure early stopping watches: "loss" (default),
            "accuracy" or "macro_f1" (computed after every epoch; for imbalanced classes).
        baseline: str. "tfidf" (default) also fits scikit-learn TF-IDF + logistic regression
            on the same training split and reports it beside the model (`baseline.py`);
            "none" skips it.
        run_dir: path. Where the run is written; the same command resumes it.
        overwrite: bool. Replace a complete run in `run_dir`.
        epochs, batch_size, learning_rate, clipnorm, patience, seed, verbose: training.

    Returns:
        A dict: `run_dir`, `config`, `metrics` (as in metrics.json), `history`,
        `best_epoch`, `resumed_from_epoch`, `summary` (the text printed) and `seconds`
        (`total` and `fit`: wall time, kept out of metrics.json so that runs compare equal).
    """
    from seqrecipes.recipes.sentiment import training as _sentiment_train

    config = _resolve(dict(locals()))
    vectors = None
    if config.get("word_vectors") is not None:  # read before any data: a bad file fails fast
        from seqrecipes.recipes.engine import word_vectors as _word_vectors

        vectors, config["embedding_dim"] = _word_vectors.read(config["word_vectors"],
                                                              embedding_dim)
    return _sentiment_train.train(config, run_dir, vectors=vectors)


run = train  # the recipe's entry point, as every recipe has one


def evaluate(run_dir, data, *, text_column=None, label_column=None, format=None, empty="drop",
             batch_size=64):
    """Evaluates a saved run on a labelled table; prints and returns the figures.

    Args:
        run_dir: path of a run written by `train`.
        data: path of a labelled table with the run's classes.
        text_column, label_column: str or None. Defaults to the run's own columns.
        format: str or None. "auto" (from the name, else the header), "csv" or "tsv";
            None: the run's own setting.
        empty: str. "drop" (default), "keep" or "error" for empty documents.
        batch_size: int. Texts per prediction batch.

    Returns:
        A dict: `accuracy`, `macro_f1`, `num_texts`, `classes`, `report`, `report_text`,
        `confusion_matrix`, `num_empty` and `baseline` (the same figures for the run's
        TF-IDF baseline on the same texts; None for a run trained with `baseline="none"`).
    """
    from seqrecipes.datasets import load_table
    from seqrecipes.recipes.sentiment import serve as _sentiment_serve

    _validation.check_string("text_column", text_column, allow_none=True)
    _validation.check_string("label_column", label_column, allow_none=True)
    _validation.check_choice("empty", empty, EMPTY)
    _validation.check_choice("format", format, (None, *FORMATS))
    _validation.check_positive_int("batch_size", batch_size)
    path = _validation.check_existing_file("data", data)
    served = _sentiment_serve.load(run_dir)
    config = served.config
    table = load_table(
        path, text_column=text_column or config["text_column"],
        label_column=label_column or config["label_column"], empty=empty,
        format=format or config.get("format", "auto"),
    )
    label_ids = table.label_ids(served.classes)
    metrics = _classification.classification_metrics(
        label_ids, served.probabilities(table.texts, batch_size=batch_size), served.classes
    )
    metrics["num_empty"] = table.num_empty
    stored = served.run.path / _baseline.FILE  # absent for runs trained with --baseline none
    metrics["baseline"] = (
        _baseline.score(_baseline.from_file(stored), table.texts, label_ids, served.classes)
        if stored.is_file() else None
    )
    compared = ""
    if metrics["baseline"] is not None:
        compared = (f"\nBaseline (the run's TF-IDF + logistic regression): "
                    + _baseline.comparison_line(metrics, {"data": metrics["baseline"]}, "data"))
    print(f"{table.summary()}\nRun {run_dir}: accuracy {metrics['accuracy']:.4f}, macro F1 "
          f"{metrics['macro_f1']:.4f}{compared}\n\n{metrics['report_text']}\nConfusion matrix:\n"
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
        `probabilities(texts, batch_size=64)` (a `(texts, classes)` array),
        `explain(texts)` (each token's attribution, see `explain`), `classes`,
        `config` and `export(export_dir, overwrite=False)`.
    """
    from seqrecipes.recipes.sentiment import serve as _sentiment_serve

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
    from seqrecipes.recipes.sentiment import serve as _sentiment_serve

    _validation.check_positive_int("batch_size", batch_size)
    return _sentiment_serve.load(run_dir).predict(texts, batch_size=batch_size)


def explain(run_dir, texts, **options):
    """Which words made each prediction of a saved run (integrated gradients).

    Loads the run and calls `LoadedRun.explain` (`seqrecipes.recipes.sentiment.explanation`):
    one row per text with each token's attribution to the probability of the explained class
    and the completeness error. Options: `target`, `baseline`, `steps`, `max_steps`,
    `tolerance`.
    """
    from seqrecipes.recipes.sentiment import serve as _sentiment_serve

    return _sentiment_serve.load(run_dir).explain(texts, **options)


def export(run_dir, export_dir, *, overwrite=False, format="savedmodel"):
    """Exports a run for serving: a SavedModel, or an ONNX or LiteRT graph.

    "savedmodel" (default): a TensorFlow SavedModel whose `serve` takes a batch of strings
    and returns the model's output: for two classes `(batch, 1)`, the probability of the
    second class; for more, `(batch, num_classes)` softmax probabilities. Class names, the
    input it expects and the tokeniser are written beside it, in
    ``assets.extra/seqrecipes.json``.

    "onnx", "litert": the classifier over token ids (`model.onnx`, `model.tflite`), its
    vocabulary (`vocabulary.json`) and `seqrecipes.json` (classes, tokeniser settings, the
    graph's inputs and outputs). `seqrecipes.portable.load(export_dir)` serves it from raw
    texts with NumPy and onnxruntime or ai-edge-litert, without TensorFlow. Every model
    family exports to both (LiteRT graphs of recurrent models take one text per call:
    `engine.portable_export.export_graph` says why).

    Returns:
        The `pathlib.Path` of the export directory.
    """
    from seqrecipes.recipes.engine import portable_export as _portable
    from seqrecipes.recipes.sentiment import serve as _sentiment_serve

    _validation.check_bool("overwrite", overwrite)
    _portable.check_format(format)
    return _sentiment_serve.load(run_dir).export(export_dir, overwrite=overwrite,
                                                 format=format)
