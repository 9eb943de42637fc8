"""`sentiment train --word-vectors FILE [--freeze-vectors]` end to end on the embedded sample.

One frozen GRU run (interrupted after its first epoch, refused with an edited vectors file,
then resumed) serves most tests; one fine-tuned fastText run shows the vectors train.
"""

import hashlib
import json
import shutil

import keras
import numpy as np
import pytest
from cli_runner import run_main

pytest.importorskip("gensim", reason="the `vectors` extra (gensim)")

from seqrecipes.recipes import sentiment  # noqa: E402
from seqrecipes.recipes.engine import training as _training  # noqa: E402
from seqrecipes.recipes.sentiment import training as _sentiment_train  # noqa: E402

# "film" matches exactly; "Great" and "Boring" lower-cased (the English vocabulary is
# lower-cased); "zzzunused" is in no text.
FILE_WORDS = {"film": [0.5, -0.25, 0.125, 1.0], "Great": [1.5, 2.0, -1.0, 0.75],
              "Boring": [-2.0, 0.5, 0.25, -0.5], "zzzunused": [9.0, 9.0, 9.0, 9.0]}
TRAIN = ["sentiment", "train", "--model", "gru", "--units", "4", "--word-vectors", "vectors.txt",
         "--freeze-vectors", "--epochs", "2", "--patience", "2", "--baseline", "none",
         "--verbose", "0", "--run-dir", "run"]


def write_vectors(path, words=FILE_WORDS):
    path.write_text("".join(f"{word} {' '.join(map(str, values))}\n"
                            for word, values in words.items()))
    return path


class Interrupt(keras.callbacks.Callback):
    """Ctrl-C at the start of the second epoch: the first one is committed."""

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt


def embedding_table(model):
    """The word embedding's table of a saved sentiment model (inside its text-input wrapper)."""
    layers = list(model.layers)
    while layers:
        layer = layers.pop()
        if layer.name == "embedding":
            return layer.get_weights()[0], layer.trainable
        layers.extend(getattr(layer, "layers", []))
    raise AssertionError("no embedding layer")


@pytest.fixture(scope="module")
def frozen(tmp_path_factory):
    """(folder, first output, refusal, resumed output) of the frozen run described above."""
    folder = tmp_path_factory.mktemp("vectors")
    vectors = write_vectors(folder / "vectors.txt")
    fit = _training.fit_resumable

    def interrupted_fit(*args, **kwargs):
        return fit(*args, **{**kwargs, "callbacks": [*kwargs["callbacks"], Interrupt()]})

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        with pytest.MonkeyPatch.context() as interrupting:
            interrupting.setattr(_sentiment_train._training, "fit_resumable", interrupted_fit)
            status, first, err = run_main(*TRAIN)
        assert status == 130, err
        write_vectors(vectors, {**FILE_WORDS, "film": [0.5, -0.25, 0.125, 2.0]})
        status, _, refusal = run_main(*TRAIN)
        assert status == 2
        write_vectors(vectors)
        status, resumed, err = run_main(*TRAIN)
        assert status == 0, err
    return folder, first, refusal, resumed


def test_an_edited_vectors_file_is_refused_on_resume_and_the_run_resumes_once_put_back(frozen):
    _, _, refusal, resumed = frozen
    assert "`--word-vectors` file 'vectors.txt'" in refusal and "content changed" in refusal
    assert "2 epochs, resumed after epoch 1" in resumed


def test_covered_rows_are_the_files_vectors_and_stay_frozen(frozen):
    folder, _, _, _ = frozen
    served = sentiment.load(folder / "run")
    table, trainable = embedding_table(served.run.model)
    words = _vocabulary(served)
    assert trainable is False and table.shape == (len(words), 4)
    for word, source in (("film", "film"), ("great", "Great"), ("boring", "Boring")):
        np.testing.assert_array_equal(table[words.index(word)], FILE_WORDS[source])
    others = [i for i, word in enumerate(words) if word not in ("film", "great", "boring")]
    assert np.all(np.abs(table[others]) <= 0.05)  # Keras's own random range, never the file's


def _vocabulary(served):
    layers = list(served.run.model.layers)
    while layers:
        layer = layers.pop()
        if isinstance(layer, keras.layers.TextVectorization):
            return [str(word) for word in layer.get_vocabulary()]
        layers.extend(getattr(layer, "layers", []))
    raise AssertionError("no TextVectorization layer")


