"""Word vectors trained with gensim (Word2Vec, FastText) on token lists: the one trainer of
`seqrecipes vectors train` and of `ner train --own-vectors` (`engine.word_vectors`).

gensim is the library made for this; it is imported inside the functions, so importing this
module stays light (`seqrecipes --help`).
"""

import logging
import time

from seqrecipes.datasets import word_vectors as _word_vectors
from seqrecipes.errors import DataError

# fastText's (and gensim's) defaults: character 3- to 6-grams hashed into 2M buckets, each a
# vector, so the .bin holds 2M x embedding_dim floats: 800 MB at 100 dimensions (measured:
# 800,128,888 bytes on the English sample), whatever the corpus size.
FASTTEXT_DEFAULTS = {"min_n": 3, "max_n": 6, "buckets": 2_000_000}
MIN_COUNT = 5  # word2vec's and gensim's default: a word seen fewer times gets no vector


def import_gensim(purpose="Training word vectors"):
    """Returns the `gensim` module, or raises `MissingDependencyError` with the pip command."""
    return _word_vectors.import_gensim(purpose)


# `vectors.train`'s settings that `fit` takes, with its defaults there too.
FIT_SETTINGS = ("algorithm", "architecture", "embedding_dim", "window", "min_count", "epochs",
                "min_n", "max_n", "buckets", "workers", "seed")


def fit(sentences, *, source, algorithm="word2vec", architecture="skipgram", embedding_dim=100,
        window=5, min_count=MIN_COUNT, epochs=5, min_n=FASTTEXT_DEFAULTS["min_n"],
        max_n=FASTTEXT_DEFAULTS["max_n"], buckets=FASTTEXT_DEFAULTS["buckets"], workers=1,
        seed=1234, verbose=1, gensim=None):
    """Trains gensim's Word2Vec or FastText on token lists, as `vectors.train` does with the
    same settings (checked by the caller; `min_n`, `max_n` and `buckets` are read for fastText
    only); returns (model, distinct words, texts cut into pieces, seconds). `ner train` calls
    it on its training tokens (`--own-vectors`).

    Raises:
        DataError: no word occurs `min_count` times (`source` names the text in the message).
    """
    gensim = import_gensim() if gensim is None else gensim
    from gensim.models.word2vec_inner import MAX_WORDS_IN_BATCH

    options = dict(vector_size=embedding_dim, window=window, min_count=min_count,
                   sg=int(architecture == "skipgram"), epochs=epochs, workers=workers, seed=seed)
    if algorithm == "fasttext":
        model = gensim.models.FastText(min_n=min_n, max_n=max_n, bucket=buckets, **options)
    else:
        model = gensim.models.Word2Vec(**options)
    sentences, cut = _pieces(sentences, MAX_WORDS_IN_BATCH)
    vocabulary, seconds = _train(model, sentences, source, verbose)
    return model, vocabulary, cut, seconds


def _pieces(sentences, limit):
    """`(sentences, number cut)`: every token list longer than `limit` cut into pieces.

    gensim's compiled training reads the first 10,000 tokens of a text (`MAX_WORDS_IN_BATCH`)
    and drops the rest without a word (its Word2Vec docstring says so); cut into pieces, every
    token is trained on, and only the windows across a cut lose their context.
    """
    long = sum(1 for sentence in sentences if len(sentence) > limit)
    if not long:
        return sentences, 0
    return [sentence[start:start + limit] for sentence in sentences
            for start in range(0, len(sentence), limit)], long


def _train(model, sentences, source, verbose):
    """Builds `model`'s vocabulary of `sentences` (refusing an empty one) and trains it for its
    `epochs`; returns (distinct words in the corpus, seconds)."""
    logger = logging.getLogger("gensim")
    level = logger.level
    if verbose == 2:
        logging.basicConfig(format="%(asctime)s %(name)s: %(message)s")
        logger.setLevel(logging.INFO)
    try:
        started = time.perf_counter()
        model.build_vocab(sentences, keep_raw_vocab=True)
        vocabulary = len(model.raw_vocab)  # every distinct word, before min_count
        model.raw_vocab = {}  # not needed to train: free it
        if not len(model.wv):
            tokens = sum(len(sentence) for sentence in sentences)
            raise DataError(
                f"{source}: no word occurs min_count={model.min_count} times in the "
                f"{tokens:,} tokens ({vocabulary:,} distinct words), so no word gets "
                "a vector. Lower `min_count` (1 keeps every word) or give more text.")
        model.train(sentences, total_examples=len(sentences), epochs=model.epochs)
        return vocabulary, time.perf_counter() - started
    finally:
        logger.setLevel(level)
