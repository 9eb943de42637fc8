"""Vectors recipe: word2vec or fastText word vectors trained on the user's own text (gensim).

    seqrecipes vectors train --data corpus.txt                  # word2vec skip-gram, 100-d
    seqrecipes vectors train --data train.conll --algorithm fasttext --run-dir runs/ft
    seqrecipes vectors predict runs/vectors film actor          # nearest neighbours
    seqrecipes sentiment train --data reviews.csv --word-vectors runs/vectors/vectors.vec

The text is tokenised as the recipes tokenise it (the sentiment tokenizers of `--language`,
the CoNLL tokens lower-cased as `ner train` does), so the vectors' words are the recipes'
words; the run directory holds them in the formats `--word-vectors` reads: `vectors.vec`
(word2vec text, = fastText `.vec`) and, for fastText, `vectors.bin` (Facebook's format, whose
character n-grams give unseen words a vector). It is how a user without internet access gets
pretrained vectors. There is no `evaluate`: unlabelled text has no reference to score vectors
against; the recipe that reads them measures what they add.
"""

from seqrecipes.recipes.vectors.serve import Neighbours, load, predict
from seqrecipes.recipes.vectors.training import (
    ALGORITHMS, ARCHITECTURES, DEFAULT_RUN_DIR, FASTTEXT_FILE, RECIPE, VECTORS_FILE,
    VectorsResult, run, train,
)

__all__ = [
    "ALGORITHMS", "ARCHITECTURES", "DEFAULT_RUN_DIR", "FASTTEXT_FILE", "Neighbours", "RECIPE",
    "VECTORS_FILE", "VectorsResult", "load", "predict", "run", "train",
]
