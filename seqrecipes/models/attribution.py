"""Integrated gradients from a model's token features (Sundararajan et al., 2017).

The attribution of step t of a text is

    a_t = sum_d (x_td - x'_td) * mean over the path of dF/dz_td,
    z(alpha) = x' + alpha * (x - x'),  alpha in [0, 1],

where x is what a feature layer (an `Embedding`, or a tagger's word-and-characters
`Concatenate`) outputs for the text, x' the baseline and F one scalar output of the model
(a class probability, a span's tag score). The integral is the trapezoid rule over `steps`
equal intervals. Completeness says that sum_t a_t = F(x) - F(x'); the relative error
|sum_t a_t - (F(x) - F(x'))| / max(|F(x) - F(x')|, 1e-4) measures how well the path was
sampled (the floor keeps float noise of a text equal to its baseline from counting), and
the number of steps is doubled (up to `max_steps`) until it is under `tolerance`. Every result
carries its error.

How the path enters the model: while the model runs, the feature layer's `call` is replaced
by one that returns the path points (`_replaced_call`), so the rest of the model (its masks
included: they are still computed from the real token ids) runs as it was saved, whatever its
structure (Sequential, functional, nested). All path points of one text go through the model
as one batch (or a few, of `batch_size` rows): one explanation costs one or a few model calls.

Baselines: "padding" (default) is the layer's output for the padding token at every step of
the text, the text's mask kept: the model sees a text of the same length whose every word is
the padding vector; "zeros" is the zero vector. Padding steps of a batch have x = x' under the
"padding" baseline, so their attribution is exactly 0; a masked step cannot change F, so its
gradient, and its attribution, is 0 under any baseline.

The arithmetic is `keras.ops`; the gradient needs the backend's own differentiation
(`_gradients`): `tf.GradientTape` on TensorFlow, `jax.vjp` on JAX.
"""

import contextlib

import keras
import numpy as np
from keras import ops

from seqrecipes import _validation
from seqrecipes.errors import InvalidArgumentError

BASELINES = ("padding", "zeros")
DEFAULT_STEPS = 32  # enough for bag models; recurrent models often need 64-256
MAX_STEPS = 1024  # steps doubled up to this many while the error is over the tolerance
TOLERANCE = 0.01  # completeness error allowed: 1% of F(x) - F(x')
# |F(x) - F(x')| below this is float noise (rows of one batch differ by ~1e-7): the error is
# measured against this instead, so a text equal to its baseline does not count as wrong.
_TINY = 1e-4


def check_options(baseline, steps, max_steps, tolerance):
    """Checks the options of `integrated_gradients` that every recipe's `explain` takes."""
    if isinstance(baseline, str):
        _validation.check_choice("baseline", baseline, BASELINES)
    _validation.check_positive_int("steps", steps)
    _validation.check_positive_int("max_steps", max_steps)
    _validation.check_conflict(
        max_steps < steps,
        f"`max_steps` must be at least `steps`. Received: steps={steps!r}, "
        f"max_steps={max_steps!r}. Raise --max-steps or lower --steps.",
    )
    _validation.check_fraction("tolerance", tolerance)


@contextlib.contextmanager
def _replaced_call(layer, outputs):
    """Within the block, `layer` returns `outputs` (its mask is still computed from its input)."""
    def call(*args, **kwargs):
        return outputs

    layer.call = call  # an instance attribute shadows the class's `call`
    try:
        yield
    finally:
        del layer.call


def layer_output(model, inputs, layer):
    """Runs `model` on `inputs`; returns (what `layer` output, the model's output)."""
    captured = []
    original = layer.call

    def call(*args, **kwargs):
        result = original(*args, **kwargs)
        captured.append(result)
        return result

    layer.call = call
    try:
        output = model(inputs, training=False)
    finally:
        del layer.call
    return captured[-1], output


def _gradients(model, inputs, layer, path, target):
    """F on every path point and dF/dpath, F = `target(model output)`: one value per row.

    The one backend-specific step of this module: `tf.GradientTape` on TensorFlow,
    `jax.vjp` on JAX (the model runs eagerly on the traced path; its weights are constants).
    Each row's F depends on its own path row only, so the gradient of the summed values is
    every row's own gradient on both.
    """
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        def values_of(points):
            with _replaced_call(layer, points):
                return target(model(inputs, training=False))

        values, pullback = jax.vjp(values_of, ops.convert_to_tensor(path))
        (gradient,) = pullback(ops.ones_like(values))
        return np.asarray(values), np.asarray(gradient)
    if backend != "tensorflow":
        raise InvalidArgumentError(
            "Integrated gradients need the TensorFlow or JAX backend. Received: "
            f"KERAS_BACKEND={backend!r}. Set KERAS_BACKEND=tensorflow or jax."
        )
    import tensorflow as tf

    path = tf.convert_to_tensor(path)
    with tf.GradientTape() as tape:
        tape.watch(path)
        with _replaced_call(layer, path):
            values = target(model(inputs, training=False))
    return values.numpy(), tape.gradient(values, path).numpy()


def _repeat(inputs, times):
    return keras.tree.map_structure(lambda x: ops.repeat(x, times, axis=0), inputs)


