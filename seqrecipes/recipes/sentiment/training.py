"""The sentiment recipe's training run, top to bottom: read, vectorise, build, fit, evaluate, save.

`sentiment.train` checks the arguments and hands the complete config here.
"""

import time

import keras
import numpy as np

from seqrecipes import datasets
from seqrecipes.models.nbsvm import log_count_ratios
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.recipes.sentiment import baseline as _baseline
from seqrecipes.recipes.engine import artifacts as _artifacts
from seqrecipes.recipes.engine import classification as _classification
from seqrecipes.recipes.sentiment import model as _model_flags
from seqrecipes.recipes.engine import plots as _plots
from seqrecipes.recipes.engine import training as _training
from seqrecipes.recipes.engine import word_vectors as _word_vectors
from seqrecipes.recipes.sentiment import data as text

FILES = ("model.keras", "config.json", "metrics.json", "history.csv", "training_curves.png",
         "confusion_matrix.png")


# A text to try `predict` on, in the run's language.
EXAMPLE = {"en": "What a wonderful film", "ko": "정말 재미있는 영화"}


def _compile(model, config, num_classes):
    optimizer = _training.adam(config["learning_rate"], clipnorm=config["clipnorm"])
    loss = "binary_crossentropy" if num_classes == 2 else "sparse_categorical_crossentropy"
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])


def _vectorizer(config, texts):
    """(texts adapted on, `TextVectorization`): from `vocabulary_file` (None texts), else
    adapted on `texts`, or on `vocabulary_sample` of them drawn with the run's seed."""
    options = text.VECTORIZER_OPTIONS[(config["language"], config["tokenizer"])]
    if config["vocabulary_file"] is not None:
        return None, datasets.text_vectorizer_from_file(
            config["vocabulary_file"], ngrams=config["ngrams"], **options
        )
    sample = config["vocabulary_sample"]
    if sample is not None and sample < len(texts):
        chosen = np.sort(np.random.default_rng(config["seed"]).choice(len(texts), sample,
                                                                       replace=False))
        texts = [texts[i] for i in chosen]
    return len(texts), datasets.build_text_vectorizer(
        texts, max_tokens=config["max_tokens"], min_frequency=config["min_frequency"],
        ngrams=config["ngrams"], **options,
    )


def _class_weights(config, splits):
    """Keras's `class_weight` (class id -> weight) from the run's `class_weight` setting."""
    given, classes = config["class_weight"], splits.classes
    if given is None:
        return None
    if given == "balanced":  # scikit-learn's rule: n / (k * n_c), on the training split
        if config["stream"]:
            counts = np.array([splits.scan.label_counts.get(name, 0) for name in classes])
        else:
            counts = np.bincount(splits.train[1], minlength=len(classes))
        return {index: float(counts.sum() / (len(classes) * count)) if count else 1.0
                for index, count in enumerate(counts)}
    names = [str(name) for name in classes]
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise InvalidArgumentError(
            f"`class_weight` names classes the training data does not have: {unknown}. "
            f"Its classes are {names}."
        )
    return {index: float(given.get(name, 1.0)) for index, name in enumerate(names)}


def _probabilities(model, ids, num_classes, batch_size):
    """(texts, K) class probabilities through the bucketed pipeline, in the texts' order."""
    outputs = datasets.predict_in_order(model, ids, batch_size=max(batch_size, 64))
    return _classification.probabilities(outputs, num_classes)


class _MacroF1(keras.callbacks.Callback):
    """Adds `val_macro_f1` to every epoch's logs, so early stopping can watch it."""

    def __init__(self, ids, label_ids, num_classes, batch_size):
        super().__init__()
        self.ids, self.label_ids = ids, label_ids
        self.num_classes, self.batch_size = num_classes, batch_size

    def on_epoch_end(self, epoch, logs=None):
        logs["val_macro_f1"] = _classification.macro_f1(
            self.label_ids,
            _probabilities(self.model, self.ids, self.num_classes, self.batch_size),
        )


def _fit_baseline(config, splits, class_weight):
    """(report, file bytes) of the TF-IDF baseline on the run's own splits and class weights,
    or (None, None)."""
    if config["baseline"] == "none":
        return None, None
    if config["stream"]:
        return {"skipped": "not fitted under --stream: the training texts are not held in "
                           "memory (fit it on a file that fits with `--baseline tfidf` and no "
                           "--stream)"}, None
    report, pipeline = _baseline.fit_tfidf_baseline(
        splits.train, {"validation": splits.validation, "test": splits.test}, splits.classes,
        language=config["language"], class_weight=class_weight, seed=config["seed"],
    )
    return report, _baseline.to_bytes(pipeline, config["language"])


