"""`datasets.word_vectors`: each file format read by gensim, the vocabulary matched, the errors.

The vector files are written here by gensim itself (word2vec text and binary, fastText `.vec`
and Facebook `.bin`), and GloVe text by hand (it is word2vec text without the header line).
"""

import sys

import numpy as np
import pytest

gensim_models = pytest.importorskip("gensim.models", reason="the `vectors` extra (gensim)")

from seqrecipes.datasets import word_vectors  # noqa: E402
from seqrecipes.errors import (  # noqa: E402
    DataError, DataFileNotFoundError, InvalidArgumentError, MissingDependencyError,
)

WORDS = ["the", "Paris", "film", "good", "PARIS"]  # "Paris" before "PARIS": the first wins
VECTORS = (np.arange(20, dtype="float32").reshape(5, 4) + 1) / 8  # exact in float32 and text


def write_glove(path, words=WORDS, vectors=VECTORS):
    path.write_text("".join(f"{word} {' '.join(repr(float(v)) for v in row)}\n"
                            for word, row in zip(words, vectors)))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """{format name: path} of the same five vectors in every format, plus a fastText .bin."""
    folder = tmp_path_factory.mktemp("vectors")
    keyed = gensim_models.KeyedVectors(4)
    keyed.add_vectors(WORDS, VECTORS)
    keyed.save_word2vec_format(str(folder / "w2v.txt"))
    keyed.save_word2vec_format(str(folder / "w2v.bin"), binary=True)
    keyed.save_word2vec_format(str(folder / "wiki.vec"))  # what fastText writes as .vec
    sentences = [["the", "film", "was", "good"], ["paris", "is", "big"]] * 5
    model = gensim_models.FastText(vector_size=4, min_count=1, min_n=2, max_n=3, bucket=50,
                                   epochs=1, seed=1, workers=1)
    model.build_vocab(sentences)
    model.train(sentences, total_examples=len(sentences), epochs=1)
    gensim_models.fasttext.save_facebook_model(model, str(folder / "ft.bin"))
    return {
        "glove": write_glove(folder / "glove.txt"),
        # a GloVe text file under a binary-looking name: the content decides
        "glove_named_bin": write_glove(folder / "glove.bin"),
        "word2vec_text": folder / "w2v.txt", "word2vec_binary": folder / "w2v.bin",
        "fasttext_vec": folder / "wiki.vec", "fasttext_bin": folder / "ft.bin",
    }


@pytest.mark.parametrize("name, fmt", [
    ("glove", "glove_text"), ("glove_named_bin", "glove_text"),
    ("word2vec_text", "word2vec_text"), ("word2vec_binary", "word2vec_binary"),
    ("fasttext_vec", "word2vec_text"),
])
def test_each_format_is_read_from_its_content_with_the_files_vectors(files, name, fmt):
    vectors = word_vectors.load_word_vectors(files[name])
    assert vectors.format == fmt
    assert vectors.dim == 4 and vectors.keyed_vectors.index_to_key == WORDS
    np.testing.assert_array_equal(vectors.keyed_vectors.vectors, VECTORS)
    assert f"({word_vectors.FORMATS[fmt]}, 4 dims, 5 words)" in vectors.describe()


def test_vocabulary_rows_exact_then_lower_cased_then_random_with_coverage(files):
    vectors = word_vectors.load_word_vectors(files["glove"])
    tokens = ["", "[UNK]", "the", "paris", "Film", "good", "unseen"]
    counts = [7, 3, 10, 4, 2, 1, 5]  # id 0 (padding) is not a token; id 1's are missing
    matrix, coverage = word_vectors.vectors_for_vocabulary(vectors, tokens, counts=counts,
                                                          seed=0)
    assert matrix.shape == (7, 4) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix[2], VECTORS[0])  # "the": exact
    np.testing.assert_array_equal(matrix[3], VECTORS[1])  # "paris": "Paris", not "PARIS"
    np.testing.assert_array_equal(matrix[4], VECTORS[2])  # "Film": "film"
    np.testing.assert_array_equal(matrix[5], VECTORS[3])  # "good": exact
    for row in (0, 1, 6):  # padding, OOV and the uncovered word: Keras's random range
        assert np.all(np.abs(matrix[row]) <= word_vectors.RANDOM_LIMIT)
        assert np.any(matrix[row] != 0)
    assert coverage == {
        "path": str(files["glove"]), "format": "glove_text", "dim": 4, "file_words": 5,
        "words": 5, "exact": 2, "lowercase": 2, "subword": 0, "missing": 1,
        "tokens": 25, "exact_tokens": 11, "lowercase_tokens": 6, "subword_tokens": 0,
        "missing_tokens": 8,
    }
    assert word_vectors.coverage_line(coverage) == (
        "glove.txt (GloVe text, 4 dims): 4 of 5 words (80.0%: 2 exact, 2 lower-cased); "
        "68.0% of training tokens")
    again, _ = word_vectors.vectors_for_vocabulary(vectors, tokens, seed=0)
    np.testing.assert_array_equal(again, matrix)  # the seed fixes the random rows


