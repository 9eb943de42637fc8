"""Per-epoch randomness that depends on (seed, epoch) only, so a resumed run repeats itself.

Two sources of randomness change from epoch to epoch: the data order and the dropout masks.
`shuffled` makes a tf.data shuffle whose order for a pass is a function of (seed, epoch), and
`reseed` sets every random state of a model (its `SeedGenerator`s) from (seed, epoch).

The epoch comes from `epoch_variable()`, a process-wide counter that the training loop
(`recipes/_training.py`) sets at the start of each epoch and puts back to -1 at the end. When no
training loop manages it (a user iterating a dataset by hand), each pass of the dataset counts
for itself, so consecutive passes still see different orders.
"""

import numpy as np
import tensorflow as tf

_EPOCH = None
_UNMANAGED = -1
_GRAPH_SEED = 87_654_321  # the graph seed of every `shuffled` pass (any non-zero constant)


def epoch_variable():
    """Returns the process-wide epoch counter input pipelines read (-1: nobody manages it)."""
    global _EPOCH
    if _EPOCH is None:
        _EPOCH = tf.Variable(_UNMANAGED, dtype=tf.int64, trainable=False, name="epoch")
    return _EPOCH


def release_epoch():
    """Tells the pipelines that no training loop manages the epoch any more."""
    epoch_variable().assign(_UNMANAGED)


def shuffled(dataset, buffer_size, seed):
    """`dataset.shuffle(buffer_size)` whose order for each pass depends on (seed, epoch) only.

    Tensorflow's own `reshuffle_each_iteration=True` derives each pass's order from how many
    passes that dataset object has made, which restarts at 0 when a process resumes training;
    here the pass's seed is read from `epoch_variable()` when the pass starts.
    """
    return each_pass(
        lambda pass_seed: dataset.shuffle(buffer_size, seed=pass_seed,
                                          reshuffle_each_iteration=False),
        seed,
    )


def each_pass(make_pass, seed):
    """A dataset whose every pass is `make_pass(pass_seed)`, the seed a function of (seed, epoch).

    Args:
        make_pass: callable taking a scalar int64 tensor and returning a `tf.data.Dataset`.
        seed: int. The run's seed.
    """
    epoch = epoch_variable()
    passes = tf.Variable(0, dtype=tf.int64, trainable=False, name="passes")
    base = tf.constant(int(seed) * 1_000_003, tf.int64)

    def one_pass(_):
        counted = passes.assign_add(1) - 1
        current = tf.where(epoch >= 0, epoch, counted)
        # The order must not depend on TensorFlow's global seed either, and a global seed of
        # 0 (`keras.utils.set_random_seed(0)`, `--seed 0`) makes TensorFlow's `get_seed`
        # compare this tensor seed with 0 in Python and fail ("symbolic Tensor as a Python
        # bool"): the pass's graph gets a fixed seed of its own.
        tf.compat.v1.get_default_graph().seed = _GRAPH_SEED
        return make_pass(base + current)

    return tf.data.Dataset.range(1).flat_map(one_pass)


def _seed_for(seed, *parts):
    value = np.random.SeedSequence([seed, *parts]).generate_state(1)[0]
    return int(value % (2**31 - 1))


def reseed(model, seed, epoch):
    """Sets every random-number state in `model` (dropout masks) from (seed, epoch) only."""
    generators = [
        generator
        for layer in model._flatten_layers(include_self=True, recursive=True)
        for generator in getattr(layer, "_seed_generators", [])
    ]
    for index, generator in enumerate(generators):
        value = np.array([_seed_for(seed, epoch, index), 0])
        generator.state.assign(value.astype(generator.state.dtype))
