"""Time-series recipe: next-value regression on windows of a CSV column, or frame labelling.

    seqrecipes timeseries train                             # the embedded daily series
    seqrecipes timeseries train --data prices.csv --column close --window 30 --horizon 1
    seqrecipes timeseries train --task labelling            # generated regimes, a label per step
    seqrecipes timeseries export runs/timeseries served --format onnx   # raw values in

Regression (many-to-one, `build_sequence_regressor`): the series is split in time order (first
70% train, next 15% validation, last 15% test; a window belongs to the part holding the value
it predicts) and every figure is computed on the test part, beside the naive baseline
"the value `horizon` steps ahead equals the last known value". The mean and standard deviation
that scale the data come from the training part only. Each step of a window gives two
features: the value minus the window's last value, and the value standardised; the model
predicts the change from the last value, so a trend that leaves the training range does not
take the inputs with it.

Labelling (many-to-many, `build_sequence_tagger(input_dim=1)`): generated sequences switch
between a calm and a volatile regime (`regime_sequences`); the model labels every step, and
is compared with the majority label and with the best threshold on |x_t - x_(t-1)|.
"""

import dataclasses
import pathlib

import numpy as np

from seqrecipes import _validation
from seqrecipes.models import wiring
from seqrecipes.recipes.engine import artifacts as _artifacts
from seqrecipes.recipes.engine import flags as _cli
from seqrecipes.recipes.timeseries import frame_labelling as _frame_labelling
from seqrecipes.recipes.engine import plots as _plots
from seqrecipes.recipes.engine import training as _training

RECIPE = "timeseries"
FORMATS = ("auto", "csv", "tsv")  # `load_series`'s: auto reads the dialect from the name
TASKS = ("regression", "labelling")
# The settings each task reads, with their defaults: they are None in `run`'s signature, so
# that one given to the task that does not read it is refused (`check_settings_used`).
TASK_DEFAULTS = {
    "regression": {"data": None, "column": "value", "format": "auto", "window": 30,
                   "horizon": 1, "validation_fraction": 0.15, "test_fraction": 0.15},
    "labelling": {"train_sequences": 800, "validation_sequences": 100, "test_sequences": 100,
                  "sequence_steps": 100},
}


@dataclasses.dataclass
class TimeseriesResult:
    """What `run` produced."""

    run_dir: pathlib.Path
    metrics: dict
    history: list


def error_metrics(truth, prediction):
    """Mean absolute error and root mean squared error, in the series' own units."""
    error = np.asarray(prediction, "float64") - np.asarray(truth, "float64")
    return {"mae": float(np.abs(error).mean()), "rmse": float(np.sqrt((error**2).mean()))}


def scaling(values, train_end):
    """Mean and standard deviation of the training part `values[:train_end]` only."""
    train = np.asarray(values[:train_end], "float64")
    std = float(train.std())
    return float(train.mean()), std if std > 0 else 1.0


def window_features(inputs, mean, std):
    """`(n, window)` raw windows -> `(n, window, 2)`: change from the last value, z-score."""
    relative = (inputs - inputs[:, -1:]) / std
    return np.stack([relative, (inputs - mean) / std], axis=-1).astype("float32")


def _regression_data(values, window, horizon, validation_fraction, test_fraction):
    from seqrecipes.datasets.series import chronological_split, sliding_windows

    inputs, targets, at = sliding_windows(values, window=window, horizon=horizon)
    train_end, validation_end = chronological_split(
        len(values), validation_fraction=validation_fraction, test_fraction=test_fraction
    )
    parts = {
        "train": at < train_end,
        "validation": (at >= train_end) & (at < validation_end),
        "test": at >= validation_end,
    }
    for name, selected in parts.items():
        _validation.check_conflict(
            not selected.any(),
            f"The {name} part of the series holds no window (series of {len(values)} values, "
            f"window={window}, horizon={horizon}). Use a longer series or a shorter window.",
        )
    return inputs, targets, at, parts, train_end


