"""tf.data input pipelines: vectorise once, bucket by length, pad each batch to its own length.

Padding every text to one fixed length spends most of an RNN's steps on padding when lengths
are skewed (NSMC: mean 8 words, 99th percentile 32, max 41). Here texts are vectorised once
into token ids (a `tf.RaggedTensor`, one row per text, no padding), then every epoch:

    shuffle the rows (seeded) -> sort them into length buckets (boundaries from the length
    distribution) -> cut each bucket into batches -> shuffle the batches -> gather each
    batch's rows, truncated to `max_length` -> pad them to the batch's own longest row
    (id 0, at least `min_length`) -> prefetch

(`datasets.bucketing`: the batches are planned on row indices, so tf.data works once per
batch rather than once per text.)

Id 0 is padding everywhere, so `Embedding(mask_zero=True)` masks it, and Keras 3 carries that
mask into the loss and the metrics: `Loss.__call__` reads the mask of `y_pred` and
`reduce_weighted_values` divides the masked sum by the number of real steps, so a tagger's
loss and accuracy do not change when a batch has more padding (tests/test_pipeline.py checks
it). A model whose output carries no mask (e.g. a CRF computing its own loss) can ask
`tagging_dataset(sample_weights=True)` for weights 1 on tokens and 0 on padding, and must
then compile with `reduction="mean_with_sample_weight"` and `weighted_metrics`: with the
default "sum_over_batch_size", sample weights alone still divide by the padded size.

Ids are cached, not strings: in memory they are computed once by `encode_*`; a stream
(`stream_classification_dataset`) vectorises on the fly and can `cache` the ids to a file.
"""

import numpy as np
import tensorflow as tf

from seqrecipes import _seeding, _validation
from seqrecipes.datasets import bucketing, encoding
from seqrecipes.datasets.bucketing import bucket_boundaries  # noqa: F401
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.ids import corpus_ids, stream_chunks


def _labels(labels, size):
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iufb" or len(labels) != size:
        raise InvalidArgumentError(
            f"`labels` must be {size} numbers (class ids, one per text; map class names to "
            "ids first). Received: an array of shape "
            f"{labels.shape} and dtype {labels.dtype}."
        )
    return labels.astype("int32" if labels.dtype.kind in "iub" else "float32")


def _x(batch):
    if "char_ids" in batch or "bilm_ids" in batch:
        return {key: batch[key] for key in ("token_ids", "char_ids", "bilm_ids") if key in batch}
    return batch["token_ids"]


