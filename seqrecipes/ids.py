"""Token ids that models and datasets agree on, in the one module both may import.

`seqrecipes.models` and `seqrecipes.datasets` never import each other
(tests/test_layering.py); what they must both know about ids lives here, free of TensorFlow:

- Vocabularies (`datasets.vocab`, and the models that mask padding): id 0 is padding (the
  empty string, masked by `Embedding(mask_zero=True)`), id 1 is the out-of-vocabulary token.
- Seq2seq target vocabularies (`datasets.seq2seq_tasks` encodes, `models.seq2seq` decodes):
  0 padding, 1 start, 2 end; they have no unknown token, so 1 means start there.
- `stream_chunks`: a corpus of ids laid out as contiguous streams for truncated
  back-propagation through time (`datasets.pipeline.language_model_dataset(stateful=True)`
  trains on it, `models.stepping.sequence_loss` scores with it).
"""

import numpy as np

from seqrecipes.errors import InvalidArgumentError

PAD_TOKEN = ""  # id 0: padding; `Embedding(mask_zero=True)` masks it
OOV_TOKEN = "[UNK]"  # id 1: anything not in the vocabulary
PAD_ID = 0
OOV_ID = 1
START_ID = 1  # seq2seq targets: the decoder's first input
END_ID = 2  # seq2seq targets: generation stops here


def corpus_ids(ids):
    """Returns `ids` (a 1-D array-like of integer ids, an encoded corpus) as an int32 array."""
    ids = np.asarray(ids)
    if ids.ndim != 1 or ids.dtype.kind not in "iu":
        raise InvalidArgumentError(
            "`ids` must be a 1-D list of integer ids (the encoded corpus). Received: an "
            f"array of shape {ids.shape} and dtype {ids.dtype}."
        )
    return ids.astype("int32")


def stream_chunks(ids, *, streams, sequence_length):
    """Lays a corpus out as `streams` contiguous streams, cut into chunks of `sequence_length`.

    Stream j is the j-th of `streams` equal slices of the corpus; chunk k of every stream
    follows chunk k-1 of the same stream, so a state carried from chunk to chunk belongs to
    one text. Targets are the inputs shifted by one id. The tail that does not fill a chunk
    of every stream is dropped.

    Args:
        ids: 1-D int array, the encoded corpus (see `corpus_ids`).
        streams: int. Rows of every chunk (the batch size of a stateful model).
        sequence_length: int. Steps per chunk.

    Returns:
        `(inputs, targets)`, int32 arrays `(chunks, streams, sequence_length)`; `chunks` is 0
        when the corpus has fewer than `streams * sequence_length + 1` ids (the caller says
        which of its arguments to change).

    Example:

    >>> inputs, targets = stream_chunks(np.arange(1, 12), streams=2, sequence_length=2)
    >>> inputs.tolist()
    [[[1, 2], [6, 7]], [[3, 4], [8, 9]]]
    >>> targets.tolist()
    [[[2, 3], [7, 8]], [[4, 5], [9, 10]]]
    """
    ids = corpus_ids(ids)
    stream = max(len(ids) - 1, 0) // streams  # ids per stream; one more is the last target
    chunks = stream // sequence_length
    used = chunks * sequence_length
    inputs = ids[: streams * stream].reshape(streams, stream)[:, :used]
    targets = ids[1 : streams * stream + 1].reshape(streams, stream)[:, :used]
    # (streams, chunks, L) -> (chunks, streams, L): chunk k holds part k of every stream
    shape = (streams, chunks, sequence_length)
    return (inputs.reshape(shape).transpose(1, 0, 2),
            targets.reshape(shape).transpose(1, 0, 2))