def test_coverage_is_printed_and_stored_with_the_files_path_format_and_hash(frozen):
    folder, first, _, resumed = frozen
    config = json.loads((folder / "run" / "config.json").read_text())
    coverage = config["word_vectors_coverage"]
    assert config["word_vectors"] == "vectors.txt" and config["freeze_vectors"] is True
    assert config["embedding_dim"] == 4  # the file's dimension, as --embedding-dim was left out
    assert (coverage["format"], coverage["dim"], coverage["file_words"]) == ("glove_text", 4, 4)
    assert (coverage["exact"], coverage["lowercase"], coverage["subword"]) == (1, 2, 0)
    assert coverage["missing"] == coverage["words"] - 3
    parts = sum(coverage[f"{kind}_tokens"] for kind in ("exact", "lowercase", "subword",
                                                        "missing"))
    assert parts == coverage["tokens"] > coverage["exact_tokens"] > 0
    assert coverage["sha256"] == _sha256(folder / "vectors.txt")
    line = (f"Word vectors: vectors.txt (GloVe text, 4 dims): 3 of {coverage['words']:,} words")
    assert line in first and line in resumed
    assert "from word vectors (frozen)" in resumed
    assert "vectors    vectors.txt (GloVe text, 4 dims)" in resumed  # the summary's line


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_saved_model_predicts_without_the_vectors_file(frozen, tmp_path, monkeypatch):
    folder, _, _, _ = frozen
    run = tmp_path / "run"
    shutil.copytree(folder / "run", run)
    monkeypatch.chdir(tmp_path)  # no vectors.txt here
    status, out, err = run_main("sentiment", "predict", run, "What a great film")
    assert status == 0, err
    assert json.loads(out.splitlines()[0])["label"] in ("0", "1", 0, 1)


def test_fine_tuned_vectors_change_in_training(tmp_path):
    vectors = write_vectors(tmp_path / "vectors.txt")
    result = sentiment.train(model="fasttext", word_vectors=vectors, epochs=1,
                             learning_rate=0.05, baseline="none", verbose=0,
                             run_dir=tmp_path / "run")
    assert result["config"]["freeze_vectors"] is False
    served = sentiment.load(result["run_dir"])
    table, trainable = embedding_table(served.run.model)
    words = _vocabulary(served)
    assert trainable is True
    assert not np.array_equal(table[words.index("film")], FILE_WORDS["film"])


@pytest.mark.parametrize("flags, expected", [
    (["--word-vectors", "vectors.txt"],  # the default model, nbsvm, has no embedding
     ["--model nbsvm does not use `--word-vectors` (used by simple_rnn, lstm, gru, cnn, "
      "fasttext)"]),
    (["--model", "nbsvm", "--word-vectors", "vectors.txt", "--no-freeze-vectors"],
     ["does not use `--word-vectors`", "`--freeze-vectors`"]),
    (["--model", "gru", "--freeze-vectors"],
     ["`--freeze-vectors` keeps the vectors of a `--word-vectors` file unchanged",
      "Received: --freeze-vectors, no --word-vectors"]),
    (["--model", "cnn", "--word-vectors", "vectors.txt", "--embedding-dim", "8"],
     ["`--word-vectors` vectors.txt holds 4-dimensional vectors, but --embedding-dim 8",
      "or pass --embedding-dim 4"]),
    (["--model", "cnn", "--word-vectors", "missing.txt"],
     ["`--word-vectors`: no such file: 'missing.txt'"]),
    (["--model", "cnn", "--word-vectors", "bad.txt"],
     ["`--word-vectors`: bad.txt:2: expected a word and 4 values (line 1 gives 4 "
      "dimensions), found 3 values"]),
    (["--model", "cnn", "--word-vectors", "korean.txt"],
     ["`--word-vectors` korean.txt (GloVe text) has a vector for none of the",
      "the file's words: ['영화/NNG', '정말/MAG']"]),
])
def test_bad_vectors_and_settings_are_refused_with_flag_names(tmp_path, monkeypatch, flags,
                                                              expected):
    monkeypatch.chdir(tmp_path)
    write_vectors(tmp_path / "vectors.txt")
    write_vectors(tmp_path / "bad.txt", {"film": [1, 2, 3, 4], "great": [1, 2, 3]})
    write_vectors(tmp_path / "korean.txt", {"영화/NNG": [1, 2, 3, 4], "정말/MAG": [4, 3, 2, 1]})
    status, out, err = run_main("sentiment", "train", *flags, "--baseline", "none",
                                "--verbose", "0", "--run-dir", "run")
    assert status == 2, (out, err)
    assert "Traceback" not in err
    for text in expected:
        assert text in err, err


def test_python_api_names_the_arguments():
    from seqrecipes.errors import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match=r"model='nbsvm' does not use `word_vectors`"):
        sentiment.train(model="nbsvm", word_vectors=__file__)
    with pytest.raises(InvalidArgumentError, match="`freeze_vectors` must be True or False"):
        sentiment.train(model="gru", word_vectors=__file__, freeze_vectors="yes")