@_training.releases_locks
def train(config, run_dir, *, vectors=None):
    """Runs the recipe on a checked `config`; `vectors`: the `WordVectors` of
    `config["word_vectors"]`, read by the caller, or None."""
    started = time.perf_counter()
    state_dir = _training.prepare_run_dir(run_dir, config, overwrite=config["overwrite"])
    language, tokenizer = config["language"], config["tokenizer"]
    text.check_tokenizer_installed(language, tokenizer)

    # Seeded before anything random is made (and again before the weights are); the pipelines'
    # shuffles depend on (seed, epoch) only (`_seeding.shuffled`).
    keras.utils.set_random_seed(config["seed"])

    # 1. Data: stratified splits (or a scan of the streamed shards and the validation and test
    # files), then the Python-side tokeniser (kiwipiepy) if there is one.
    if config["stream"]:
        # With a vocabulary file the sample only places the bucket boundaries.
        sample_size = config["vocabulary_sample"] or datasets.streaming.BOUNDARY_SAMPLE
        splits = text.read_stream_splits(config, sample_size)
        sample = text.pretokenize(splits.scan.sample, language, tokenizer)
    else:
        splits = text.read_splits(config)
        sample = text.pretokenize(splits.train[0], language, tokenizer)
    validation_texts, test_texts = (
        text.pretokenize(part[0], language, tokenizer) for part in (splits.validation, splits.test)
    )

    # 2. Vocabulary from the training data only (a file, a sample, or all of it); ids
    # computed once and cached, or per pass for a stream.
    adapted_on, vectorizer = _vectorizer(config, sample)
    validation_ids, test_ids = (
        datasets.encode_texts(texts, vectorizer) for texts in (validation_texts, test_texts)
    )
    batch_size = config["batch_size"]
    if config["stream"]:
        train_data = datasets.stream_classification_dataset(
            splits.scan.paths, vectorizer=vectorizer, text_column=splits.scan.text_column,
            label_column=splits.scan.label_column, class_names=splits.classes,
            format=config.get("format", "auto"), empty=config["empty"], transform=text.pretokenizer(language, tokenizer),
            batch_size=batch_size, sample_texts=sample,
            shuffle_buffer=config["shuffle_buffer"], seed=config["seed"],
        )
        train_size = splits.scan.num_texts
    else:
        train_ids = datasets.encode_texts(sample, vectorizer)
        train_data = datasets.classification_dataset(
            train_ids, splits.train[1], batch_size=batch_size, shuffle=True, seed=config["seed"],
        )
        train_size = len(sample)
    validation_data = datasets.classification_dataset(
        validation_ids, splits.validation[1], batch_size=batch_size
    )

    # The word vectors' rows for the vocabulary; coverage counted on the training texts (a
    # stream's sample of them).
    embeddings = coverage = None
    if vectors is not None:
        if config["stream"]:
            train_ids = datasets.encode_texts(sample, vectorizer)
        embeddings, coverage = _word_vectors.initial_table(
            vectors, vectorizer.get_vocabulary(), train_ids,
            embedding_dim=config["embedding_dim"], seed=config["seed"],
        )

    # 3. Model, seeded; trained with early stopping on the validation loss, resumable.
    num_classes = len(splits.classes)
    ratios = None
    if config["model"] == "nbsvm":  # its naive-Bayes ratios: one pass over the training data
        ratios = log_count_ratios(train_data, vectorizer.vocabulary_size(), num_classes)
    keras.utils.set_random_seed(config["seed"])
    core = _model_flags.build_classifier(config, vectorizer.vocabulary_size(), num_classes,
                                         log_count_ratios=ratios, embeddings=embeddings)
    _compile(core, config, num_classes)
    callbacks, monitor = [], f"val_{config['monitor']}"
    if config["monitor"] == "macro_f1":
        callbacks.append(_MacroF1(validation_ids, splits.validation[1], num_classes,
                                  batch_size))
    class_weight = _class_weights(config, splits)
    fit_started = time.perf_counter()
    result = _training.fit_resumable(
        core, train_data, validation_data=validation_data, epochs=config["epochs"],
        state_dir=state_dir, config=config, seed=config["seed"], monitor=monitor,
        mode="min" if config["monitor"] == "loss" else "max", patience=config["patience"],
        verbose=config["verbose"], callbacks=callbacks, class_weight=class_weight,
    )
    fit_seconds = time.perf_counter() - fit_started

    # 4. Test figures, through the same bucketed pipeline (padding cannot change them).
    probabilities = _probabilities(core, test_ids, num_classes, batch_size)
    test_metrics = _classification.classification_metrics(
        splits.test[1], probabilities, splits.classes
    )
    validation_metrics = _classification.classification_metrics(
        splits.validation[1], _probabilities(core, validation_ids, num_classes, batch_size),
        splits.classes,
    )
    best = next(row for row in result.history if row["epoch"] == result.best_epoch)
    baseline_started = time.perf_counter()
    baseline, baseline_file = _fit_baseline(config, splits, class_weight)
    baseline_seconds = time.perf_counter() - baseline_started
    metrics = {
        "test": test_metrics,
        "validation": {
            **{key[4:]: value for key, value in best.items() if key.startswith("val_")},
            "accuracy": validation_metrics["accuracy"],
            "macro_f1": validation_metrics["macro_f1"],
        },
        "baseline": baseline,
        "best_epoch": result.best_epoch,
        "epochs_trained": len(result.history),
        "stopped_early": result.stopped_early,
        "sizes": {"train": train_size, "validation": len(validation_texts),
                  "test": len(test_texts), "vocabulary": vectorizer.vocabulary_size(),
                  "vocabulary_adapted_on": adapted_on},
        "num_empty": splits.num_empty,
        "parameters": core.count_params(),
    }
    run_config = {**config, "classes": list(splits.classes), "test_from": splits.test_from}
    if coverage is not None:
        run_config["word_vectors_coverage"] = coverage
    model = datasets.with_text_input(core, vectorizer, name="sentiment")
    predicted = probabilities.argmax(axis=1)
    run_path = _artifacts.write_run(
        run_dir, model=model, config=run_config, metrics=metrics, history=result.history,
        figures={
            "training_curves.png": _plots.training_curves(result.history, title="Sentiment"),
            "confusion_matrix.png": _plots.confusion_matrix(
                splits.test[1], predicted, splits.classes, title="Test confusion matrix"
            ),
        },
        files={_baseline.FILE: baseline_file} if baseline_file is not None else None,
    )
    seconds = {"total": time.perf_counter() - started, "fit": fit_seconds,
               "baseline": baseline_seconds}
    summary = _summary(run_dir, run_path, run_config, metrics, splits, result, seconds)
    print(summary)
    return {
        "run_dir": run_path, "config": run_config, "metrics": metrics,
        "history": result.history, "best_epoch": result.best_epoch,
        "resumed_from_epoch": result.resumed_from_epoch, "summary": summary,
        "seconds": seconds,
    }