def classification_dataset(
    texts,
    labels=None,
    *,
    vectorizer=None,
    batch_size=32,
    boundaries=None,
    num_buckets=None,
    shuffle=False,
    seed=None,
    min_length=1,
    max_length=None,
    prefetch=True,
):
    """Batches of `(token_ids, labels)` for a many-to-one model, bucketed by length.

    Args:
        texts: list of str (with `vectorizer`), or the `tf.RaggedTensor` of ids from
            `encode_texts` (then `vectorizer=None`): encode once and reuse.
        labels: array-like of class ids (int) or targets (float), one per text; None for
            prediction (batches are then `token_ids` only).
        vectorizer: the `TextVectorization` from `build_text_vectorizer`, or None.
        batch_size: int. Texts per batch (the last batch of each bucket may be smaller).
        boundaries: list of int or None. Bucket boundaries; None derives them from these
            texts' lengths (`bucket_boundaries`). Pass the training boundaries to evaluate
            with the same shapes, or any other list.
        num_buckets: int or None. Quantile buckets when `boundaries` is None. Defaults to
            16; on JAX, where every batch shape compiles the step again, 8 and at most one
            per 32 batches (`bucketing.resolve_boundaries`).
        shuffle: bool. Reshuffle the texts every epoch (before bucketing). Defaults to False.
        seed: int or None. Shuffle seed: the same seed gives the same batches, epoch by epoch.
        min_length: int. Pad every batch to at least this many steps (a `Conv1D` with
            `padding="valid"` needs the kernel size). Defaults to 1.
        max_length: int or None. Keep the first `max_length` tokens of longer texts; the
            number cut is logged (logger `seqrecipes.datasets.pipeline`, INFO). Defaults to
            None (no truncation).
        prefetch: bool. Prefetch batches (AUTOTUNE). Defaults to True.

    Returns:
        A `tf.data.Dataset` of `(token_ids, labels)`: int32 `(batch, steps)` padded with 0 to
        the batch's own longest text, and labels `(batch,)`.

    Example:

    >>> ids = tf.ragged.constant([[5, 6, 7], [8], [9, 10]])
    >>> batches = classification_dataset(ids, [1, 0, 1], batch_size=2, boundaries=[2])
    >>> sorted(tuple(x.shape) for x, y in batches)
    [(1, 1), (2, 3)]
    """
    bucketing.check_batching(batch_size, boundaries, num_buckets, min_length, max_length, seed)
    _validation.check_bool("shuffle", shuffle)
    ids = encoding.as_ids("texts", texts, vectorizer)
    size = int(ids.nrows())
    lengths = ids.row_lengths().numpy()
    boundaries = bucketing.resolve_boundaries(boundaries, lengths, num_buckets, max_length,
                                             batch_size)
    bucketing.log_truncation(lengths, max_length, "texts")
    elements = {"token_ids": ids}
    if labels is not None:
        elements["y"] = _labels(labels, size)

    def to_output(batch):
        return (batch["token_ids"], batch["y"]) if "y" in batch else batch["token_ids"]

    return bucketing.bucketed_columns(
        elements, lengths=lengths, batch_size=batch_size, boundaries=boundaries,
        shuffle=shuffle, seed=seed, max_length=max_length, min_length=min_length,
        to_output=to_output, prefetch=prefetch,
    )


def tagging_dataset(
    sentences,
    tags=None,
    *,
    token_lookup=None,
    tag_lookup=None,
    char_lookup=None,
    max_chars=None,
    batch_size=32,
    boundaries=None,
    num_buckets=None,
    shuffle=False,
    seed=None,
    min_length=1,
    min_chars=1,
    max_length=None,
    sample_weights=False,
    prefetch=True,
):
    """Batches of `(x, tag_ids)` for a many-to-many tagger, bucketed by sentence length.

    Args:
        sentences: list of token lists (with `token_lookup`), or what `encode_sentences`
            returned (then `token_lookup=None`): encode once and reuse.
        tags: list of tag lists (with `tag_lookup`), or the ids from `encode_tags`; None
            for prediction (batches are then `x` only).
        token_lookup: the `StringLookup` from `build_token_lookup`, or None.
        tag_lookup: the `StringLookup` from `build_tag_lookup` (id 0 = padding), or None.
        char_lookup: the `StringLookup` from `build_char_lookup`: adds per-token character
            ids, and `x` becomes a dict. None (default): `x` is the token ids alone.
        max_chars: int or None. Keep the first `max_chars` characters of each token.
        batch_size, boundaries, num_buckets, shuffle, seed, min_length, max_length,
            prefetch: as in `classification_dataset` (lengths count tokens).
        min_chars: int. Pad the character axis of every batch to at least this size.
        sample_weights: bool. Also yield weights `(batch, steps)`: 1.0 on tokens, 0.0 on
            padding (for models without a Keras mask; see the module docstring).

    Returns:
        A `tf.data.Dataset` of `(x, tag_ids)` or `(x, tag_ids, weights)`. `x` is int32
        `token_ids` `(batch, steps)`, or with `char_lookup` the dict
        `{"token_ids": (batch, steps), "char_ids": (batch, steps, chars)}` (name the model's
        `Input` layers so). Tag ids are int32 `(batch, steps)`, 0 on padding.
    """
    bucketing.check_batching(batch_size, boundaries, num_buckets, min_length, max_length, seed)
    _validation.check_bool("shuffle", shuffle)
    _validation.check_bool("sample_weights", sample_weights)
    _validation.check_positive_int("min_chars", min_chars)
    if token_lookup is not None:
        sentences = encoding.encode_sentences(
            sentences, token_lookup, char_lookup=char_lookup, max_chars=max_chars
        )
    features = encoding.as_features("sentences", sentences)
    lengths = features["token_ids"].row_lengths().numpy()
    elements = dict(features)
    if tags is not None:
        if tag_lookup is not None:
            tags = encoding.encode_tags(tags, tag_lookup)
        elements["y"] = encoding.check_aligned(tags, features["token_ids"])
    _validation.check_conflict(
        sample_weights and tags is None,
        "`sample_weights=True` weighs the tags, so it needs `tags`. Pass tags or set "
        "`sample_weights=False`.",
    )
    boundaries = bucketing.resolve_boundaries(boundaries, lengths, num_buckets, max_length,
                                             batch_size)
    bucketing.log_truncation(lengths, max_length, "sentences")

    def to_output(batch):
        if "y" not in batch:
            return _x(batch)
        if sample_weights:
            return _x(batch), batch["y"], tf.cast(batch["y"] != 0, "float32")
        return _x(batch), batch["y"]

    return bucketing.bucketed_columns(
        elements, lengths=lengths, batch_size=batch_size, boundaries=boundaries,
        shuffle=shuffle, seed=seed, max_length=max_length, min_length=min_length,
        min_chars=min_chars, per_token=True, to_output=to_output, prefetch=prefetch,
    )


