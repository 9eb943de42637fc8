"""`seqrecipes vectors`: gensim vectors on the embedded samples, in the formats the readers take.

Tiny runs (8 dimensions, 1 epoch, a few hundred texts: well under a second each, no
TensorFlow); the vectors are read back with gensim's own loaders, as `--word-vectors` reads them.
"""

import gzip
import json

import numpy as np
import pytest
from cli_runner import run_main

from seqrecipes.datasets import korean, sample_path
from seqrecipes.errors import DataError, InvalidArgumentError, RunDirectoryError
from seqrecipes.recipes import vectors

gensim = pytest.importorskip("gensim")
from gensim.models import KeyedVectors  # noqa: E402
from gensim.models.fasttext import load_facebook_vectors  # noqa: E402

TINY = dict(embedding_dim=8, epochs=1, min_count=1, verbose=0)
CONLL = "-DOCSTART- -X- O\n\nAda B-PER\nLovelace I-PER\nmet O\nParis B-LOC\n\nParis B-LOC\n"


@pytest.fixture(scope="module")
def english(tmp_path_factory):
    """A word2vec run on the English sentiment sample (the default data)."""
    return vectors.train(run_dir=tmp_path_factory.mktemp("en") / "run", **TINY)


@pytest.fixture(scope="module")
def fasttext(tmp_path_factory):
    """A fastText run on the English NER sample (CoNLL tokens, lower-cased)."""
    return vectors.train(data=sample_path("ner_en.conll"), algorithm="fasttext",
                         buckets=1000, run_dir=tmp_path_factory.mktemp("ft") / "run", **TINY)


def test_the_vec_file_holds_the_sentiment_tokenizers_words(english):
    loaded = KeyedVectors.load_word2vec_format(str(english.path / "vectors.vec"))
    assert english.word_vectors == english.path / "vectors.vec"
    assert loaded.vector_size == 8
    # "words": lower-cased, punctuation and HTML removed, as sentiment's TextVectorization.
    from seqrecipes.datasets import load_table
    from seqrecipes.portable.text import TextVectorizer

    splitter = TextVectorizer(["", "[UNK]"], standardize="lower_strip_html_and_punctuation")
    texts = load_table(sample_path("sentiment_en")).texts
    expected = {token for text in texts for token in splitter.tokens(text)}
    assert set(loaded.key_to_index) == expected
    config = json.loads((english.path / "config.json").read_text(encoding="utf-8"))
    assert config["tokenizer"] == "words" and config["corpus"]["texts"] == len(texts)
    assert config["corpus"]["vectors"] == len(expected) == config["corpus"]["vocabulary"]
    assert config["corpus"]["tokens"] == sum(len(splitter.tokens(text)) for text in texts)


def test_the_same_seed_gives_the_same_vectors(english, tmp_path):
    again = vectors.train(run_dir=tmp_path / "again", **TINY)
    assert (again.path / "vectors.vec").read_bytes() == (
        english.path / "vectors.vec").read_bytes()
    other = vectors.train(run_dir=tmp_path / "other", seed=7, **TINY)
    assert (other.path / "vectors.vec").read_bytes() != (
        english.path / "vectors.vec").read_bytes()


def test_fasttext_bin_gives_an_unseen_word_a_vector(fasttext):
    assert fasttext.word_vectors.name == "vectors.bin"
    # 1,000 buckets x 8 floats for the n-grams, besides the words' own vectors.
    assert fasttext.word_vectors.stat().st_size < 1000 * 8 * 4 + 1013 * 8 * 4 * 2 + 50_000
    loaded = load_facebook_vectors(str(fasttext.word_vectors))
    text = KeyedVectors.load_word2vec_format(str(fasttext.path / "vectors.vec"))
    assert "harwicks" not in loaded.key_to_index
    assert loaded["harwicks"].shape == (8,) and np.any(loaded["harwicks"])
    # CoNLL tokens lower-cased, as `ner train` does by default; both files hold the same words.
    assert "harwick" in loaded.key_to_index and "Harwick" not in loaded.key_to_index
    assert set(text.key_to_index) == set(loaded.key_to_index)
    np.testing.assert_allclose(text["paris"], loaded["paris"], rtol=1e-5, atol=1e-6)


def test_predict_gives_neighbours_and_says_which_vectors(fasttext, english):
    seen, unseen = vectors.predict(fasttext.path, ["Harwick", "harwicks"], topn=3)
    assert seen.key == "harwick" and not seen.from_subwords and len(seen.neighbours) == 3
    assert unseen.from_subwords and len(unseen.neighbours) == 3
    (missing,) = vectors.predict(english.path, ["zzqx"])
    assert missing.key is None and missing.neighbours == []