def _vocabulary_source(config, sizes):
    if config["vocabulary_file"] is not None:
        return f"from {config['vocabulary_file']}"
    sample = (f", adapted on {sizes['vocabulary_adapted_on']:,} texts drawn at random"
              if sizes["vocabulary_adapted_on"] < sizes["train"] else "")
    return f"max {config['max_tokens']:,}, min frequency {config['min_frequency']}{sample}"


def _baseline_files(metrics):
    stored = metrics["baseline"] is not None and "skipped" not in metrics["baseline"]
    return (_baseline.FILE,) if stored else ()


def _baseline_lines(metrics, seconds):
    baseline = metrics["baseline"]
    if baseline is None:
        return []
    if "skipped" in baseline:
        return [f"  {'baseline':<10} {baseline['skipped']}"]
    return [
        f"  {'baseline':<10} {baseline['model']}, fitted on the same training split in "
        f"{seconds['baseline']:.1f} s:",
        *(f"  {'':<10} {_baseline.comparison_line(metrics[split], baseline, split)}"
          for split in ("validation", "test")),
    ]


def _summary(run_dir, run_path, config, metrics, splits, result, seconds):
    sizes, test = metrics["sizes"], metrics["test"]
    grams = f" + {config['ngrams']}-grams" if config["ngrams"] > 1 else ""
    best = metrics["validation"]
    stop = (f"early stop (patience {config['patience']})" if result.stopped_early
            else f"max {config['epochs']} epochs")
    resumed = (f", resumed after epoch {result.resumed_from_epoch}"
               if result.resumed_from_epoch else "")
    lines = [
        f"Sentiment run {run_path}  ({seconds['total']:.1f} s, training {seconds['fit']:.1f} s)",
        *(f"  {name:<10} {line}" for name, line in splits.sources.items()),
        f"  {'split':<10} train {sizes['train']:,} / validation {sizes['validation']:,} / "
        f"test {sizes['test']:,} ({splits.held_out})",
        f"  {'tokens':<10} {config['language']} {config['tokenizer']}{grams}, vocabulary "
        f"{sizes['vocabulary']:,} ({_vocabulary_source(config, sizes)}); input: {config['input']}",
        *([f"  {'':<10} note: {config['tokenizer_note']}"] if config.get("tokenizer_note")
          else []),
        f"  {'model':<10} {_model_flags.describe_model(config)}; "
        f"{metrics['parameters']:,} parameters",
        *([f"  {'vectors':<10} {datasets.coverage_line(config['word_vectors_coverage'])}"]
          if config.get("word_vectors_coverage") else []),
        f"  {'training':<10} {metrics['epochs_trained']} epochs{resumed}, best {result.best_epoch}"
        f" (val loss {best.get('loss', float('nan')):.4f}, val accuracy "
        f"{best.get('accuracy', float('nan')):.4f}); {stop}",
        f"  {'test':<10} accuracy {test['accuracy']:.4f}, macro F1 {test['macro_f1']:.4f} "
        f"on {test['num_texts']:,} texts",
        *_baseline_lines(metrics, seconds),
        "",
        test["report_text"].rstrip(),
        "",
        _classification.confusion_text(test["confusion_matrix"], splits.classes),
        "",
        f"  files      {run_path}/{{{','.join(FILES + _baseline_files(metrics))}}}",
        f"  next       seqrecipes sentiment predict {run_dir} \"{EXAMPLE[config['language']]}\"",
    ]
    return "\n".join(lines)
