"""The sentiment recipe's training run, top to bottom: read, vectorise, build, fit, evaluate, save.

`sentiment.train` checks the arguments and hands the complete config here.
"""

import time

import keras

from seqrecipes import datasets
from seqrecipes.recipes import _artifacts, _classification, _model_flags, _plots, _training
from seqrecipes.recipes import _sentiment_text as text

FILES = ("model.keras", "config.json", "metrics.json", "history.csv", "training_curves.png",
         "confusion_matrix.png")


# A text to try `predict` on, in the run's language.
EXAMPLE = {"en": "What a wonderful film", "ko": "정말 재미있는 영화"}


def _compile(model, config, num_classes):
    optimizer = keras.optimizers.Adam(config["learning_rate"], clipnorm=config["clipnorm"])
    loss = "binary_crossentropy" if num_classes == 2 else "sparse_categorical_crossentropy"
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])


def train(config, run_dir):
    started = time.perf_counter()
    state_dir = _training.prepare_run_dir(run_dir, config, overwrite=config["overwrite"])
    language, tokenizer = config["language"], config["tokenizer"]
    text.check_tokenizer_installed(language, tokenizer)

    # TensorFlow's global seed is part of every tf.data shuffle seed from the moment a pipeline
    # is built, so it is set before any pipeline exists (and again before the weights are made).
    keras.utils.set_random_seed(config["seed"])

    # 1. Data: stratified splits, then the Python-side tokeniser (kiwipiepy) if there is one.
    splits = text.read_splits(config)
    train_texts, validation_texts, test_texts = (
        text.pretokenize(part[0], language, tokenizer)
        for part in (splits.train, splits.validation, splits.test)
    )

    # 2. Vocabulary from the training split only; ids computed once and cached.
    vectorizer = datasets.build_text_vectorizer(
        train_texts, max_tokens=config["max_tokens"], min_frequency=config["min_frequency"],
        ngrams=config["ngrams"], **text.VECTORIZER_OPTIONS[(language, tokenizer)],
    )
    train_ids, validation_ids, test_ids = (
        datasets.encode_texts(texts, vectorizer)
        for texts in (train_texts, validation_texts, test_texts)
    )
    batch_size = config["batch_size"]
    train_data = datasets.classification_dataset(
        train_ids, splits.train[1], batch_size=batch_size, shuffle=True, seed=config["seed"]
    )
    validation_data = datasets.classification_dataset(
        validation_ids, splits.validation[1], batch_size=batch_size
    )

    # 3. Model, seeded; trained with early stopping on the validation loss, resumable.
    num_classes = len(splits.classes)
    keras.utils.set_random_seed(config["seed"])
    core = _model_flags.build_classifier(config, vectorizer.vocabulary_size(), num_classes)
    _compile(core, config, num_classes)
    fit_started = time.perf_counter()
    result = _training.fit_resumable(
        core, train_data, validation_data=validation_data, epochs=config["epochs"],
        state_dir=state_dir, config=config, seed=config["seed"], monitor="val_loss",
        mode="min", patience=config["patience"], verbose=config["verbose"],
    )
    fit_seconds = time.perf_counter() - fit_started

    # 4. Test figures, through the same bucketed pipeline (padding cannot change them).
    outputs = datasets.predict_in_order(core, test_ids, batch_size=max(batch_size, 64))
    probabilities = _classification.probabilities(outputs, num_classes)
    test_metrics = _classification.classification_metrics(
        splits.test[1], probabilities, splits.classes
    )
    best = next(row for row in result.history if row["epoch"] == result.best_epoch)
    metrics = {
        "test": test_metrics,
        "validation": {key[4:]: value for key, value in best.items() if key.startswith("val_")},
        "best_epoch": result.best_epoch,
        "epochs_trained": len(result.history),
        "stopped_early": result.stopped_early,
        "sizes": {"train": len(train_texts), "validation": len(validation_texts),
                  "test": len(test_texts), "vocabulary": vectorizer.vocabulary_size()},
        "num_empty": splits.num_empty,
        "parameters": core.count_params(),
    }
    run_config = {**config, "classes": list(splits.classes), "test_from": splits.test_from}
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
    )
    seconds = {"total": time.perf_counter() - started, "fit": fit_seconds}
    summary = _summary(run_dir, run_path, run_config, metrics, splits, result, seconds)
    print(summary)
    return {
        "run_dir": run_path, "config": run_config, "metrics": metrics,
        "history": result.history, "best_epoch": result.best_epoch,
        "resumed_from_epoch": result.resumed_from_epoch, "summary": summary,
        "seconds": seconds,
    }


def _summary(run_dir, run_path, config, metrics, splits, result, seconds):
    sizes, test = metrics["sizes"], metrics["test"]
    held = ("test file" if splits.test_from == "file"
            else f"test {config['test_split']:g} of the data")
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
        f"test {sizes['test']:,} (stratified, seed {config['seed']}; {held})",
        f"  {'tokens':<10} {config['language']} {config['tokenizer']}{grams}, vocabulary "
        f"{sizes['vocabulary']:,} (max {config['max_tokens']:,}, min frequency "
        f"{config['min_frequency']}); input: {config['input']}",
        f"  {'model':<10} {_model_flags.describe_model(config)}; "
        f"{metrics['parameters']:,} parameters",
        f"  {'training':<10} {metrics['epochs_trained']} epochs{resumed}, best {result.best_epoch}"
        f" (val loss {best.get('loss', float('nan')):.4f}, val accuracy "
        f"{best.get('accuracy', float('nan')):.4f}); {stop}",
        f"  {'test':<10} accuracy {test['accuracy']:.4f}, macro F1 {test['macro_f1']:.4f} "
        f"on {test['num_texts']:,} texts",
        "",
        test["report_text"].rstrip(),
        "",
        _classification.confusion_text(test["confusion_matrix"], splits.classes),
        "",
        f"  files      {run_path}/{{{','.join(FILES)}}}",
        f"  next       seqrecipes sentiment predict {run_dir} \"{EXAMPLE[config['language']]}\"",
    ]
    return "\n".join(lines)
