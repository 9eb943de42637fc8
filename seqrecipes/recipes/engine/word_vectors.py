"""`word_vectors` in a recipe (sentiment, NER): one way to check, read and use the file.

`check_freeze` refuses `freeze_vectors` without `word_vectors`; `read` loads the file before
any data (a bad file fails fast) and gives the embedding width; `initial_table` turns it into
the first embedding table of the run's vocabulary, prints the coverage line and returns the
coverage config.json stores (with the file's SHA-256, as resumption checks every input).

`own_vectors` decides whether a run without a file trains word2vec on its own training tokens
(`ner train --own-vectors`), and `train_own` trains them with `seqrecipes vectors train`'s
defaults but `OWN_VECTORS_EPOCHS` passes: word2vec made in seconds from CoNLL-2003's
train.txt alone added 0.5 (JAX) to 1.1 (TensorFlow) points of test entity F1 to the NER
defaults with 5 passes, 1.3 on its first 1 MB, and 20 passes added 0.3-1.1 more (README).
"""

import os

from seqrecipes import _validation
from seqrecipes.recipes.engine import fingerprint as _fingerprint

# `own_vectors=None` trains them for a training file at least this large, where they were
# measured to help (README); smaller files keep a random embedding unless asked.
OWN_VECTORS_MIN_BYTES = 1_000_000
# Passes of word2vec over the training tokens. gensim's 5 (`vectors train`'s default) suit a
# large corpus; a training file is small (CoNLL-2003: 204k tokens) and 20 passes gave
# better vectors for the tagger: test entity F1 0.8680 -> 0.8710 (seed 1234) and 0.8632 ->
# 0.8740 (seed 42), JAX, README; 7.5 s instead of 2.4.
OWN_VECTORS_EPOCHS = 20


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
    if vectors.path is not None:  # a file, not vectors trained by the run
        coverage["sha256"] = _fingerprint.sha256(vectors.path)  # as resumption checks inputs
    print(f"Word vectors: {datasets.coverage_line(coverage)}")
    return matrix, coverage


def own_vectors(own, word_vectors, train):
    """Whether the run trains word2vec on its training tokens (`own`: True, False, or None
    for the default: yes for a `train` file of at least `OWN_VECTORS_MIN_BYTES` when gensim
    is installed and no `word_vectors` file is given; a line says when gensim is missing).

    Raises:
        InvalidArgumentError: `own` is True with a `word_vectors` file.
        MissingDependencyError: `own` is True and gensim is not installed.
    """
    from seqrecipes.datasets import word_vectors as _files

    if own is not None:
        _validation.check_bool("own_vectors", own)
        _validation.check_conflict(
            own and word_vectors is not None,
            "`own_vectors` trains the word vectors on the training tokens and `word_vectors` "
            f"reads them from a file: pass one. Received: own_vectors=True, word_vectors="
            f"{word_vectors!r}.")
        if own:
            _files.import_gensim("Training word vectors on the training tokens (`own_vectors`)")
        return own
    if word_vectors is not None or train is None:
        return False
    if os.path.getsize(train) < OWN_VECTORS_MIN_BYTES:
        return False
    try:
        _files.import_gensim()
    except ImportError:
        print("Word vectors: none. With gensim (`pip install \"seqrecipes[vectors]\"`) a "
              "training file this large starts the word embedding from word2vec on its own "
              "tokens (measured better: README, \"Named-entity tagging\").")
        return False
    return True


def train_own(sentences, *, embedding_dim, seed, source):
    """`WordVectors` from word2vec on the token lists `sentences` (as the vocabulary reads
    them: lower-cased when it is), as `seqrecipes vectors train --epochs 20` makes them.

    Raises:
        DataError: no word occurs often enough to get a vector (`source` names the data).
    """
    from seqrecipes.datasets.word_vectors import WordVectors
    from seqrecipes.errors import DataError
    from seqrecipes.recipes.engine import vector_training as _vectors

    try:
        model, _, _, seconds = _vectors.fit(sentences, source=source, epochs=OWN_VECTORS_EPOCHS,
                                            embedding_dim=embedding_dim, seed=seed, verbose=0)
    except DataError:
        tokens = sum(len(sentence) for sentence in sentences)
        raise DataError(
            f"{source}: no word occurs {_vectors.MIN_COUNT} times in the {tokens:,} tokens "
            "trained on, so word2vec on them (own_vectors=True) gives no word a vector. Train "
            "without them (own_vectors=False), or on more text.") from None
    print(f"Word vectors: word2vec trained on the training tokens ({OWN_VECTORS_EPOCHS} "
          f"passes) in {seconds:.1f} s")
    return WordVectors(path=None, format="word2vec_own", keyed_vectors=model.wv)
