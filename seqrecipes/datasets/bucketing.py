"""Length bucketing, the shared core of every pipeline: bucket, pad per batch, mask with 0.

`bucket_boundaries` derives the buckets from the length distribution. Two tails make the
batches:

* `bucketed_columns`, for data in memory (`classification_dataset`, `tagging_dataset`,
  `predict_in_order`, the bidirectional language model): each pass is planned at once on row
  indices (shuffle, sort by bucket, cut each bucket into batches, shuffle the batches), and
  tf.data then gathers and pads one batch at a time;
* `bucketed`, for a stream of unknown length (`stream_classification_dataset`):

    [cache ids] -> [shuffle examples, seeded] -> truncate to `max_length`
    -> bucket_by_sequence_length -> pad to the batch's own longest row (>= `min_length`)
    -> [shuffle batches] -> prefetch

Batches are shuffled too: `bucket_by_sequence_length` flushes the last, partial batch of
every bucket when the epoch's examples run out, in bucket order, so without it every epoch
would end with a run of small batches sorted by length (each a full Adam step), just before
validation. A stream shuffles batches within a buffer of `BATCH_SHUFFLE_BUFFER` batches.
Both make the same batches in kind: one bucket per batch, `batch_size` rows but the last of
each bucket, every row once per pass, the order a function of (seed, epoch).

On JAX a batch of a new shape compiles the training step again: 4.8 s each for the NER
default's step on one core here, against 0.6 s for an epoch of the embedded sample once
compiled (17 compiles made its first epoch 121 s). So under JAX (`fixed_shapes()`)
`bucketed_columns` pads each batch's token axis to its bucket's longest possible row, not to
its own longest row, and the character axis to a power of two: a pass then has at most two
shapes per bucket (its full batches and its last one) times a few character widths, every
later pass the same ones; and a set too small to fill its buckets gets fewer of them
(`BATCHES_PER_FIXED_BUCKET`). `bucketed` (a stream) pads the same way, and past its last
boundary, where a stream's longest row is unknown, to a power of two: the sentiment sample
streamed compiled the step 9 times in 2 epochs of 9 steps before, 4 after. TensorFlow's
traced step takes any length, so there batches stay padded to their own longest row (less
padding to run the cells over).
"""

import logging

import numpy as np
import tensorflow as tf

from seqrecipes import _seeding, _validation
from seqrecipes.datasets.options import without_autotuner
from seqrecipes.errors import InvalidArgumentError

_LOG = logging.getLogger("seqrecipes.datasets.pipeline")
AUTOTUNE = tf.data.AUTOTUNE
BATCH_SHUFFLE_BUFFER = 256  # batches, when the number per epoch is unknown (a stream)
# Per-token inputs, truncated and padded along the token axis: word ids, character ids and the
# same words in a bidirectional language model's vocabulary (`BiLMFeatures`).
TOKEN_KEYS = ("token_ids", "char_ids", "bilm_ids")
NUM_BUCKETS = 16
# Under JAX each bucket is about two compiled shapes of the training step (its full batches
# and its last one; ~5 s each for the NER default) and one of the prediction step: 8 buckets
# halve that one-off cost for a little more padding (CoNLL-2003's 2,231 chunks: 16 buckets
# pad to 3% more steps than the rows hold, 8 to 7%).
FIXED_SHAPE_BUCKETS = 8
# ... and only where they pay: a bucket that holds few batches compiles its shapes for a
# handful of steps. Under JAX the default buckets are capped at one per this many batches of a
# pass (quantiles only, no geometric tail below the cap). The sentiment sample (15 batches)
# compiled the training step 15 times in 15 steps: a first epoch of 44 s, 6 s with the cap
# (one core); the NER sample's 80 s, 13-15 s with it. CoNLL-2003's training chunks (279
# batches of 8) keep their 8 buckets; its dev and test sets (70 and 65 batches, scored with a
# prediction step of their own) get 2.
BATCHES_PER_FIXED_BUCKET = 32


