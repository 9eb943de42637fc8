"""Numeric sequences for recurrent models: chronological splits, sliding windows, regimes.

A time series is split by time, never shuffled across the split: the first part trains, the
next validates, the last tests, and a window belongs to the part that holds the value it
predicts. Its inputs may reach back into the previous part (those values are known at
prediction time); no target of one part is ever an input or target of an earlier part.
"""

import numpy as np
import tensorflow as tf

from seqrecipes import _seeding, _validation
from seqrecipes.datasets.options import without_autotuner
from seqrecipes.errors import InvalidArgumentError


def chronological_split(count, *, validation_fraction=0.15, test_fraction=0.15):
    """Returns `(train_end, validation_end)`: indices `[0, train_end)` train, then validation.

    Example:

    >>> chronological_split(100, validation_fraction=0.2, test_fraction=0.1)
    (70, 90)
    """
    _validation.check_positive_int("count", count)
    _validation.check_fraction("validation_fraction", validation_fraction)
    _validation.check_fraction("test_fraction", test_fraction)
    _validation.check_conflict(
        validation_fraction + test_fraction >= 1,
        "`validation_fraction` + `test_fraction` must leave something to train on. Received: "
        f"validation_fraction={validation_fraction!r}, test_fraction={test_fraction!r}.",
    )
    validation_end = count - int(round(count * test_fraction))
    train_end = validation_end - int(round(count * validation_fraction))
    return train_end, validation_end


def sliding_windows(values, *, window, horizon=1):
    """Every window of `window` consecutive values and the value `horizon` steps after it.

    Args:
        values: 1-D array-like of numbers, in time order.
        window: int. Values per input window.
        horizon: int. 1 predicts the next value.

    Returns:
        `(inputs, targets, target_index)`: inputs `(n, window)`, targets `(n,)` and the index
        in `values` of each target (to assign windows to splits by time).

    Example:

    >>> x, y, at = sliding_windows([1, 2, 3, 4, 5], window=2, horizon=2)
    >>> x.tolist(), y.tolist(), at.tolist()
    ([[1.0, 2.0], [2.0, 3.0]], [4.0, 5.0], [3, 4])
    """
    _validation.check_positive_int("window", window)
    _validation.check_positive_int("horizon", horizon)
    values = np.asarray(values, "float64")
    if values.ndim != 1:
        raise InvalidArgumentError(f"`values` must be 1-D. Received shape {values.shape}.")
    count = len(values) - window - horizon + 1
    if count < 1:
        raise InvalidArgumentError(
            f"The series has {len(values)} values, too few for one window of {window} plus a "
            f"horizon of {horizon}. Use a shorter `window` or a longer series."
        )
    starts = np.arange(count)
    inputs = values[starts[:, None] + np.arange(window)]
    target_index = starts + window - 1 + horizon
    return inputs, values[target_index], target_index


def regime_sequences(count, *, length=100, switch_probability=0.05, seed=0):
    """Generates sequences that switch between a calm and a volatile regime, labelled per step.

    Each sequence follows `x_t = 0.8 x_{t-1} + e_t` where `e_t` has standard deviation 0.3
    in the calm regime (label 0) and 1.5 in the volatile one (label 1). The regime starts at
    random and switches with `switch_probability` at every step, so a frame's label can only
    be inferred from how the values have been moving.

    Returns:
        `(values, labels)`: float32 `(count, length)` and int32 `(count, length)`.

    Example:

    >>> values, labels = regime_sequences(2, length=5, seed=1)
    >>> values.shape, labels.shape, sorted(set(labels.ravel().tolist())) <= [0, 1]
    ((2, 5), (2, 5), True)
    """
    _validation.check_positive_int("count", count)
    _validation.check_positive_int("length", length)
    _validation.check_fraction("switch_probability", switch_probability)
    _validation.check_seed("seed", seed)
    rng = np.random.default_rng(seed)
    switches = rng.random((count, length)) < switch_probability
    labels = (rng.integers(0, 2, size=(count, 1)) + np.cumsum(switches, axis=1)) % 2
    noise = rng.normal(size=(count, length)) * np.where(labels == 1, 1.5, 0.3)
    values = np.zeros((count, length))
    for t in range(length):
        values[:, t] = (0.8 * values[:, t - 1] if t else 0.0) + noise[:, t]
    return values.astype("float32"), labels.astype("int32")


def shuffled_batches(inputs, targets, *, batch_size, seed):
    """Training batches of `(inputs, targets)` arrays, reshuffled every epoch from (seed, epoch).

    The order of each epoch depends on (seed, epoch) only (`seqrecipes._seeding.shuffled`),
    as `fit_resumable` needs to resume a run exactly; the number of batches is declared, so
    Keras knows an epoch's length from the start.
    """
    _validation.check_positive_int("batch_size", batch_size)
    _validation.check_seed("seed", seed)
    size = len(inputs)
    batches = _seeding.shuffled(
        tf.data.Dataset.from_tensor_slices((inputs, targets)), size, seed
    ).batch(batch_size)
    return without_autotuner(
        batches.apply(tf.data.experimental.assert_cardinality(-(-size // batch_size))))
