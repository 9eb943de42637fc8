"""`vectors.load` and `vectors.predict`: a run's vectors and each word's nearest neighbours."""

import dataclasses
import pathlib

from seqrecipes import _validation
from seqrecipes.datasets import load_word_vectors
from seqrecipes.errors import RunDirectoryError
from seqrecipes.recipes.engine import artifacts as _artifacts
from seqrecipes.recipes.vectors import training as _train


def load(run_dir):
    """Returns the vectors of a `vectors` run as gensim `KeyedVectors`.

    A fastText run gives its `vectors.bin` (`FastTextKeyedVectors`, whose character n-grams
    give any word a vector), a word2vec run its `vectors.vec`. The run's files are checked
    against its manifest first, as every recipe's `load` does.

    Raises:
        RunDirectoryError: not a complete run, a damaged one, or a run of another recipe.
        MissingDependencyError: gensim is not installed.
    """
    run_dir = pathlib.Path(run_dir)
    manifest = _artifacts.read_manifest(run_dir)
    if manifest.get("recipe") != _train.RECIPE:
        raise RunDirectoryError(
            f"{str(run_dir)!r} is a run of {manifest.get('recipe')!r}, not of 'vectors'. Give a "
            "run directory written by `seqrecipes vectors train`.")
    name = (_train.FASTTEXT_FILE if _train.FASTTEXT_FILE in manifest["files"]
            else _train.VECTORS_FILE)
    return load_word_vectors(run_dir / name).keyed_vectors  # the reader --word-vectors uses


@dataclasses.dataclass(frozen=True)
class Neighbours:
    """The nearest neighbours of one word.

    Attributes:
        word: str. The word asked for.
        key: str or None. The word looked up: `word`, else its lower-case form, whichever has
            a vector of its own; for a word with neither, `word` when its vector comes from
            character n-grams (fastText), None when it has no vector.
        from_subwords: bool. The vector was built from character n-grams (a word the corpus
            did not hold `min_count` times).
        neighbours: list of (word, cosine similarity), most similar first; [] without a vector.
    """

    word: str
    key: object
    from_subwords: bool
    neighbours: list


def predict(run_dir, words, *, topn=10):
    """The `topn` nearest words (by cosine similarity) to each of `words`.

    Each word is looked up as given, then lower-cased (the recipes' tokenizers lower-case);
    a fastText run also answers for words it never saw, from their character n-grams.

    Args:
        run_dir: path of a `vectors` run.
        words: list of str.
        topn: int. Neighbours per word. Defaults to 10.

    Returns:
        A list of `Neighbours`, one per word, in order.
    """
    words = _validation.check_strings("words", words)
    _validation.check_positive_int("topn", topn)
    vectors = load(run_dir)
    subwords = hasattr(vectors, "buckets_word")  # FastTextKeyedVectors
    results = []
    for word in words:
        key = next((candidate for candidate in (word, word.lower())
                    if candidate and candidate in vectors.key_to_index), None)
        from_subwords = key is None and subwords and bool(word.strip())
        if from_subwords:
            key = word
        neighbours = [] if key is None else [
            (other, float(similarity))
            for other, similarity in vectors.most_similar(key, topn=topn)]
        results.append(Neighbours(word, key, from_subwords, neighbours))
    return results

