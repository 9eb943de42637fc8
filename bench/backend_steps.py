"""Training-step time on each Keras backend (TensorFlow, JAX, PyTorch); LazyAdam's update on JAX.

Two models, the shapes of issue 21's measurements, synthetic ids (speed does not depend on
the words), right-padded batches with masks:

* classifier: `build_sequence_classifier`, BiLSTM(64), embedding 64, vocabulary 20,000,
  T=200, batch 64, compiled with `LazyAdam`;
* tagger: `build_ner_tagger`, BiLSTM(100) + CRF, embedding 100, 9 tags, T=40, batch 32,
  compiled with `LazyAdam`.

Each backend runs in its own child process (Keras fixes its backend at import), one after the
other; a step is `train_on_batch` on the same batch, after warm-up steps that compile it; the
median of the timed steps is printed in ms. PyTorch (`--backends torch`, with torch installed:
`pip install torch==2.13.0` takes the CPU build this machine has on disk) is measured, not
offered for training: with a mask (and an `Embedding` with `mask_zero` always makes one),
Keras 3.15 sends its LSTM and GRU to the generic loop over time steps
(`keras/src/backend/torch/rnn.py` raises NotImplementedError for a mask; its fused path is
CUDA only). It times 1 warm-up step and 3 steps (`SLOW`). On JAX it also times the optimizer
update alone for a 20,000 x 100 embedding table (jitted `stateless_apply`): LazyAdam's masked
dense update against Keras's Adam.

    taskset -c 1 python bench/backend_steps.py [--backends tensorflow jax]
"""

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
WARMUP = 3  # steps that trace / compile the step function
TIMED = {"classifier": 10, "tagger": 20}  # ~0.3-0.5 s and ~0.1 s a step on this CPU
SLOW = {"torch"}  # eager steps: 1 warm-up, 3 timed


def _batch(rng, batch, steps, vocabulary):
    lengths = rng.integers(steps // 4, steps + 1, size=batch)
    ids = rng.integers(2, vocabulary, size=(batch, steps)).astype("int32")
    ids[np.arange(steps)[None, :] >= lengths[:, None]] = 0  # right padding, masked
    return ids


def _time_steps(model, x, y, count):
    import keras

    if keras.backend.backend() in SLOW:
        count, warmup = 3, 1
    else:
        warmup = WARMUP
    for _ in range(warmup):
        model.train_on_batch(x, y)
    times = []
    for _ in range(count):
        start = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def _optimizer_update_ms(optimizer_class):
    """JAX: ms of one jitted `stateless_apply` on a 20,000 x 100 table, 40 x 32 rows used."""
    import jax

    from seqrecipes.models import Embedding

    layer = Embedding(20000, 100)
    layer.build()
    table = layer.embeddings
    optimizer = optimizer_class(1e-3)
    optimizer.build([table])
    rng = np.random.default_rng(0)
    gradient = np.zeros((20000, 100), "float32")
    gradient[rng.integers(0, 20000, size=40 * 32)] = rng.normal(size=(40 * 32, 100))
    apply = jax.jit(optimizer.stateless_apply)
    state = ([v.value for v in optimizer.variables], [table.value])
    times = []
    for index in range(WARMUP + 20):
        start = time.perf_counter()
        weights, variables = apply(state[0], [gradient], state[1])  # Keras returns them so
        jax.block_until_ready(weights)
        if index >= WARMUP:
            times.append(time.perf_counter() - start)
        state = (variables, weights)
    return 1000 * statistics.median(times)


def child():
    import keras

    from seqrecipes.models import LazyAdam, build_ner_tagger, build_sequence_classifier

    def report(name, value):  # as soon as measured: a slow backend may not get further
        print(f"{keras.backend.backend():10s} {name:22s} {value:9.1f} ms", flush=True)

    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)
    classifier = build_sequence_classifier(20000, 2, cell="lstm", units=64, bidirectional=True)
    classifier.compile(optimizer=LazyAdam(1e-3), loss="binary_crossentropy")  # 1 sigmoid
    x = _batch(rng, 64, 200, 20000)
    y = rng.integers(0, 2, size=(64, 1)).astype("float32")
    report("classifier", _time_steps(classifier, x, y, TIMED["classifier"]))
    tagger = build_ner_tagger(20000, 9, embedding_dim=100, units=100)
    tagger.compile(optimizer=LazyAdam(1e-3))
    x = _batch(rng, 32, 40, 20000)
    report("tagger", _time_steps(tagger, {"token_ids": x}, rng.integers(0, 9, size=x.shape),
                                 TIMED["tagger"]))
    if keras.backend.backend() == "jax":
        report("update LazyAdam", _optimizer_update_ms(LazyAdam))
        report("update Adam", _optimizer_update_ms(keras.optimizers.Adam))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax"],
                        choices=["tensorflow", "jax", "torch"])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child()
    print("classifier: masked BiLSTM(64), T=200, batch 64, LazyAdam; tagger: masked "
          "BiLSTM(100)+CRF, T=40, batch 32, LazyAdam; median ms per training step")
    for backend in args.backends:
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3",
               "PYTHONPATH": str(ROOT)}
        subprocess.run([sys.executable, __file__, "--child"], env=env, check=True)
    return 0

if __name__ == "__main__":
    sys.exit(main())
