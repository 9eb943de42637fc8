"""Batch shapes per backend: each batch's own longest row on TensorFlow, few shapes on JAX."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from seqrecipes.datasets import bucketing

pytestmark = pytest.mark.backends  # run again by CI under KERAS_BACKEND=jax
NUM_BUCKETS = 8


def batches():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 41, size=400)
    widths = [rng.integers(1, 20, size=n) for n in lengths]
    tokens = tf.ragged.constant([list(range(1, n + 1)) for n in lengths])
    chars = tf.ragged.constant([[[7] * w for w in row] for row in widths], ragged_rank=2)
    # 25 batches: under JAX the default would be one bucket (next test); name the buckets here
    boundaries = bucketing.resolve_boundaries(None, lengths, NUM_BUCKETS, None, 16)
    dataset = bucketing.bucketed_columns(
        {"token_ids": tokens, "char_ids": chars}, lengths=lengths, batch_size=16,
        boundaries=boundaries, shuffle=True, seed=3, max_length=None, min_length=1,
        to_output=lambda batch: batch,
    )
    return boundaries, lengths, [{key: value.numpy() for key, value in batch.items()}
                                 for batch in dataset]


def test_padding_follows_the_backend_and_never_changes_a_row():
    boundaries, lengths, passes = batches()
    jax = keras.backend.backend() == "jax"
    assert len(boundaries) >= NUM_BUCKETS - 1
    assert sum(len(batch["token_ids"]) for batch in passes) == len(lengths)
    for batch in passes:
        ids, chars = batch["token_ids"], batch["char_ids"]
        real = (ids != 0).sum(axis=1)
        widths = (chars != 0).sum(axis=2)
        for row, n in zip(ids, real):  # every row is its tokens, then padding
            assert row[:n].tolist() == list(range(1, n + 1)) and not row[n:].any()
        if jax:  # the bucket's longest possible row; characters to a power of two
            bucket = np.digitize(real, boundaries)
            assert len(set(bucket)) == 1
            upper = boundaries[bucket[0]] - 1 if bucket[0] < len(boundaries) else lengths.max()
            assert ids.shape[1] == upper
            assert chars.shape[2] == 2 ** int(np.ceil(np.log2(widths.max())))
        else:  # the batch's own longest row and longest token
            assert ids.shape[1] == real.max()
            assert chars.shape[2] == widths.max()
    shapes = {(batch["token_ids"].shape, batch["char_ids"].shape[2]) for batch in passes}
    if jax:  # full and last batch per bucket, times a few character widths
        assert len({shape for shape, _ in shapes}) <= 2 * (len(boundaries) + 1)


@pytest.mark.parametrize("rows", [100, 2_000, 20_000])
def test_default_buckets_are_few_on_jax_when_the_set_is_small(rows):
    """Each bucket costs JAX compiles of the step: at most one per 32 batches by default."""
    lengths = np.random.default_rng(1).integers(1, 60, size=rows)
    batch_size = 16
    boundaries = bucketing.resolve_boundaries(None, lengths, None, None, batch_size)
    if keras.backend.backend() != "jax":  # TensorFlow: always the 16 quantiles and the tail
        assert boundaries == bucketing.bucket_boundaries(lengths, num_buckets=16)
        return
    batches = -(-rows // batch_size)
    assert 1 <= len(boundaries) + 1 <= max(1, batches // 32)
    if batches >= 32 * (len(bucketing.bucket_boundaries(lengths, num_buckets=8)) + 1):
        assert boundaries == bucketing.bucket_boundaries(lengths, num_buckets=8)
    every_batch = bucketing.bucketed_columns(
        {"token_ids": tf.ragged.constant([[1] * n for n in lengths])}, lengths=lengths,
        batch_size=batch_size, boundaries=boundaries, shuffle=True, seed=0, max_length=None,
        min_length=1, to_output=lambda batch: batch["token_ids"])
    shapes = {tuple(batch.shape) for batch in every_batch}
    assert len(shapes) <= 2 * (len(boundaries) + 1)
    # a caller's own number of buckets is kept
    assert (bucketing.resolve_boundaries(None, lengths, 4, None, batch_size)
            == bucketing.bucket_boundaries(lengths, num_buckets=4))


def test_a_stream_is_padded_to_few_shapes_on_jax_and_to_its_own_rows_elsewhere():
    """A stream's length is unknown: past the last boundary JAX pads to a power of two."""
    lengths = np.random.default_rng(2).integers(1, 70, size=300)
    elements = tf.data.Dataset.from_tensor_slices(
        {"token_ids": tf.ragged.constant([list(range(1, n + 1)) for n in lengths]),
         "y": np.zeros(len(lengths), "int32")})
    dataset = bucketing.bucketed(
        elements, batch_size=8, boundaries=[5, 10], shuffle=True, seed=0, max_length=None,
        min_length=1, to_output=lambda batch: batch["token_ids"], shuffle_buffer=300)
    jax = keras.backend.backend() == "jax"
    widths, rows = set(), 0
    for ids in dataset.as_numpy_iterator():
        real = (ids != 0).sum(axis=1)
        for row, n in zip(ids, real):
            assert row[:n].tolist() == list(range(1, n + 1)) and not row[n:].any()
        rows += len(ids)
        widths.add(ids.shape[1])
        if jax:
            longest = real.max()
            power = 2 ** int(np.ceil(np.log2(longest)))
            expected = 4 if longest < 5 else 9 if longest < 10 else power
            assert ids.shape[1] == expected
        else:
            assert ids.shape[1] == real.max()
    assert rows == len(lengths)
    if jax:
        assert widths <= {4, 9, 16, 32, 64, 128}