def bucket_boundaries(lengths, *, num_buckets=16, growth=1.25):
    """Bucket boundaries for `bucket_by_sequence_length`, from the length distribution.

    The boundaries are the `num_buckets` quantiles of `lengths`, plus a geometric series
    (each boundary at most `growth` times the previous) from the median to the longest
    length (`growth=None`: the quantiles alone). Quantiles alone leave the long tail in one
    wide bucket where short rows are padded to the longest: on NSMC syllables (batches of
    64), 8 quantile buckets keep 80% of the padded steps useful, 8 plus the geometric tail
    90%, 16 plus the tail 94%.

    Args:
        lengths: 1-D array-like of int. Length of every training sequence.
        num_buckets: int. Number of quantile buckets. Defaults to 16.
        growth: float > 1, or None. Largest ratio between two consecutive boundaries
            above the median; None adds no geometric tail. Defaults to 1.25.

    Returns:
        Sorted list of int; bucket i holds lengths in `[boundaries[i-1], boundaries[i])`.

    Example:

    >>> bucket_boundaries([1, 2, 2, 3, 3, 3, 4, 10], num_buckets=2)
    [4, 5, 7, 9]
    """
    _validation.check_positive_int("num_buckets", num_buckets, allow_none=True)
    _validation.check_positive_float("growth", growth, allow_none=True)
    _validation.check_conflict(
        growth is not None and growth <= 1,
        f"`growth` must be greater than 1. Received: growth={growth!r}.",
    )
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or lengths.size == 0 or lengths.dtype.kind not in "iu":
        raise InvalidArgumentError(
            "`lengths` must be a non-empty 1-D list of integers. "
            f"Received: an array of shape {lengths.shape} and dtype {lengths.dtype}."
        )
    longest = int(lengths.max())
    quantiles = np.quantile(lengths, np.arange(1, num_buckets) / num_buckets, method="higher")
    boundaries = {int(q) + 1 for q in quantiles}
    step = max(2, int(np.median(lengths)) + 1)
    while growth is not None and step <= longest:
        boundaries.add(step)
        step = max(step + 1, int(np.ceil(step * growth)))
    return sorted(b for b in boundaries if 1 < b <= longest)


def check_batching(batch_size, boundaries, num_buckets, min_length, max_length, seed):
    _validation.check_positive_int("batch_size", batch_size)
    _validation.check_positive_int("num_buckets", num_buckets, allow_none=True)
    _validation.check_positive_int("min_length", min_length)
    _validation.check_positive_int("max_length", max_length, allow_none=True)
    if seed is not None:
        _validation.check_seed("seed", seed)
    _validation.check_conflict(
        max_length is not None and min_length > max_length,
        f"`min_length` ({min_length}) cannot exceed `max_length` ({max_length}): every batch "
        "is padded to at least `min_length` after truncation to `max_length`.",
    )
    if boundaries is not None:
        checked = _validation.check_positive_ints("boundaries", list(boundaries) or [1])
        _validation.check_conflict(
            list(checked) != sorted(set(checked)),
            f"`boundaries` must be strictly increasing. Received: boundaries={boundaries!r}.",
        )


