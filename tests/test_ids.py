"""`seqrecipes.ids`: the ids models and datasets share, and the stream layout of a corpus."""

import numpy as np
import pytest

from seqrecipes import ids
from seqrecipes.datasets import language_model_dataset, vocab
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.models import seq2seq

VOCABULARY = 20


def test_one_definition_everywhere():
    assert (vocab.PAD_ID, vocab.OOV_ID, vocab.PAD_TOKEN, vocab.OOV_TOKEN) == (0, 1, "", "[UNK]")
    assert (seq2seq.PAD_ID, seq2seq.START_ID, seq2seq.END_ID) == (0, 1, 2)
    assert vocab.PAD_TOKEN is ids.PAD_TOKEN and seq2seq.END_ID is ids.END_ID


def test_streams_are_the_stateful_batches():
    corpus = np.random.default_rng(2).integers(2, VOCABULARY, size=50).astype("int32")
    inputs, targets = ids.stream_chunks(corpus, streams=3, sequence_length=4)
    batches = language_model_dataset(corpus, sequence_length=4, batch_size=3, stateful=True)
    pairs = [(x.numpy(), y.numpy()) for x, y in batches]
    assert len(pairs) == len(inputs) == 4  # 49 // 3 = 16 ids per stream, 4 chunks of 4
    for (x, y), chunk_x, chunk_y in zip(pairs, inputs, targets):
        np.testing.assert_array_equal(x, chunk_x)
        np.testing.assert_array_equal(y, chunk_y)
    np.testing.assert_array_equal(inputs[1, 0], corpus[4:8])  # stream 0 goes on in chunk 1
    np.testing.assert_array_equal(inputs[0, 1], corpus[16:20])  # stream 1 starts a third in


def test_a_corpus_too_short_gives_no_chunk_and_bad_ids_are_refused():
    inputs, targets = ids.stream_chunks(np.arange(8), streams=2, sequence_length=4)
    assert inputs.shape == targets.shape == (0, 2, 4)
    assert ids.stream_chunks(np.array([], "int32"), streams=2, sequence_length=4)[0].shape == (0, 2, 4)
    with pytest.raises(InvalidArgumentError, match="`ids` must be a 1-D list of integer ids"):
        ids.stream_chunks(np.zeros((2, 3), "int32"), streams=1, sequence_length=1)
