"""Section 5 of bench/speed.py: `jit_compile` (XLA) and `unroll`, on and off, short fixed lengths.

Keras's `jit_compile="auto"` is off on a CPU-only TensorFlow (`Trainer._resolve_auto_jit_compile`),
and `unroll=False` is the layers' default. Each model below trains on random data of one fixed
length (batch 32; no padding, so one shape and one compilation), in four variants: neither,
`jit_compile=True`, `unroll=True`, both. The warm-up (tracing, XLA compilation) and the
steady train-step time are reported; the fastest of the timed passes counts.

    timeseries  the timeseries recipe's default: LSTM 32 over windows of 30 values (2 features)
    tagger      NER-like: Embedding 100 (mask_zero) -> BiLSTM 100 -> Dense 9 per step
    classifier  Embedding 128 (mask_zero) -> LSTM 128 -> Dense 1
    cnn         the Korean sentiment default, CNN 2/3/4/5 x 128 (jit only: nothing to unroll)

Measured (README, "Performance"): no recipe turns either on. The sentiment and NER recipes
train on length buckets, where `unroll` cannot apply (it needs one fixed length) and XLA
compiles once per distinct batch shape (a fixed-shape warm-up took 3-4 s here, and buckets
make dozens of shapes); on the CNN, XLA steps were 2.4x slower. The timeseries recipe (fixed windows of 30) gained 2.2x per step with XLA
in one run and lost 0.7x in another, and pays 2-3 s of compilation per function (train,
evaluate, predict) for a few hundred steps: no reliable win. `unroll` gained 1.3-1.9x only on
8-16-step bidirectional taggers, a fixed length no recipe trains on.
"""

import time

import keras
import numpy as np
import tensorflow as tf

from seqrecipes.models import wiring
from seqrecipes.recipes import sentiment
from seqrecipes.recipes.sentiment import model as _model_flags

BATCH, VOCABULARY = 32, 20000
VARIANTS = {"plain": (False, False), "jit": (True, False), "unroll": (False, True),
            "jit+unroll": (True, True)}


def _recurrent(kind, length, unroll):
    if kind == "timeseries":
        inputs = keras.Input((length, 2))
        outputs = keras.layers.Dense(1)(keras.layers.LSTM(32, unroll=unroll)(inputs))
        return keras.Model(inputs, outputs), "mse", (length, 2), ()
    inputs = keras.Input((length,), dtype="int32")
    if kind == "tagger":
        x = keras.layers.Embedding(VOCABULARY, 100, mask_zero=True)(inputs)
        every_step = wiring.return_sequences(1, "many_to_many")[0]
        layer = keras.layers.LSTM(100, return_sequences=every_step, unroll=unroll)
        x = keras.layers.Bidirectional(layer)(x)
        outputs = keras.layers.Dense(9, activation="softmax")(x)
        return keras.Model(inputs, outputs), "sparse_categorical_crossentropy", None, (length,)
    x = keras.layers.Embedding(VOCABULARY, 128, mask_zero=True)(inputs)
    outputs = keras.layers.Dense(1, activation="sigmoid")(keras.layers.LSTM(128,
                                                                            unroll=unroll)(x))
    return keras.Model(inputs, outputs), "binary_crossentropy", None, ()


def _cnn():
    settings = _model_flags.resolve_model_settings(
        "cnn", {}, defaults=sentiment.MODEL_DEFAULTS[("ko", "cnn")]
    )
    return _model_flags.build_classifier(settings, VOCABULARY, 2), "binary_crossentropy"


def _data(kind, length, steps, rng):
    if kind == "timeseries":
        x = rng.normal(size=(steps * BATCH, length, 2)).astype("float32")
        y = rng.normal(size=(steps * BATCH,)).astype("float32")
    else:
        x = rng.integers(2, VOCABULARY, size=(steps * BATCH, length)).astype("int32")
        shape = (steps * BATCH, length) if kind == "tagger" else (steps * BATCH,)
        y = rng.integers(0, 9 if kind == "tagger" else 2, size=shape).astype("int32")
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH, drop_remainder=True).cache()
    for _ in data:
        pass
    return data


def _time(kind, length, jit, unroll, data, steps, repeats):
    keras.utils.set_random_seed(0)
    if kind == "cnn":
        model, loss = _cnn()
    else:
        model, loss, _, _ = _recurrent(kind, length, unroll)
    model.compile(optimizer="adam", loss=loss, jit_compile=jit)
    start = time.perf_counter()
    model.fit(data.take(2), epochs=1, verbose=0)
    warm_up = time.perf_counter() - start
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        model.fit(data, epochs=1, verbose=0)
        best = min(best, (time.perf_counter() - start) / steps)
    return warm_up, best


def measure(*, quick, echo=print):
    steps, repeats = (20, 3) if quick else (60, 3)
    cases = [("timeseries", 30), ("tagger", 8), ("tagger", 16), ("classifier", 8),
             ("classifier", 16), ("cnn", 16)]
    if not quick:
        cases += [("tagger", 32), ("classifier", 32), ("cnn", 32)]
    rng = np.random.default_rng(0)
    results = []
    for kind, length in cases:
        data = _data(kind, length, steps, rng)
        variants = {"plain": VARIANTS["plain"], "jit": VARIANTS["jit"]} if kind == "cnn" \
            else VARIANTS
        row = {"model": kind, "length": length}
        for name, (jit, unroll) in variants.items():
            if jit and unroll and length >= 32:
                # XLA compiling an unrolled loop of 32 steps took 70-180 s here: never a default
                row[name] = {"error": "skipped: XLA compiles an unrolled loop for minutes"}
                continue
            try:
                warm_up, step = _time(kind, length, jit, unroll, data, steps, repeats)
                row[name] = {"step_ms": round(1000 * step, 2), "warm_up_s": round(warm_up, 1)}
            except Exception as error:  # an XLA failure is a result too
                row[name] = {"error": f"{type(error).__name__}: {str(error)[:120]}"}
        plain = row["plain"]["step_ms"]
        cells = []
        for name in variants:
            entry = row[name]
            if "error" in entry:
                cells.append(f"{name} {entry['error'].split(':')[0]}")
                continue
            entry["speedup"] = round(plain / entry["step_ms"], 2)
            cells.append(f"{name} {entry['step_ms']:6.1f} ms ({entry['speedup']:.2f}x, warm-up "
                         f"{entry['warm_up_s']:.1f} s)")
        echo(f"  {kind:10s} length {length:3d}: " + "; ".join(cells))
        results.append(row)
    return results
