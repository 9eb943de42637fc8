"""Document context for the NER tagger: consecutive sentences of a document read as one sequence.

A sentence-level BiLSTM sees one sentence at a time, but names repeat within a news story
("Lions" in a results table is a team, "Mr Smith" was introduced two sentences earlier), and
an all-capitals headline is easier to tag next to its body. With `context_tokens > 0` the
sentences of each document (the ``-DOCSTART-`` blocks of a CoNLL file; a file without them has
no documents and its sentences stay alone) are packed, in order, into chunks of at most
`context_tokens` tokens, with a
`SEPARATOR` token (tagged ``O``) between two sentences, and the tagger reads chunks instead of
sentences. A sentence is never cut: one longer than `context_tokens` is a chunk of its own.
Predictions are cut back into sentences (separators dropped) before they are scored, so the
figures are per-sentence entity scores, comparable with sentence-level tagging.

This costs no extra computation (the same tokens, plus one separator per sentence), only
longer sequences. A sentence given alone (e.g. to `predict`) is a chunk of one sentence.
"""

import dataclasses

SEPARATOR = "\u2029"  # PARAGRAPH SEPARATOR: whitespace, so never part of a CoNLL token
SEPARATOR_TAG = "O"


@dataclasses.dataclass(frozen=True)
class Chunks:
    """Sentences packed into chunks.

    Attributes:
        tokens: list of token lists, one per chunk.
        tags: list of tag lists, one per chunk (None without tags).
        pieces: list, one per chunk, of `(sentence index, start, end)`: where each of its
            sentences lies in the chunk.
        num_sentences: int.
    """

    tokens: list
    tags: list
    pieces: list
    num_sentences: int

    def split(self, per_chunk):
        """Cuts per-token values of every chunk back into one list per sentence."""
        per_sentence = [None] * self.num_sentences
        for values, pieces in zip(per_chunk, self.pieces):
            for sentence, start, end in pieces:
                per_sentence[sentence] = list(values[start:end])
        return per_sentence


def documents_of(data):
    """The documents of `TaggedSentences`, or None for a file without ``-DOCSTART-``."""
    return data.documents if data.num_documents else None


def pack(tokens, tags=None, documents=None, *, context_tokens):
    """Packs sentences into chunks of at most `context_tokens` tokens (0: one per sentence).

    Args:
        tokens: list of token lists.
        tags: list of tag lists, or None.
        documents: list of int (the document of every sentence), or None: no documents
            known, every sentence alone.
        context_tokens: int. Longest chunk, separators included; 0 turns packing off.

    Returns:
        A `Chunks`.

    Example:

    >>> chunks = pack([["a", "b"], ["c"], ["d", "e", "f"]], documents=[1, 1, 1],
    ...               context_tokens=4)
    >>> [[t.replace(SEPARATOR, "|") for t in chunk] for chunk in chunks.tokens]
    [['a', 'b', '|', 'c'], ['d', 'e', 'f']]
    >>> chunks.split([[10, 11, 0, 12], [13, 14, 15]])
    [[10, 11], [12], [13, 14, 15]]
    """
    if documents is None:
        context_tokens = 0
    chunk_tokens, chunk_tags, pieces = [], [], []
    previous_document = None
    for index, sentence in enumerate(tokens):
        fits = (
            chunk_tokens
            and context_tokens
            and documents[index] == previous_document
            and len(chunk_tokens[-1]) + 1 + len(sentence) <= context_tokens
        )
        if fits:
            chunk_tokens[-1].append(SEPARATOR)
            start = len(chunk_tokens[-1])
            chunk_tokens[-1].extend(sentence)
            if tags is not None:
                chunk_tags[-1] += [SEPARATOR_TAG, *tags[index]]
            pieces[-1].append((index, start, start + len(sentence)))
        else:
            chunk_tokens.append(list(sentence))
            if tags is not None:
                chunk_tags.append(list(tags[index]))
            pieces.append([(index, 0, len(sentence))])
        previous_document = documents[index] if documents is not None else None
    return Chunks(
        tokens=chunk_tokens,
        tags=chunk_tags if tags is not None else None,
        pieces=pieces,
        num_sentences=len(tokens),
    )