def test_predict_on_the_command_line(english, tmp_path, monkeypatch):
    status, out, err = run_main("vectors", "predict", english.path, "Film", "zzqx",
                                "--topn", "2")
    assert status == 0, err
    film, zzqx = out.splitlines()
    assert film.split("\t")[0] == "Film" and len(film.split("\t")) == 3
    assert zzqx == "zzqx" and "'zzqx'" in err and "no vector" in err
    words = tmp_path / "words.txt"
    words.write_text("Film\nzzqx\n")
    status, from_file, _ = run_main("vectors", "predict", english.path, "--file", words,
                                    "--topn", "2")
    assert status == 0 and from_file == out


def test_korean_morphemes_appear_as_form_and_tag(tmp_path):
    if not korean.kiwipiepy_installed():
        pytest.skip("kiwipiepy is not installed")
    result = vectors.train(language="ko", tokenizer="morpheme_tags",
                           run_dir=tmp_path / "ko", **TINY)
    words = set(KeyedVectors.load_word2vec_format(str(result.word_vectors)).key_to_index)
    assert any(word.endswith("/nng") for word in words)  # lower-cased, as sentiment does
    assert all(" " not in word for word in words)


def test_syllables_leave_out_the_space_and_count_it(tmp_path):
    corpus = tmp_path / "ko.txt"
    corpus.write_text("재밌다 정말\n정말 재밌다\n")
    result = vectors.train(data=corpus, language="ko", tokenizer="syllables",
                           run_dir=tmp_path / "run", **TINY)
    words = set(KeyedVectors.load_word2vec_format(str(result.word_vectors)).key_to_index)
    assert words == set("재밌다정말")
    assert result.corpus["spaced_tokens_left_out"] == 2


def test_formats_are_recognised_and_files_concatenated(tmp_path):
    text = tmp_path / "notes.txt.gz"
    text.write_bytes(gzip.compress("alpha beta\n\ngamma\n".encode()))
    table = tmp_path / "ratings.txt"  # NSMC's layout: a TSV named .txt
    table.write_text("id\tdocument\tlabel\n1\tdelta epsilon\t0\n")
    conll = tmp_path / "train.txt"  # CoNLL-2003's name
    conll.write_text(CONLL)
    result = vectors.train(data=[text, table, conll], run_dir=tmp_path / "run", **TINY)
    files = result.corpus["files"]
    assert [(f["format"], f["texts"], f["empty"]) for f in files] == [
        ("text", 2, 1), ("tsv", 1, 0), ("conll", 2, 0)]
    words = set(KeyedVectors.load_word2vec_format(str(result.word_vectors)).key_to_index)
    assert words == {"alpha", "beta", "gamma", "delta", "epsilon", "ada", "lovelace", "met",
                     "paris"}
    assert result.corpus["texts"] == 5 and result.corpus["tokens"] == 10


