"""`word_vectors` in a recipe (sentiment, NER): one way to check, read and use the file.

`check_freeze` refuses `freeze_vectors` without `word_vectors`; `read` loads the file before
any data (a bad file fails fast) and gives the embedding width; `initial_table` turns it into
the first embedding table of the run's vocabulary, prints the coverage line and returns the
coverage config.json stores (with the file's SHA-256, as resumption checks every input).
"""

from seqrecipes import _validation
from seqrecipes.recipes.engine import fingerprint as _fingerprint


def check_freeze(word_vectors, freeze_vectors):
    """Refuses `freeze_vectors` (given, not None) without a `word_vectors` file."""
    _validation.check_conflict(
        freeze_vectors is not None and word_vectors is None,
        "`freeze_vectors` keeps the vectors of a `word_vectors` file unchanged in training; "
        f"without one there is nothing to freeze. Received: freeze_vectors={freeze_vectors!r}, "
        "word_vectors=None. Pass a `word_vectors` file or leave out `freeze_vectors`.",
    )


def read(path, embedding_dim):
    """`(WordVectors, width)`: the file at `path` and the embedding width, its dimension
    (`embedding_dim`, the width the caller gave or None, must equal it)."""
    from seqrecipes.datasets import check_dimension, load_word_vectors

    vectors = load_word_vectors(path)
    return vectors, check_dimension(vectors, embedding_dim)


def initial_table(vectors, vocabulary, train_ids, *, embedding_dim, seed):
    """`(matrix, coverage)` for the embedding of `vocabulary` (index = id), the coverage
    counted on the encoded training texts `train_ids`; prints the coverage line."""
    from seqrecipes import datasets

    counts = datasets.token_counts(train_ids, len(vocabulary))
    matrix, coverage = datasets.vectors_for_vocabulary(
        vectors, vocabulary, counts=counts, embedding_dim=embedding_dim, seed=seed)
    coverage["sha256"] = _fingerprint.sha256(vectors.path)  # as resumption checks inputs
    print(f"Word vectors: {datasets.coverage_line(coverage)}")
    return matrix, coverage