def test_fasttext_binary_gives_unseen_words_a_vector_from_their_ngrams(files):
    vectors = word_vectors.load_word_vectors(files["fasttext_bin"])
    assert vectors.format == "fasttext_binary" and vectors.dim == 4
    keyed = vectors.keyed_vectors
    tokens = ["", "[UNK]", "film", "Paris", "films"]
    matrix, coverage = word_vectors.vectors_for_vocabulary(vectors, tokens)
    np.testing.assert_array_equal(matrix[2], keyed["film"])
    np.testing.assert_array_equal(matrix[3], keyed["paris"])  # lower-cased match
    assert "films" not in keyed.key_to_index
    np.testing.assert_allclose(matrix[4], keyed.get_vector("films"))
    assert (coverage["exact"], coverage["lowercase"], coverage["subword"],
            coverage["missing"]) == (1, 1, 1, 0)
    assert "1 from subword n-grams" in word_vectors.coverage_line(coverage)


def test_token_counts_from_ragged_or_nested_ids():
    tf = pytest.importorskip("tensorflow")
    ragged = tf.ragged.constant([[2, 3, 3], [], [1, 2]])
    np.testing.assert_array_equal(word_vectors.token_counts(ragged, 5), [0, 1, 2, 2, 0])
    np.testing.assert_array_equal(word_vectors.token_counts([[4], [4, 0]], 5), [1, 0, 0, 0, 2])


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"\n  \n", "is empty"),
    (b"the 0.1 0.2\nfilm 0.3\n",
     r"bad:2: expected a word and 2 values \(line 1 gives 2 dimensions\), found 1 values"),
    (b"the 0.1 0.2\nfilm 0.3 0.4 0.5\n", "bad:2: expected a word and 2 values"),
    (b"2 3\nthe 0.1 0.2 0.3\nfilm 0.3 0.4\n",
     r"bad:3: expected a word and 3 values \(the header gives 3 dimensions\), found 2"),
    (b"the 0.1 0.2\nfilm 0.3 zero\n", "bad:2: 'zero' is not a number"),
    (b"the\t0.1\t0.2\n", "bad:1: a word with no values after it"),
    (b"3 2\nthe 0.1 0.2\nfilm 0.3 0.4\n", r"bad:1: the header says 3 vectors, but the file has 2"),
    (b"the 0.1 0.2\nfilm \xff\xfe 0.4\n", "bad:2: not UTF-8 text"),
    (b"3 2\nthe \x00\x00\x80?\x00\x00\x80?", "cannot be read as word2vec binary"),
])
def test_malformed_files_are_refused_with_file_and_line(tmp_path, content, message):
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as raised:
        word_vectors.load_word_vectors(path)
    assert str(raised.value).startswith("`word_vectors`: ")


def test_a_missing_file_is_named():
    with pytest.raises(DataFileNotFoundError, match="`word_vectors`: no such file: 'nope.txt'"):
        word_vectors.load_word_vectors("nope.txt")


def test_a_dimension_other_than_embedding_dim_is_refused_naming_both(files):
    vectors = word_vectors.load_word_vectors(files["glove"])
    message = (r"`word_vectors` .*glove.txt holds 4-dimensional vectors, but embedding_dim=8\. "
               r"Leave out `embedding_dim` .*, or pass embedding_dim=4\.")
    with pytest.raises(InvalidArgumentError, match=message):
        word_vectors.vectors_for_vocabulary(vectors, ["", "[UNK]", "the"], embedding_dim=8)
    assert word_vectors.check_dimension(vectors, None) == 4


def test_no_overlap_is_refused_with_examples_of_both_sides(files):
    vectors = word_vectors.load_word_vectors(files["glove"])
    with pytest.raises(InvalidArgumentError) as raised:
        word_vectors.vectors_for_vocabulary(vectors, ["", "[UNK]", "정말/MAG", "영화/NNG"])
    message = str(raised.value)
    assert "none of the 2 vocabulary words tried" in message
    assert "['정말/MAG', '영화/NNG']" in message and "['the', 'Paris', 'film'" in message
    assert "same tokenizer" in message


def test_missing_gensim_names_the_extra(files, monkeypatch):
    monkeypatch.setitem(sys.modules, "gensim", None)
    monkeypatch.setitem(sys.modules, "gensim.models", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "seqrecipes\[vectors\]"'):
        word_vectors.load_word_vectors(files["glove"])