def _regression(values, config, state_dir, train_flags):
    import keras

    from seqrecipes.datasets.series import shuffled_batches
    from seqrecipes.models import build_sequence_regressor

    window, horizon = config["window"], config["horizon"]
    inputs, targets, at, parts, train_end = _regression_data(
        values, window, horizon, config["validation_fraction"], config["test_fraction"]
    )
    mean, std = scaling(values, train_end)
    features = window_features(inputs, mean, std)
    change = ((targets - inputs[:, -1]) / std).astype("float32")

    keras.utils.set_random_seed(train_flags["seed"])
    model = build_sequence_regressor(
        2, cell=config["cell"], units=config["units"], sequence_length=window,
        dropout=config["dropout"],
    )
    model.compile(_training.adam(train_flags["learning_rate"],
                                  clipnorm=train_flags["clipnorm"]),
                  loss="mse", metrics=["mae"])
    train, validation = parts["train"], parts["validation"]
    train_data = shuffled_batches(features[train], change[train],
                                  batch_size=train_flags["batch_size"], seed=train_flags["seed"])
    validation_data = (features[validation], change[validation])  # in time order
    result = _training.fit_resumable(
        model, train_data, validation_data=validation_data, epochs=train_flags["epochs"],
        state_dir=state_dir, config=config, seed=train_flags["seed"],
        patience=train_flags["patience"], verbose=train_flags["verbose"],
    )
    predicted = inputs[:, -1] + std * model.predict(features, verbose=0)[:, 0]
    baseline = inputs[:, -1]  # the last known value
    metrics = {"normalisation": {"mean": mean, "std": std, "train_values": int(train_end)}}
    for name in ("validation", "test"):
        selected = parts[name]
        metrics[name] = {
            "windows": int(selected.sum()),
            "model": error_metrics(targets[selected], predicted[selected]),
            "last_value_baseline": error_metrics(targets[selected], baseline[selected]),
        }
    test = parts["test"]
    figure = _prediction_figure(at[test], targets[test], predicted[test], baseline[test],
                                horizon, config["column"])
    return model, result, metrics, figure


def _prediction_figure(index, truth, predicted, baseline, horizon, column):
    plt = _plots.pyplot()

    figure, axis = plt.subplots(figsize=(9, 3.4))
    axis.plot(index, truth, color="black", linewidth=1.2, label="truth")
    axis.plot(index, baseline, color="tab:gray", linewidth=0.9, linestyle="--",
              label=f"last value (MAE {np.abs(baseline - truth).mean():.2f})")
    axis.plot(index, predicted, color="tab:red", linewidth=1.2,
              label=f"model (MAE {np.abs(predicted - truth).mean():.2f})")
    axis.set_xlabel("row of the series (test part)")
    axis.set_ylabel(column)
    axis.set_title(f"{column}: {horizon} step(s) ahead on the test part")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