def predict_in_order(
    model,
    inputs,
    *,
    vectorizer=None,
    batch_size=32,
    boundaries=None,
    num_buckets=None,
    min_length=1,
    per_token=False,
):
    """Predicts through the bucketed pipeline and returns the results in the input order.

    Args:
        model: a Keras model with one output, over the ids `inputs` gives.
        inputs: list of str (with `vectorizer`), ids from `encode_texts`, or what
            `encode_sentences` returned (for a tagger).
        vectorizer: the `TextVectorization` for raw texts, or None.
        batch_size, boundaries, num_buckets, min_length: as in `classification_dataset`.
        per_token: bool. The model outputs one prediction per step (a tagger): return one
            array per input, cut to its length. Defaults to False.

    Returns:
        `np.ndarray` with one row per input (`per_token=False`), or a list of arrays of
        shape `(length_i, ...)` (`per_token=True`); row i belongs to input i.
    """
    _validation.check_bool("per_token", per_token)
    batches = OrderedBatches(inputs, vectorizer=vectorizer, batch_size=batch_size,
                             boundaries=boundaries, num_buckets=num_buckets,
                             min_length=min_length)
    return batches.predict(model, per_token=per_token)


class OrderedBatches:
    """The bucketed pipeline `predict_in_order` reads, built once for inputs predicted again
    and again (a dev set scored after every epoch: building it traces its functions, 0.3-0.6 s
    a time on a 2-core CPU, more than scoring a small dev set takes).

    Arguments as `predict_in_order`'s; `predict(model, per_token=False)` returns what it does.
    """

    def __init__(self, inputs, *, vectorizer=None, batch_size=32, boundaries=None,
                 num_buckets=None, min_length=1):
        bucketing.check_batching(batch_size, boundaries, num_buckets, min_length, None, None)
        if vectorizer is not None:
            inputs = encoding.encode_texts(inputs, vectorizer)
        features = encoding.as_features("inputs", inputs)
        self.lengths = features["token_ids"].row_lengths().numpy()
        elements = dict(features, index=tf.range(len(self.lengths)))
        self.dataset = bucketing.bucketed_columns(
            elements, lengths=self.lengths, batch_size=batch_size,
            boundaries=bucketing.resolve_boundaries(boundaries, self.lengths, num_buckets, None,
                                               batch_size),
            shuffle=False, seed=None, max_length=None, min_length=min_length,
            to_output=lambda batch: (_x(batch), batch["index"]),
        )

    def predict(self, model, *, per_token=False):
        lengths = self.lengths
        results = [None] * len(lengths)
        # NumPy batches: Keras's JAX trainer takes no TensorFlow tensors in `predict_on_batch`.
        for x, index in self.dataset.as_numpy_iterator():
            output = np.asarray(model.predict_on_batch(x))
            for row, position in enumerate(index):
                results[position] = output[row, : lengths[position]] if per_token else output[row]
        if per_token:
            return results
        return np.stack(results) if results else np.zeros((0,))


