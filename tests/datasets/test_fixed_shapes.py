"""Batch shapes per backend: each batch's own longest row on TensorFlow, few shapes on JAX."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from seqrecipes.datasets import bucketing

pytestmark = pytest.mark.backends  # run again by CI under KERAS_BACKEND=jax


def batches():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 41, size=400)
    widths = [rng.integers(1, 20, size=n) for n in lengths]
    tokens = tf.ragged.constant([list(range(1, n + 1)) for n in lengths])
    chars = tf.ragged.constant([[[7] * w for w in row] for row in widths], ragged_rank=2)
    boundaries = bucketing.resolve_boundaries(None, lengths, None, None)
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
    expected = bucketing.FIXED_SHAPE_BUCKETS if jax else bucketing.NUM_BUCKETS
    assert boundaries == bucketing.bucket_boundaries(lengths, num_buckets=expected)
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
