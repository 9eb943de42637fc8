"""`ner train --word-vectors FILE [--freeze-vectors]`: one frozen run on a tiny CoNLL file.

The vectors are a word2vec binary file written by gensim; the word vocabulary is lower-cased
(`--lowercase`, the default), so the file's "Paris" serves the vocabulary's "paris".
"""

import contextlib
import io
import json
import shutil

import numpy as np
import pytest

gensim_models = pytest.importorskip("gensim.models", reason="the `vectors` extra (gensim)")

from seqrecipes.cli import main  # noqa: E402
from seqrecipes.recipes import ner  # noqa: E402
from seqrecipes.recipes.engine.artifacts import load_run  # noqa: E402

SENTENCES = [
    (["Ada", "visited", "Paris", "today"], ["B-PER", "O", "B-LOC", "O"]),
    (["they", "met", "Ada", "in", "Rome"], ["O", "O", "B-PER", "O", "B-LOC"]),
    (["Paris", "is", "big"], ["B-LOC", "O", "O"]),
] * 4
FILE_WORDS = ["visited", "Paris", "ROME", "elsewhere"]
FILE_VECTORS = np.array([[0.5, -0.5, 1.0], [1.5, 0.25, -2.0], [3.0, 2.0, 1.0],
                         [7.0, 7.0, 7.0]], dtype="float32")
TINY = ["--char-features", "none", "--units", "4", "--epochs", "1", "--batch-size", "4",
        "--verbose", "0", "--context-tokens", "0"]


def write_conll(path, sentences):
    path.write_text("\n".join(line for tokens, tags in sentences
                              for line in [*(f"{t} {g}" for t, g in zip(tokens, tags)), ""]))
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ner_vectors")
    write_conll(folder / "train.conll", SENTENCES)
    write_conll(folder / "dev.conll", SENTENCES[:3])
    keyed = gensim_models.KeyedVectors(3)
    keyed.add_vectors(FILE_WORDS, FILE_VECTORS)
    keyed.save_word2vec_format(str(folder / "vectors.bin"), binary=True)
    return folder


@pytest.fixture(scope="module")
def frozen(folder):
    run_dir = folder / "run"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["ner", "train", "--train", str(folder / "train.conll"),
                       "--dev", str(folder / "dev.conll"), "--run-dir", str(run_dir),
                       "--word-vectors", str(folder / "vectors.bin"), "--freeze-vectors",
                       *TINY])
    assert status == 0
    return run_dir, out.getvalue()


def _embedding(run_dir):
    model = load_run(run_dir).model
    layers = list(model.layers)
    while layers:
        layer = layers.pop()
        if layer.name == "embedding":
            return layer
        layers.extend(getattr(layer, "layers", []))
    raise AssertionError("no embedding layer")


def test_covered_rows_are_the_files_vectors_frozen_and_coverage_is_stored(frozen, folder):
    run_dir, out = frozen
    config = json.loads((run_dir / "config.json").read_text())
    coverage = config["word_vectors_coverage"]
    layer = _embedding(run_dir)
    table = layer.get_weights()[0]
    assert layer.trainable is False and config["embedding_dim"] == 3
    assert config["freeze_vectors"] is True
    # The vocabulary: padding, OOV, then the lower-cased training words by frequency.
    vocabulary = _vocabulary(run_dir)
    for word, row in (("visited", 0), ("paris", 1), ("rome", 2)):
        np.testing.assert_array_equal(table[vocabulary.index(word)], FILE_VECTORS[row])
    assert (coverage["format"], coverage["words"], coverage["exact"], coverage["lowercase"],
            coverage["missing"]) == ("word2vec_binary", 10, 1, 2, 7)
    # token occurrences in training: visited 4, paris 8, rome 4 of 48
    assert (coverage["tokens"], coverage["exact_tokens"], coverage["lowercase_tokens"]) == (
        48, 4, 12)
    assert ("Word vectors: vectors.bin (word2vec binary, 3 dims): 3 of 10 words (30.0%: "
            "1 exact, 2 lower-cased); 33.3% of training tokens") in out


def _vocabulary(run_dir):
    model = load_run(run_dir).model
    layers = list(model.layers)
    while layers:
        layer = layers.pop()
        if layer.name == "token_lookup" or (hasattr(layer, "get_vocabulary")
                                            and "paris" in layer.get_vocabulary()):
            return [str(word) for word in layer.get_vocabulary()]
        layers.extend(getattr(layer, "layers", []))
    raise AssertionError("no token lookup")


def test_the_saved_tagger_predicts_without_the_vectors_file(frozen, folder, tmp_path):
    run_dir, _ = frozen
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    moved = shutil.move(folder / "vectors.bin", tmp_path / "elsewhere.bin")
    try:
        rows = ner.predict(copy, ["Ada visited Paris"])
    finally:
        shutil.move(moved, folder / "vectors.bin")
    assert rows[0]["tokens"] == ["Ada", "visited", "Paris"] and len(rows[0]["tags"]) == 3


