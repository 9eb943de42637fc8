"""A time-series export (ONNX or LiteRT) at work: raw float values in, the series' units out.

The exported graph holds the run's scaling (`recipes.timeseries.serve.serving_model`), so
this reader checks the input and feeds it: regression windows of exactly `window` values
give the value `horizon` steps after each; labelling sequences give a label per step.
"""

import numpy as np

from seqrecipes.errors import InvalidArgumentError
from seqrecipes.portable import runtime


class SeriesModel:
    """A loaded time-series export; `portable.load` builds it.

    Attributes:
        task: str. "regression" or "labelling".
        window: int or None. Values per regression window.
        labels: tuple or None. The labelling task's label names.
    """

    def __init__(self, export_dir, description, *, threads=None):
        self.description = description
        self.task = description["task"]
        self.window = description["window"]
        self.labels = tuple(description["labels"]) if description["labels"] else None
        self.session = runtime.Session(export_dir, description, threads=threads)
        self._input = description["inputs"][0]["name"]

    def _values(self, values, name):
        try:
            array = np.asarray(values, dtype="float64")
        except (TypeError, ValueError) as error:
            raise InvalidArgumentError(
                f"`{name}` must be numbers, one row per {name[:-1]}. Received: "
                f"{values!r:.80}.") from error
        if array.ndim == 1:
            array = array[None]
        expected = f"(rows, {self.window})" if self.window else "(rows, steps)"
        if array.ndim != 2 or array.shape[1] == 0 or (
                self.window and array.shape[1] != self.window):
            raise InvalidArgumentError(
                f"`{name}` must have the shape {expected}"
                + (f": each of exactly window={self.window} values, as the run was trained"
                   if self.window else "") + f". Received: an array of shape {array.shape}.")
        if not np.isfinite(array).all():
            row = int(np.argwhere(~np.isfinite(array))[0][0])
            raise InvalidArgumentError(
                f"`{name}` must hold finite numbers; row {row} has NaN or infinity.")
        return array.astype("float32")

    def predict(self, values):
        """Regression: `(n, window)` windows (or one window) -> `(n,)` predicted values.
        Labelling: `(n, steps)` sequences -> `(n, steps, 2)` label probabilities."""
        if self.task == "regression":
            windows = self._values(values, "windows")
            (outputs,) = self.session.run({self._input: windows})
            return outputs[:, 0].astype("float64")
        sequences = self._values(values, "sequences")
        (outputs,) = self.session.run({self._input: sequences})
        return outputs.astype("float64")

    def predict_labels(self, sequences):
        """Labelling: the most probable label name of every step, one list per sequence."""
        if self.labels is None:
            raise InvalidArgumentError(
                "`predict_labels` serves a labelling export; this one is a regression "
                "export: call `predict(windows)`.")
        return [[self.labels[i] for i in row] for row in self.predict(sequences).argmax(-1)]


def load(export_dir, description, **options):
    return SeriesModel(export_dir, description, **options)
