"""A saved time-series run as a model of raw values, exported as a SavedModel, ONNX or LiteRT.

The trained model reads scaled features; a user has raw values. `serving_model` wraps it
with the run's scaling (the training part's mean and standard deviation, from
`metrics.json`), so every export takes raw float values and answers in the series' units:

- regression: `(batch, window)` windows -> `(batch, 1)` the value `horizon` steps after
  each window (`window_features` in, change from the last value out, as in training);
- labelling: `(batch, steps)` sequences -> `(batch, steps, 2)` the probabilities of "calm"
  and "volatile" at every step.

The wrapper is numeric end to end, so the three formats export the same graph and
`seqrecipes.portable.timeseries` only feeds it.
"""

import keras
from keras import ops

from seqrecipes import _validation
from seqrecipes.errors import RunDirectoryError
from seqrecipes.recipes.engine import artifacts as _artifacts
from seqrecipes.recipes.engine import portable_export as _portable
from seqrecipes.recipes.timeseries import frame_labelling as _frame_labelling

RECIPE = "timeseries"


class _Scaled(keras.layers.Layer):
    """Raw values -> the features the run trained on (`window_features`, or the z-score)."""

    def __init__(self, mean, std, *, relative, **kwargs):
        super().__init__(**kwargs)
        self.mean, self.std, self.relative = float(mean), float(std), relative

    def call(self, values):
        scaled = (values - self.mean) / self.std
        if not self.relative:
            return ops.expand_dims(scaled, -1)
        change = (values - values[:, -1:]) / self.std
        return ops.stack([change, scaled], axis=-1)


class _InSeriesUnits(keras.layers.Layer):
    """The predicted change (scaled) -> the predicted value: last value + std * change."""

    def __init__(self, std, **kwargs):
        super().__init__(**kwargs)
        self.std = float(std)

    def call(self, inputs):
        windows, change = inputs
        return windows[:, -1:] + self.std * change


def load(run_dir):
    """Loads a time-series run; a run of another recipe is refused, naming it."""
    run = _artifacts.load_run(run_dir)
    if run.config.get("recipe") != RECIPE:
        raise RunDirectoryError(
            f"{str(run_dir)!r} holds a {run.config.get('recipe')!r} run, not a time-series "
            "run. Give a directory written by `seqrecipes timeseries train`.")
    return run


def serving_model(run):
    """The run's model with its scaling around it: raw values in, series units out."""
    config, scale = run.config, run.metrics["normalisation"]
    if config["task"] == "regression":
        values = keras.Input(shape=(config["window"],), dtype="float32", name="window")
        change = run.model(_Scaled(scale["mean"], scale["std"], relative=True)(values))
        outputs = _InSeriesUnits(scale["std"])([values, change])
        return keras.Model(values, outputs, name="timeseries_regressor")
    values = keras.Input(shape=(None,), dtype="float32", name="sequence")
    outputs = run.model(_Scaled(scale["mean"], scale["std"], relative=False)(values))
    return keras.Model(values, outputs, name="timeseries_labeller")


def export(run_dir, export_dir, *, overwrite=False, format="savedmodel"):
    """Writes a run as `format` ("savedmodel", "onnx", "litert"); returns the folder's path.

    Every format holds `serving_model(run)`; ONNX and LiteRT exports have `seqrecipes.json`
    beside the graph (task, window, horizon, column, scaling, label names) for
    `seqrecipes.portable.load`. Written atomically (`artifacts.write_export`).
    """
    _validation.check_bool("overwrite", overwrite)
    _portable.check_format(format)
    run = load(run_dir)
    config = run.config
    model = serving_model(run)
    regression = config["task"] == "regression"
    description = {
        "recipe": RECIPE,
        "format": format,
        "run_dir": str(run.path.resolve()),
        "task": config["task"],
        "column": config["column"],
        "window": config["window"] if regression else None,
        "horizon": config["horizon"] if regression else None,
        "normalisation": run.metrics["normalisation"],
        "labels": None if regression else list(_frame_labelling.LABEL_NAMES),
        "input": ("(batch, window) float: the last `window` raw values" if regression
                  else "(batch, steps) float: raw values, any number of steps"),
        "output": (f"(batch, 1): the value {config['horizon']} step(s) after the window, "
                   "in the series' units" if regression
                   else "(batch, steps, 2): probabilities of 'calm' and 'volatile' per step"),
        "versions": _artifacts.package_versions(),
    }
    if format == "savedmodel":
        def describe(staging):
            extra = staging / "assets.extra"
            extra.mkdir(exist_ok=True)
            _portable.write_description(extra, description)

        return _artifacts.export_saved_model(model, export_dir, overwrite=overwrite,
                                             describe=describe)
    description["graph"] = _portable.GRAPH_FILES[format]

    def fill(staging):
        _portable.export_graph(model, staging, format)
        _portable.write_description(staging, description)

    return _artifacts.write_export(export_dir, fill, overwrite=overwrite)