@_training.releases_locks
def run(
    *,
    task="regression",
    data=None,
    column=None,
    format=None,
    window=None,
    horizon=None,
    validation_fraction=None,
    test_fraction=None,
    train_sequences=None,
    validation_sequences=None,
    test_sequences=None,
    sequence_steps=None,
    cell="lstm",
    units=32,
    dropout=0.0,
    run_dir="runs/timeseries",
    overwrite=False,
    epochs=30,
    batch_size=32,
    learning_rate=0.003,
    clipnorm=None,
    patience=5,
    seed=1234,
    verbose=1,
):
    """Trains a next-value regressor on a CSV column, or a frame labeller on generated data.

    Args:
        task: str. "regression" (many-to-one on windows of a series) or "labelling"
            (many-to-many on generated regime sequences).
        data: str, path or None. CSV / TSV with a header (regression); None uses the
            embedded daily series (`sample_path("timeseries")`).
        column: str. The numeric column. Defaults to "value".
        format: str. "auto" (the dialect from the name, else the header), "csv" or "tsv".
        window: int. Values per input window. Defaults to 30.
        horizon: int. How many steps ahead to predict; 1 is the next value (the default).
        validation_fraction, test_fraction: float. Time-ordered parts of the series.
            Default to 0.15 each.
        train_sequences, validation_sequences, test_sequences, sequence_steps: int. Sizes of
            the generated labelling data (800, 100, 100 sequences of 100 steps by default).
        Each of `data` to `test_fraction` is read by "regression" only, and each of
        `train_sequences` to `sequence_steps` by "labelling" only: given to the other task,
        it is refused, not ignored (`TASK_DEFAULTS`).
        cell, units, dropout: the recurrent stack, as in `recurrent_stack`.
        run_dir, overwrite, epochs, batch_size, learning_rate, clipnorm, patience, seed,
            verbose: training, as every recipe has them (`fit_resumable`).

    Returns:
        A `TimeseriesResult`.
    """
    from seqrecipes.datasets import load_series, sample_path

    _validation.check_choice("task", task, TASKS)
    given = {name: value for name, value in locals().items()
             if name in TASK_DEFAULTS["regression"] or name in TASK_DEFAULTS["labelling"]}
    _validation.check_settings_used("task", task, TASK_DEFAULTS, given)
    given = _validation.with_defaults(
        given, {**TASK_DEFAULTS["regression"], **TASK_DEFAULTS["labelling"]})
    column, format, window, horizon = (given[name] for name in (
        "column", "format", "window", "horizon"))
    validation_fraction, test_fraction = given["validation_fraction"], given["test_fraction"]
    train_sequences, validation_sequences, test_sequences, sequence_steps = (
        given[name] for name in (
            "train_sequences", "validation_sequences", "test_sequences", "sequence_steps"))
    _validation.check_string("column", column)
    _validation.check_choice("format", format, FORMATS)
    _validation.check_choice("cell", cell, wiring.CELLS)
    units = _validation.check_positive_ints("units", units)
    for name, value in (("window", window), ("horizon", horizon),
                        ("train_sequences", train_sequences),
                        ("validation_sequences", validation_sequences),
                        ("test_sequences", test_sequences), ("sequence_steps", sequence_steps)):
        _validation.check_positive_int(name, value)
    _validation.check_fraction("dropout", dropout)
    _validation.check_fraction("validation_fraction", validation_fraction)
    _validation.check_fraction("test_fraction", test_fraction)
    _cli.check_training_arguments(
        overwrite=overwrite, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
        clipnorm=clipnorm, patience=patience, seed=seed, verbose=verbose,
    )
    config = {
        "recipe": RECIPE, "task": task, "data": None if data is None else str(data),
        "column": column, "format": format, "window": window, "horizon": horizon,
        "validation_fraction": validation_fraction, "test_fraction": test_fraction,
        "train_sequences": train_sequences, "validation_sequences": validation_sequences,
        "test_sequences": test_sequences, "sequence_steps": sequence_steps, "cell": cell,
        "units": list(units), "dropout": dropout, "epochs": epochs, "batch_size": batch_size,
        "learning_rate": learning_rate, "clipnorm": clipnorm, "patience": patience,
        "seed": seed, "verbose": verbose, "overwrite": overwrite,
    }
    state_dir = _training.prepare_run_dir(run_dir, config, overwrite=overwrite)
    train_flags = {"epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate,
                   "clipnorm": clipnorm, "patience": patience, "seed": seed,
                   "verbose": verbose}
    if task == "regression":
        path = sample_path("timeseries") if data is None else data
        values = load_series(path, column, format=format)
        config["data"] = str(path)
        model, result, metrics, figure = _regression(values, config, state_dir, train_flags)
    else:
        model, result, metrics, figure = _frame_labelling.train(config, state_dir, train_flags)
    metrics.update(best_epoch=result.best_epoch, epochs_trained=len(result.history),
                   stopped_early=result.stopped_early)
    path = _artifacts.write_run(
        run_dir, model=model, config=config, metrics=metrics, history=result.history,
        figures={"training_curves.png": _plots.training_curves(result.history, title=RECIPE),
                 "predictions.png": figure},
    )
    _report(task, metrics, path)  # whatever `verbose` is: it sets the progress display only
    return TimeseriesResult(path, metrics, result.history)


train = run  # every recipe's training entry point is `train`; `run` is kept as its alias


def export(run_dir, export_dir, *, overwrite=False, format="savedmodel"):
    """Exports a run for serving: raw values in, the series' units (or labels) out.

    The run's model is wrapped with its scaling (`serve.serving_model`): a regression export
    takes `(batch, window)` raw windows and returns `(batch, 1)` the value `horizon` steps
    on; a labelling export takes `(batch, steps)` raw values and returns `(batch, steps, 2)`
    probabilities of "calm" and "volatile".

    Args:
        run_dir: path of a run written by `train`.
        export_dir: str or path-like. The folder to write (new, or empty).
        overwrite: bool. Replace an export already there.
        format: str. "savedmodel" (TensorFlow, `tf.saved_model.load(dir).serve(x)`), "onnx"
            or "litert" (the graph with `seqrecipes.json` beside it, for
            `seqrecipes.portable.load(dir)`: NumPy and the format's runtime, no TensorFlow).

    Returns:
        The `pathlib.Path` of the export directory.
    """
    from seqrecipes.recipes.engine import portable_export as _portable
    from seqrecipes.recipes.timeseries import serve as _serve

    _validation.check_bool("overwrite", overwrite)
    _portable.check_format(format)
    return _serve.export(run_dir, export_dir, overwrite=overwrite, format=format)


def _report(task, metrics, path):
    test = metrics["test"]
    if task == "regression":
        print(f"test ({test['windows']} windows): model MAE {test['model']['mae']:.3f}, RMSE "
              f"{test['model']['rmse']:.3f}; last-value baseline MAE "
              f"{test['last_value_baseline']['mae']:.3f}, RMSE "
              f"{test['last_value_baseline']['rmse']:.3f}")
    else:
        print(f"test ({test['frames']} frames): model accuracy {test['model_accuracy']:.3f}; "
              f"majority {test['majority_baseline_accuracy']:.3f}, jump threshold "
              f"{test['jump_threshold_baseline_accuracy']:.3f}")
    print(f"run written to {path}")
