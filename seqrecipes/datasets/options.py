"""The tf.data options every pipeline of the package runs with: no autotuning thread.

With tf.data's default options each iterator starts an autotuning thread that re-plans the
pipeline at growing intervals (10 ms, doubling, up to a minute). In TensorFlow 2.21,
destroying the iterator waits for that thread's next wake-up (seen with gdb: the main thread
in `RootDataset::Iterator::~Iterator`, the tuner in `Model::OptimizeLoop`'s timed wait), and
Keras makes a new iterator for every epoch, `evaluate` and `predict`. So each pass lasted
until the next of 10, 30, 70, ... 5,110, 10,230, 20,470 ms after it began: on this project's
2-core machine a plain Keras `fit` of four `Conv1D` layers took 10.2 s of wall time for 8.1 s
of work in alternate epochs (8.1 s in every epoch without the tuner), and the NER recipe's
cnn epochs on CoNLL-2003 took 20 s (15.3 s without; README, "Performance").

Our pipelines gather and pad one batch per step (an epoch of CoNLL-2003 iterates in 0.1 s):
the tuner has nothing to win there. Without it `map`'s AUTOTUNE parallelism is the number of
cores and `prefetch(AUTOTUNE)` still sizes its buffer itself (its own "legacy" tuner, which
needs no thread).
"""


def without_autotuner(dataset):
    """`dataset` with tf.data's autotuning thread off (module docstring); other values as-is."""
    import tensorflow as tf  # here: importing this module must not import TensorFlow

    if not isinstance(dataset, tf.data.Dataset):
        return dataset
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)