def language_model_dataset(
    ids, *, sequence_length, batch_size=32, shuffle=False, seed=None, stateful=False,
    prefetch=True,
):
    """Batches of `(inputs, targets)` for next-token prediction: targets are inputs shifted by one.

    The corpus is cut into windows of `sequence_length + 1` consecutive ids that overlap by
    one id (window i starts at `i * sequence_length`); each gives `inputs = window[:-1]` and
    `targets = window[1:]`, so every id of the corpus but the first is a target exactly
    once. The tail too short for a window is dropped.

    With `stateful=True` (truncated back-propagation through time with a stateful RNN) the
    corpus is instead split into `batch_size` contiguous streams, and row j of batch k+1
    continues row j of batch k, so the state carried between batches belongs to the same
    text. Every batch is then full (`drop_remainder`) and nothing is shuffled.

    Args:
        ids: 1-D array-like of int. The encoded corpus (e.g. `char_lookup` applied to
            `tf.strings.unicode_split(text, "UTF-8")`).
        sequence_length: int. Steps per window.
        batch_size: int. Windows per batch. Defaults to 32.
        shuffle: bool. Reshuffle the windows every epoch (not with `stateful`).
        seed: int or None. Shuffle seed.
        stateful: bool. Contiguous streams for a stateful RNN. Defaults to False.
        prefetch: bool. Prefetch batches. Defaults to True.

    Returns:
        A `tf.data.Dataset` of int32 `(batch, sequence_length)` pairs.

    Example:

    >>> batches = language_model_dataset(list(range(1, 8)), sequence_length=3, batch_size=2)
    >>> [(x.numpy().tolist(), y.numpy().tolist()) for x, y in batches]
    [([[1, 2, 3], [4, 5, 6]], [[2, 3, 4], [5, 6, 7]])]
    """
    _validation.check_positive_int("sequence_length", sequence_length)
    _validation.check_positive_int("batch_size", batch_size)
    _validation.check_bool("shuffle", shuffle)
    _validation.check_bool("stateful", stateful)
    _validation.check_bool("prefetch", prefetch)
    if seed is not None:
        _validation.check_seed("seed", seed)
    _validation.check_conflict(
        stateful and shuffle,
        "`stateful=True` keeps the streams in order so that each batch continues the "
        "previous one; it cannot shuffle. Set `shuffle=False` or `stateful=False`.",
    )
    ids = corpus_ids(ids)
    if stateful:
        # Batch k holds chunk k of every stream (`seqrecipes.ids.stream_chunks`).
        inputs, targets = stream_chunks(ids, streams=batch_size, sequence_length=sequence_length)
        steps = len(inputs)
        needed = batch_size * sequence_length + 1
    else:
        steps = (len(ids) - 1) // sequence_length
        needed = sequence_length + 1
    if steps < 1:
        raise InvalidArgumentError(
            f"The corpus has {len(ids)} ids, too few for one batch: it needs at least {needed} "
            f"(sequence_length={sequence_length}"
            + (f", batch_size={batch_size}, stateful=True)." if stateful else ").")
        )
    if stateful:
        dataset = tf.data.Dataset.from_tensor_slices((inputs, targets))
    else:
        windows = ids[np.arange(steps)[:, None] * sequence_length + np.arange(sequence_length + 1)]
        dataset = tf.data.Dataset.from_tensor_slices((windows[:, :-1], windows[:, 1:]))
        if shuffle and seed is not None:
            dataset = _seeding.shuffled(dataset, steps, seed)  # order from (seed, epoch)
        elif shuffle:
            dataset = dataset.shuffle(steps, reshuffle_each_iteration=True)
        dataset = dataset.batch(batch_size)
    return bucketing.finished(dataset, prefetch)