def test_text_column_and_no_lowercase(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("id,body\n1,Hello there\n")
    result = vectors.train(data=table, text_column="body", run_dir=tmp_path / "a", **TINY)
    assert result.corpus["files"][0]["column"] == "body"
    conll = tmp_path / "c.conll"
    conll.write_text(CONLL)
    result = vectors.train(data=conll, lowercase=False, run_dir=tmp_path / "b", **TINY)
    words = KeyedVectors.load_word2vec_format(str(result.word_vectors)).key_to_index
    assert "Lovelace" in words and "lovelace" not in words


@pytest.mark.parametrize("kwargs, match", [
    (dict(algorithm="glove"), "`algorithm`"),
    (dict(embedding_dim=0), "`embedding_dim`"),
    (dict(min_count=True), "`min_count`"),
    (dict(tokenizer="morphemes"), "`tokenizer`"),  # an English run
    (dict(min_n=2), "`min_n`"),  # word2vec has no character n-grams
    (dict(buckets=10), "`buckets`"),
    (dict(algorithm="fasttext", min_n=5, max_n=3), "`min_n` must not exceed `max_n`"),
    (dict(lowercase=False), "`lowercase`"),  # the sample is a table, not CoNLL
    (dict(token_column=1), "`token_column`"),
])
def test_bad_settings_are_refused(tmp_path, kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        vectors.train(run_dir=tmp_path / "run", **{**TINY, **kwargs})


def test_data_errors_name_the_file_and_the_fix(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(DataError, match="No tokens to train on: .*empty.txt"):
        vectors.train(data=empty, run_dir=tmp_path / "a", **TINY)
    rare = tmp_path / "rare.txt"
    rare.write_text("one two three\n")
    with pytest.raises(DataError, match=r"rare.txt: no word occurs min_count=2 times .* "
                                        r"Lower `min_count`"):
        vectors.train(data=rare, run_dir=tmp_path / "b", **{**TINY, "min_count": 2})
    table = tmp_path / "t.csv"
    table.write_text("id,body\n1,Hello\n")
    with pytest.raises(DataError, match="t.csv: `text_column`='texts' is not a column"):
        vectors.train(data=table, text_column="texts", run_dir=tmp_path / "c", **TINY)


def test_command_line_errors_name_the_flags(tmp_path):
    rare = tmp_path / "rare.txt"
    rare.write_text("one two three\n")
    status, _, err = run_main("vectors", "train", "--data", rare, "--run-dir", tmp_path / "a")
    assert status == 2 and "min_count" not in err and "Lower `--min-count`" in err
    status, _, err = run_main("vectors", "train", "--data", rare, "--no-lowercase",
                              "--run-dir", tmp_path / "b")
    assert status == 2 and "--no-lowercase" in err and "`--lowercase`" in err
    status, _, err = run_main("vectors", "train", "--data", tmp_path / "nothing.txt",
                              "--run-dir", tmp_path / "c")
    assert status == 2 and "nothing.txt" in err


def test_the_run_directory_is_guarded_like_every_recipes(english, tmp_path):
    status, _, err = run_main("vectors", "train", "--run-dir", english.path, "--epochs", "1")
    assert status == 2 and "--overwrite" in err
    with pytest.raises(RunDirectoryError, match="not of 'vectors'"):
        manifest = json.loads((english.path / "run.json").read_text(encoding="utf-8"))
        copy = tmp_path / "copy"
        copy.mkdir()
        for name in manifest["files"]:
            (copy / name).write_bytes((english.path / name).read_bytes())
        (copy / "run.json").write_text(json.dumps({**manifest, "recipe": "sentiment"}))
        vectors.load(copy)


def test_quiet_and_summary(tmp_path):
    status, out, err = run_main("vectors", "train", "--run-dir", tmp_path / "a", "--epochs",
                                "1", "--dim", "4", "--min-count", "1")
    assert status == 0, err
    assert f"--word-vectors {tmp_path / 'a' / 'vectors.vec'} --embedding-dim 4" in out
    status, out, err = run_main("vectors", "train", "--run-dir", tmp_path / "b", "--epochs",
                                "1", "--dim", "4", "--quiet")
    assert status == 0 and out == "", err


def test_missing_gensim_names_the_extra(monkeypatch, tmp_path):
    import builtins

    real_import = builtins.__import__

    def no_gensim(name, *args, **kwargs):
        if name == "gensim" or name.startswith("gensim."):
            raise ImportError("No module named 'gensim'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_gensim)
    with pytest.raises(ImportError, match=r'pip install "seqrecipes\[vectors\]"'):
        vectors.train(run_dir=tmp_path / "run", **TINY)
    assert not (tmp_path / "run").exists()


def test_a_text_over_gensims_limit_is_cut_not_truncated(tmp_path):
    # gensim trains on the first 10,000 tokens of a text and drops the rest silently.
    corpus = tmp_path / "one_line.txt"
    corpus.write_text(" ".join(f"w{i % 6000}" for i in range(12_000)) + " tail tail\n")
    result = vectors.train(data=corpus, run_dir=tmp_path / "run", **TINY)
    words = KeyedVectors.load_word2vec_format(str(result.word_vectors)).key_to_index
    assert "tail" in words and len(words) == 6001
    assert result.corpus["texts_cut"] == 1 and result.corpus["texts"] == 1
    # The pieces gensim is given: every token, none longer than its limit.
    from gensim.models.word2vec_inner import MAX_WORDS_IN_BATCH

    from seqrecipes.recipes.engine.vector_training import _pieces

    pieces, cut = _pieces([["a"] * 25_000, ["b"] * 3], MAX_WORDS_IN_BATCH)
    assert cut == 1 and [len(piece) for piece in pieces] == [10_000, 10_000, 5_000, 3]


def test_training_vectors_imports_no_tensorflow(tmp_path):
    # A fresh process: this one imported TensorFlow in conftest.
    import os
    import pathlib
    import subprocess
    import sys

    import seqrecipes

    probe = ("import sys\nfrom seqrecipes.cli import main\n"
             f"status = main(['vectors', 'train', '--run-dir', {str(tmp_path / 'run')!r}, "
             "'--epochs', '1', '--dim', '4', '--quiet'])\n"
             "print(status, sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n")
    root = pathlib.Path(seqrecipes.__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(root)}, timeout=300)
    assert result.stdout.strip() == "0 []", result.stderr[-2000:]