@pytest.mark.parametrize("flags, expected", [
    (["--freeze-vectors"], "`--freeze-vectors` keeps the vectors of a `--word-vectors` file"),
    (["--word-vectors", "VECTORS", "--embedding-dim", "8"],
     "holds 3-dimensional vectors, but --embedding-dim 8"),
    (["--word-vectors", "missing.vec"], "`--word-vectors`: no such file: 'missing.vec'"),
    (["--word-vectors", "BAD"], "bad.vec:3: expected a word and 2 values (the header gives 2 "
                                "dimensions), found 1 values"),
])
def test_bad_vectors_and_settings_are_refused_with_flag_names(folder, tmp_path, capsys, flags,
                                                              expected):
    (tmp_path / "bad.vec").write_text("2 2\nparis 0.1 0.2\nrome 0.3\n")
    paths = {"VECTORS": str(folder / "vectors.bin"), "BAD": str(tmp_path / "bad.vec")}
    flags = [paths.get(flag, flag) for flag in flags]
    run_dir = tmp_path / "run"
    status = main(["ner", "train", "--train", str(folder / "train.conll"), "--run-dir",
                   str(run_dir), *flags, *TINY])
    assert status == 2
    assert expected in capsys.readouterr().err
    assert not run_dir.exists()


def test_python_api_names_the_arguments(folder):
    from seqrecipes.errors import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match=r"but embedding_dim=8\. .*embedding_dim=3"):
        ner.train(word_vectors=folder / "vectors.bin", embedding_dim=8)


# `--own-vectors`: word2vec on the training file's own tokens (engine/word_vectors.py).

def test_own_vectors_start_the_embedding_as_vectors_train_makes_them(folder, tmp_path,
                                                                      monkeypatch):
    from seqrecipes.recipes import vectors
    from seqrecipes.recipes.ner import training as _ner_training

    made = vectors.train(data=str(folder / "train.conll"), run_dir=tmp_path / "vectors",
                         epochs=20, verbose=0)
    expected = gensim_models.KeyedVectors.load_word2vec_format(str(made.word_vectors))
    tables = []
    build = _ner_training._build_model
    monkeypatch.setattr(_ner_training, "_build_model", lambda settings, vocabularies, *args:
                        tables.append((args[2], vocabularies)) or build(settings, vocabularies,
                                                                        *args))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["ner", "train", "--train", str(folder / "train.conll"), "--dev",
                       str(folder / "dev.conll"), "--run-dir", str(tmp_path / "run"),
                       "--own-vectors", "--embedding-dim", "100", *TINY])
    assert status == 0
    (table, vocabularies), = tables
    vocabulary = [str(word) for word in vocabularies.tokens.get_vocabulary()]
    assert sorted(expected.index_to_key) == ["ada", "paris"]  # the words seen 5 times or more
    for word in expected.index_to_key:
        np.testing.assert_allclose(table[vocabulary.index(word)], expected[word], rtol=1e-6)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    coverage = config["word_vectors_coverage"]
    assert config["own_vectors"] is True and config["word_vectors"] is None
    assert (coverage["format"], coverage["path"], coverage["exact"], coverage["words"]) == (
        "word2vec_own", None, 2, 10)
    assert ("Word vectors: word2vec on the training tokens (100 dims): 2 of 10 words (20.0%: "
            "2 exact, 0 lower-cased); 33.3% of training tokens") in out.getvalue()


def test_own_vectors_by_default_for_a_training_file_of_a_megabyte(tmp_path, monkeypatch,
                                                                  capsys):
    from seqrecipes.datasets import word_vectors as _files
    from seqrecipes.errors import InvalidArgumentError, MissingDependencyError
    from seqrecipes.recipes.engine import word_vectors as _recipe_vectors

    small, large = tmp_path / "small.conll", tmp_path / "large.conll"
    small.write_bytes(b"x O\n" * 1000)
    with open(large, "wb") as handle:  # the rule reads the size only
        handle.truncate(_recipe_vectors.OWN_VECTORS_MIN_BYTES)
    decide = _recipe_vectors.own_vectors
    assert decide(None, None, str(large)) is True
    assert decide(None, None, str(small)) is False
    assert decide(None, "vectors.vec", str(large)) is False  # the file's vectors instead
    assert decide(None, None, None) is False  # the embedded sample
    assert decide(True, None, str(small)) is True and decide(False, None, str(large)) is False
    with pytest.raises(InvalidArgumentError, match="pass one"):
        decide(True, "vectors.vec", str(large))

    def missing(purpose="Reading `word_vectors`"):
        raise MissingDependencyError(f"{purpose} needs gensim: {_files.VECTORS_INSTALL}")

    monkeypatch.setattr(_files, "import_gensim", missing)
    capsys.readouterr()
    assert decide(None, None, str(large)) is False
    assert 'pip install "seqrecipes[vectors]"' in capsys.readouterr().out
    with pytest.raises(MissingDependencyError, match=r"own_vectors.*seqrecipes\[vectors\]"):
        decide(True, None, str(large))


def test_own_vectors_on_text_too_small_for_any_vector_say_so(tmp_path, capsys):
    # no word 5 times; the dev split (a tenth of the sentences, rounded up) leaves 8 tokens
    train = write_conll(tmp_path / "train.conll", SENTENCES[:3])
    status = main(["ner", "train", "--train", str(train), "--run-dir", str(tmp_path / "run"),
                   "--own-vectors", *TINY])
    assert status == 2
    err = capsys.readouterr().err
    assert "no word occurs 5 times in the 8 tokens trained on" in err and "--no-own-vectors" in err