def integrated_gradients(
    model,
    inputs,
    layer,
    target,
    *,
    baseline="padding",
    baseline_inputs=None,
    steps=DEFAULT_STEPS,
    max_steps=MAX_STEPS,
    tolerance=TOLERANCE,
    batch_size=256,
):
    """Integrated gradients of one example from the outputs of `layer`.

    Args:
        model: a Keras model containing `layer` (at any depth).
        inputs: the model's input for ONE example (batch dimension 1), a tensor or a dict.
        layer: the feature layer whose output `(1, steps, features)` is attributed.
        target: callable. Model output for a batch -> `(batch,)` tensor F, one scalar per
            row (e.g. `lambda p: p[:, 0]`). Use `keras.ops`.
        baseline: "padding", "zeros" or an array broadcastable to the layer's output. With
            "padding", `baseline_inputs` (the example with every token replaced by padding)
            is run and the layer's output on it is the baseline. Defaults to "padding".
        baseline_inputs: the model input whose feature output is the "padding" baseline.
        steps: int. Trapezoid intervals to start with. Defaults to 32.
        max_steps: int. Steps are doubled up to this many while the error is over
            `tolerance`. Defaults to 1024.
        tolerance: float. Completeness error to reach. Defaults to 0.01.
        batch_size: int. Path points per model call. Defaults to 256.

    Returns:
        A dict: `attributions` (a `(steps,)` NumPy array: one value per position of the
        layer's output, summed over features), `value` F(x), `baseline_value` F(x'),
        `completeness_error` (relative, see the module), `steps` (the number used).

    Raises:
        InvalidArgumentError: a bad argument.
    """
    _validation.check_positive_int("steps", steps)
    _validation.check_positive_int("max_steps", max_steps)
    _validation.check_positive_int("batch_size", batch_size)
    _validation.check_fraction("tolerance", tolerance)
    features, _ = layer_output(model, inputs, layer)
    features = np.asarray(ops.convert_to_numpy(features), dtype="float32")
    if isinstance(baseline, str):
        _validation.check_choice("baseline", baseline, BASELINES)
        if baseline == "zeros":
            reference = np.zeros_like(features)
        else:
            if baseline_inputs is None:
                raise InvalidArgumentError(
                    "`baseline='padding'` needs `baseline_inputs` (the example with every "
                    "token replaced by padding). Pass them, or pass baseline='zeros'."
                )
            reference, _ = layer_output(model, baseline_inputs, layer)
            reference = np.asarray(ops.convert_to_numpy(reference), dtype="float32")
    else:
        reference = np.broadcast_to(np.asarray(baseline, "float32"), features.shape)
    difference = features - reference
    current = min(steps, max_steps)
    if not np.any(difference):  # x = x' (e.g. an empty text): nothing to attribute
        current = 1
    cache = {}  # alpha -> (F, gradient summed against the difference, per position)

    def evaluate(alphas):
        todo = [alpha for alpha in alphas if alpha not in cache]
        for start in range(0, len(todo), batch_size):
            keys = todo[start : start + batch_size]
            chunk = np.array(keys, "float32")
            path = reference + chunk[:, None, None] * difference  # (chunk, T, D)
            values, grads = _gradients(
                model, _repeat(inputs, len(chunk)), layer, path, target
            )
            per_position = (grads * difference).sum(axis=-1)  # (chunk, T)
            for alpha, value, row in zip(keys, values, per_position):
                cache[alpha] = (float(value), row)

    while True:
        alphas = [k / current for k in range(current + 1)]
        evaluate(alphas)
        weights = np.full(current + 1, 1.0 / current)
        weights[[0, -1]] /= 2  # the trapezoid rule
        rows = np.stack([cache[alpha][1] for alpha in alphas])
        attributions = (weights[:, None] * rows).sum(axis=0)
        value, base = cache[1.0][0], cache[0.0][0]
        delta = value - base
        error = abs(attributions.sum() - delta) / max(abs(delta), _TINY)
        if error < tolerance or current * 2 > max_steps or not np.any(difference):
            break
        current *= 2
    return {
        "attributions": attributions,
        "value": value,
        "baseline_value": base,
        "completeness_error": float(error),
        "steps": current,
    }


def fold_ngrams(attributions, num_words, ngrams):
    """Folds n-gram attributions back onto words: each n-gram's share split equally.

    A `TextVectorization(ngrams=...)` id sequence is the words, then every pair, then every
    triple ... (`tf.strings.ngrams` with a tuple of widths); the n-gram starting at word i
    covers words i .. i + n - 1 and gives each of them 1/n of its attribution, so the words'
    attributions sum to the n-grams' (completeness is kept).

    Args:
        attributions: array `(ids,)` in the vectoriser's order.
        num_words: int. Words of the text.
        ngrams: tuple of int. The widths, e.g. (1, 2).

    Returns:
        (word attributions `(num_words,)`, list of (first word, width) for every id).
    """
    spans = [(start, width) for width in ngrams for start in range(num_words - width + 1)]
    if len(spans) != len(attributions):
        raise InvalidArgumentError(
            f"{len(attributions)} n-gram attributions do not match {num_words} words with "
            f"n-gram widths {tuple(ngrams)} ({len(spans)} n-grams)."
        )
    words = np.zeros(num_words)
    for (start, width), value in zip(spans, attributions):
        words[start : start + width] += value / width
    return words, spans
