"""What the two generating recipes (seq2seq, generate-from-vector) share.

Teacher-forcing arrays, the per-epoch shuffled batches `fit_resumable` expects, the
validation exact match early stopping watches, evaluation by greedy decoding (exact match,
token accuracy, both broken down) and its figure.
"""

import dataclasses

import keras
import numpy as np

from seqrecipes import _seeding
from seqrecipes.datasets.options import without_autotuner
from seqrecipes.models.seq2seq import PAD_ID, greedy_decode, inference_models
from seqrecipes.recipes.engine import plots as _plots
from seqrecipes.recipes.engine import training as _training


def teacher_forcing(table, targets, length):
    """Returns (decoder_input, decoder_target) id arrays, each `(len(targets), length)`.

    The input is the target behind a start token, the target is followed by an end token:
    ``"170" -> ([<s>, 1, 7, 0], [1, 7, 0, </s>])``, padded with 0 (masked in the loss).
    """
    return (
        table.encode(targets, length=length, start=True),
        table.encode(targets, length=length, end=True),
    )


def training_batches(inputs, target, *, batch_size, seed):
    """Returns a `tf.data.Dataset` of `((inputs...), target)` batches, shuffled per epoch.

    The order of each epoch depends only on (seed, epoch): the shuffle reads
    `_seeding.epoch_variable()`, so a resumed run sees the same batches.
    """
    import tensorflow as tf

    epoch = _seeding.epoch_variable()
    inputs = tuple(tf.constant(array) for array in inputs)
    target = tf.constant(target)
    count = int(target.shape[0])

    def order(_):
        shuffle_seed = tf.stack([tf.constant(seed, tf.int64), epoch.read_value()])
        return tf.data.Dataset.from_tensor_slices(
            tf.random.experimental.stateless_shuffle(tf.range(count), seed=shuffle_seed)
        )

    return without_autotuner(
        tf.data.Dataset.range(1).flat_map(order)
        .batch(batch_size)
        .map(lambda index: (tuple(tf.gather(x, index) for x in inputs),
                            tf.gather(target, index)))
        # `flat_map` hides the length; without it Keras warns that the input "ran out of data".
        .apply(tf.data.experimental.assert_cardinality(-(-count // batch_size)))
        .prefetch(tf.data.AUTOTUNE)
    )


def evaluation_batches(inputs, target, *, batch_size):
    """Returns the batches, in order, of a validation or test split."""
    import tensorflow as tf

    return without_autotuner(
        tf.data.Dataset.from_tensor_slices((tuple(inputs), target)).batch(batch_size))


def compile_decoder(model, *, learning_rate, clipnorm):
    """Compiles with Adam, masked sparse cross-entropy and masked token accuracy."""
    model.compile(
        optimizer=_training.adam(learning_rate, clipnorm=clipnorm),
        # The output carries the decoder's padding mask, so Keras leaves padded steps out of
        # both the loss and the accuracy.
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )


MONITOR = "val_exact_match"


class ValidationExactMatch(keras.callbacks.Callback):
    """Adds `val_exact_match`, greedy decoding of the validation split, to each epoch's logs.

    Early stopping watches it (`monitor=MONITOR, mode="max"`): the teacher-forced loss keeps
    creeping down long after every validation output is right, and it is the generated
    output, not the teacher-forced one, that the recipe is judged by.
    """

    def __init__(self, table, inputs, targets, *, max_length):
        super().__init__()
        self.table, self.inputs, self.targets = table, inputs, list(targets)
        self.max_length = max_length
        self._inference = None

    def on_epoch_end(self, epoch, logs=None):
        if self._inference is None:  # built once: they share the trained layers
            self._inference = inference_models(self.model)
        generated = greedy_decode(*self._inference, self.inputs, max_length=self.max_length)
        predictions = self.table.decode(generated)
        right = [prediction == target for prediction, target in zip(predictions, self.targets)]
        if logs is not None:
            logs[MONITOR] = float(np.mean(right))


@dataclasses.dataclass
class GreedyEvaluation:
    """Greedy decoding of a test split."""

    predictions: list
    correct: np.ndarray
    metrics: dict


def evaluate_greedy(model, table, inputs, targets, *, max_length, lengths):
    """Decodes `inputs` greedily and compares the texts with `targets`.

    Args:
        lengths: one int per example to break exact match down by (the input's length).

    Returns:
        A `GreedyEvaluation`. Its metrics: `exact_match` (whole output right),
        `token_accuracy` (generated id equals the target id, position by position, the end
        token included), `exact_match_by_length` and `token_accuracy_by_position`.
    """
    state_model, step_model = inference_models(model)
    generated = greedy_decode(state_model, step_model, inputs, max_length=max_length)
    predictions = table.decode(generated)
    correct = np.array([p == t for p, t in zip(predictions, targets)])
    expected = table.encode(targets, length=max_length, end=True)
    real = expected != PAD_ID
    right = (generated == expected) & real
    lengths = np.asarray(lengths)
    metrics = {
        "exact_match": float(correct.mean()),
        "token_accuracy": float(right.sum() / real.sum()),
        "exact_match_by_length": {
            int(length): float(correct[lengths == length].mean())
            for length in sorted(set(lengths.tolist()))
        },
        "test_examples_by_length": {
            int(length): int((lengths == length).sum()) for length in sorted(set(lengths.tolist()))
        },
        "token_accuracy_by_position": [
            float(right[:, step].sum() / real[:, step].sum())
            for step in range(max_length) if real[:, step].any()
        ],
        "test_examples": len(targets),
    }
    return GreedyEvaluation(predictions, correct, metrics)


def accuracy_figure(metrics, *, length_label, title):
    """Returns a figure: exact match by input length, token accuracy by output position."""
    plt = _plots.pyplot()

    by_length = metrics["exact_match_by_length"]
    by_position = metrics["token_accuracy_by_position"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    bars = left.bar([str(length) for length in by_length], list(by_length.values()),
                    color="tab:blue")
    left.bar_label(bars, labels=[f"n={n}" for n in metrics["test_examples_by_length"].values()],
                   fontsize=7)
    left.set_xlabel(length_label)
    left.set_ylabel("exact match (greedy)")
    left.set_ylim(0, 1.1)
    right.plot(range(1, len(by_position) + 1), by_position, marker="o", color="tab:orange")
    right.set_xlabel("output position (the end token included)")
    right.set_ylabel("token accuracy (greedy)")
    right.set_ylim(0, 1.05)
    right.set_xticks(range(1, len(by_position) + 1))
    for axis in (left, right):
        axis.grid(alpha=0.3)
    figure.suptitle(f"{title}: exact match {metrics['exact_match']:.3f} on "
                    f"{metrics['test_examples']} held-out examples")
    figure.tight_layout()
    return figure


def predictions_table(columns):
    """Returns a TSV (str) of the test predictions from a dict of equal-length columns."""
    import pandas

    return pandas.DataFrame(columns).to_csv(sep="\t", index=False)