def resolve_boundaries(boundaries, lengths, num_buckets, max_length, batch_size):
    """`boundaries` as given, or derived from `lengths`: `num_buckets` quantile buckets and
    the tail (`bucket_boundaries`); with neither given, under `fixed_shapes()`, at most one
    bucket per `BATCHES_PER_FIXED_BUCKET` batches of `batch_size` rows."""
    if boundaries is not None:
        return [int(b) for b in boundaries]
    if not len(lengths):
        return []
    lengths = np.minimum(lengths, max_length) if max_length else np.asarray(lengths)
    if num_buckets is not None or not fixed_shapes():
        return bucket_boundaries(lengths, num_buckets=num_buckets or NUM_BUCKETS)
    boundaries = bucket_boundaries(lengths, num_buckets=FIXED_SHAPE_BUCKETS)
    most = max(1, -(-len(lengths) // batch_size) // BATCHES_PER_FIXED_BUCKET)
    if len(boundaries) + 1 > most:
        boundaries = bucket_boundaries(lengths, num_buckets=most, growth=None)
    return boundaries


def log_truncation(lengths, max_length, what):
    if max_length is not None and len(lengths):
        cut = int(np.sum(lengths > max_length))
        if cut:
            _LOG.info(
                "max_length=%d truncates %d of %d %s (%.2f%%), dropping %d tokens.",
                max_length, cut, len(lengths), what, 100 * cut / len(lengths),
                int(np.sum(np.maximum(lengths - max_length, 0))),
            )


def _pad_axis(tensor, axis, minimum):
    """Pads `tensor` with zeros along `axis` up to `minimum` (no-op when already longer)."""
    short = tf.maximum(0, minimum - tf.shape(tensor)[axis])
    paddings = tf.one_hot(axis, tf.rank(tensor), on_value=short, off_value=0)
    return tf.pad(tensor, tf.stack([tf.zeros_like(paddings), paddings], axis=1))


def fixed_shapes():
    """True when the Keras backend compiles a step per input shape (JAX): pad to few shapes."""
    import keras

    return keras.backend.backend() == "jax"


def _longest_rows(boundaries, lengths, max_length):
    """The longest row each bucket can hold (`fixed_shapes` pads a batch's tokens to it)."""
    lengths = np.minimum(lengths, max_length) if max_length else np.asarray(lengths)
    longest = int(lengths.max()) if len(lengths) else 1
    return np.array([b - 1 for b in boundaries] + [max(longest, 1)], np.int64)


def _power_of_two(size):
    """The smallest power of two >= `size` (a scalar int tensor, >= 1)."""
    powers = tf.constant([2 ** k for k in range(31)], tf.int32)
    return tf.gather(powers, tf.searchsorted(powers, tf.reshape(tf.cast(size, tf.int32), [1]))[0])


def _buckets(lengths, boundaries, max_length):
    """(bucket of each row, rows per bucket) after truncation to `max_length`."""
    lengths = np.minimum(lengths, max_length) if max_length else np.asarray(lengths)
    bucket = np.digitize(lengths, boundaries).astype("int64")
    return bucket, np.bincount(bucket, minlength=len(boundaries) + 1)


def _token_keys(per_token):
    """The keys whose axis 1 runs over tokens: truncated to `max_length`, padded per batch."""
    return TOKEN_KEYS + (("y",) if per_token else ())


def num_batches(lengths, boundaries, batch_size, max_length=None):
    """The number of batches a pass over rows of these lengths makes (`bucketed_columns`, or
    `bucketed` over the same rows); it is exact."""
    _, counts = _buckets(lengths, boundaries, max_length)
    return int(np.sum(-(-counts // batch_size)))


def _padder(min_length, min_chars, per_token, to_output):
    """The last map of a pipeline: pads a batch's token axes to at least `min_length`."""
    def pad(batch):
        batch = dict(batch)
        for key in _token_keys(per_token):
            if key in batch:
                batch[key] = _pad_axis(batch[key], 1, min_length)
        if "char_ids" in batch:
            batch["char_ids"] = _pad_axis(batch["char_ids"], 2, min_chars)
        return to_output(batch)

    return pad


def finished(dataset, prefetch):
    """Every pipeline's last step: prefetch (AUTOTUNE) if asked, and no tf.data autotuning
    thread (`seqrecipes.datasets.options`)."""
    return without_autotuner(dataset.prefetch(AUTOTUNE) if prefetch else dataset)


def bucketed_columns(
    columns, *, lengths, batch_size, boundaries, shuffle, seed, max_length, min_length,
    to_output, min_chars=1, per_token=False, prefetch=True,
):
    """`bucketed` for data in memory: batches of row indices, then one gather per batch.

    `columns` maps the keys `bucketed` knows to tensors (ragged or not) with one row per
    element; `lengths` gives each element's number of tokens. The batches are those
    `bucketed` would make (the same buckets, `batch_size` rows each but the last of each
    bucket, every row once, the order seeded by (seed, epoch)), but each pass is planned at
    once: shuffle the row indices, sort them by bucket (stably, so each bucket keeps the
    shuffled order), cut every bucket into batches and shuffle the batches. tf.data then
    works once per batch (gather the rows, pad them) instead of once per element: on 20k
    NSMC reviews in batches of 32, an epoch's batches cost 0.26-0.38 s of CPU here and
    1.6-2.6 s through `bucketed`.
    """
    bucket, counts = _buckets(lengths, boundaries, max_length)
    per_bucket = -(-counts // batch_size)
    starts = tf.constant(np.concatenate([[0], np.cumsum(counts)[:-1]]), tf.int64)
    offsets = tf.constant(np.concatenate([[0], np.cumsum(per_bucket)[:-1]]), tf.int64)
    size, count = len(bucket), int(per_bucket.sum())
    bucket = tf.constant(bucket, tf.int64)

    def permutation(n, pass_seed, salt):
        if not shuffle:
            return tf.range(n, dtype=tf.int64)
        return tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64), seed=tf.stack([pass_seed, tf.constant(salt, tf.int64)]))

    def one_pass(pass_seed):
        order = permutation(size, pass_seed, 0)
        by_bucket = tf.argsort(tf.gather(bucket, order), stable=True)
        order = tf.gather(order, by_bucket)
        of = tf.gather(bucket, order)
        within = tf.range(size, dtype=tf.int64) - tf.gather(starts, of)
        rows = tf.RaggedTensor.from_value_rowids(
            order, tf.gather(offsets, of) + within // batch_size, nrows=count)
        return tf.data.Dataset.from_tensor_slices(
            tf.gather(rows, permutation(count, pass_seed, 1)))

    pad = _padder(min_length, min_chars, per_token, to_output)
    fixed = fixed_shapes()
    longest = tf.constant(_longest_rows(boundaries, lengths, max_length))

    def gather_and_pad(index):
        batch = {}
        for key, value in columns.items():
            rows = tf.gather(value, index)
            if max_length is not None and key in _token_keys(per_token):
                rows = rows[:, :max_length]
            batch[key] = rows.to_tensor() if isinstance(rows, tf.RaggedTensor) else rows
        if fixed:  # few shapes for JAX's compiled step (module docstring)
            steps = tf.cast(tf.gather(longest, tf.gather(bucket, index[0])), tf.int32)
            for key in _token_keys(per_token):
                if key in batch:
                    batch[key] = _pad_axis(batch[key], 1, steps)
            if "char_ids" in batch:
                chars = _power_of_two(tf.shape(batch["char_ids"])[2])
                batch["char_ids"] = _pad_axis(batch["char_ids"], 2, chars)
        return pad(batch)

    if shuffle:
        # Without a seed, one is drawn here: NumPy's global generator, so that
        # `keras.utils.set_random_seed` still makes the run reproducible; each pass differs.
        seed = int(np.random.randint(0, 2**31 - 1)) if seed is None else seed
        dataset = _seeding.each_pass(one_pass, seed)
    else:
        dataset = tf.data.Dataset.range(1).flat_map(lambda _: one_pass(None))
    dataset = dataset.map(gather_and_pad, num_parallel_calls=AUTOTUNE)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(count))
    return finished(dataset, prefetch)


def bucketed(
    elements, *, batch_size, boundaries, shuffle, seed, max_length, min_length, to_output,
    shuffle_buffer=None, cache=None, prefetch=True,
):
    """The streaming tail: cache, shuffle, truncate, bucket, pad, shuffle batches, prefetch.

    `elements` yields dicts with "token_ids" (1-D) and "y" (a scalar label), in an order and
    number not known in advance (`stream_classification_dataset`); examples and batches are
    shuffled within buffers of `shuffle_buffer` examples and `BATCH_SHUFFLE_BUFFER` batches.
    Data in memory go through `bucketed_columns` instead.
    """
    def prepare(element):
        element = dict(element)
        for key in _token_keys(per_token=False):
            if max_length is not None and key in element:
                element[key] = element[key][:max_length]
        return element

    pad = _padder(min_length, 1, False, to_output)
    if fixed_shapes():  # few shapes for JAX's compiled step, as `bucketed_columns` makes
        unfixed, uppers = pad, tf.constant([b - 1 for b in boundaries] or [0], tf.int32)

        def pad(batch):
            # The longest row of the batch's bucket; past the last boundary, where a stream's
            # longest row is unknown, the next power of two.
            longest = tf.shape(batch["token_ids"])[1]
            bucket = tf.searchsorted(uppers, tf.reshape(longest, [1]))[0]
            steps = tf.cond(bucket < len(boundaries), lambda: tf.gather(uppers, bucket),
                            lambda: _power_of_two(longest))
            return unfixed({**batch, "token_ids": _pad_axis(batch["token_ids"], 1, steps)})

    dataset = elements
    if cache is not None:
        dataset = dataset.cache("" if cache == "memory" else cache)
    if shuffle and seed is not None:
        # Each epoch's order depends on (seed, epoch) only, so resumed training repeats it.
        dataset = _seeding.shuffled(dataset, shuffle_buffer, seed)
    elif shuffle:
        dataset = dataset.shuffle(shuffle_buffer, reshuffle_each_iteration=True)
    dataset = dataset.map(prepare, num_parallel_calls=AUTOTUNE)
    dataset = dataset.bucket_by_sequence_length(
        lambda element: tf.shape(element["token_ids"])[0],
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
        drop_remainder=False,  # the last partial batch of each bucket: every example once
    )
    dataset = dataset.map(pad, num_parallel_calls=AUTOTUNE)
    if shuffle and seed is not None:
        # seed + 1: not the examples' permutation; (seed, epoch) only, like the example shuffle.
        dataset = _seeding.shuffled(dataset, BATCH_SHUFFLE_BUFFER, seed + 1)
    elif shuffle:
        dataset = dataset.shuffle(BATCH_SHUFFLE_BUFFER, reshuffle_each_iteration=True)
    return finished(dataset, prefetch)
