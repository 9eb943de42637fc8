"""A `.keras` saved on one backend loads on the other and predicts the same.

The model is built, trained one step and saved in a child process run with the other backend
(`KERAS_BACKEND`), which also writes its own predictions; this process loads the file and
predicts the same batch. A sequence classifier (Adam) and the CRF tagger (LazyAdam), with its
BiLSTM and with its dilated convolutions (whose dilated "same" padding both backends must
place alike).
"""

import os
import pathlib
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from seqrecipes.models import CRFModel, LazyAdam

ROOT = pathlib.Path(__file__).resolve().parents[2]
OTHER = {"tensorflow": "jax", "jax": "tensorflow"}
pytestmark = pytest.mark.skipif(
    keras.backend.backend() not in OTHER,
    reason="between the two backends seqrecipes trains on, TensorFlow and JAX")

CHILD = textwrap.dedent("""
    import sys
    import keras
    import numpy as np
    from seqrecipes.models import LazyAdam, build_ner_tagger, build_sequence_classifier

    folder = sys.argv[1]
    keras.utils.set_random_seed(0)
    ids = np.array([[3, 5, 7, 2, 0], [9, 4, 0, 0, 0]], "int32")
    classifier = build_sequence_classifier(20, 3, embedding_dim=4, units=4,
                                           bidirectional=True)
    classifier.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    classifier.train_on_batch(ids, np.array([0, 2]))
    tagger = build_ner_tagger(20, 5, embedding_dim=4, units=(4,))
    tagger.compile(optimizer=LazyAdam(0.01))
    tagger.train_on_batch({"token_ids": ids}, np.array([[1, 2, 3, 4, 0], [2, 2, 0, 0, 0]]))
    conv = build_ner_tagger(20, 5, embedding_dim=4, encoder="cnn", conv_filters=4,
                            dilations=(1, 2))
    conv.compile(optimizer=LazyAdam(0.01))
    conv.train_on_batch({"token_ids": ids}, np.array([[1, 2, 3, 4, 0], [2, 2, 0, 0, 0]]))
    classifier.save(f"{folder}/classifier.keras")
    tagger.save(f"{folder}/tagger.keras")
    conv.save(f"{folder}/conv_tagger.keras")
    np.savez(f"{folder}/predictions.npz",
             classifier=classifier.predict(ids, verbose=0),
             tags=tagger.predict({"token_ids": ids}, verbose=0),
             marginals=tagger.predict_marginals({"token_ids": ids}, verbose=0),
             conv_marginals=conv.predict_marginals({"token_ids": ids}, verbose=0))
""")


@pytest.fixture(scope="module")
def saved_on_the_other_backend(tmp_path_factory):
    folder = tmp_path_factory.mktemp("other_backend")
    other = OTHER[keras.backend.backend()]
    env = {**os.environ, "KERAS_BACKEND": other, "PYTHONPATH": str(ROOT),
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", CHILD, str(folder)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return folder, np.load(folder / "predictions.npz")


IDS = np.array([[3, 5, 7, 2, 0], [9, 4, 0, 0, 0]], "int32")


def test_a_classifier_saved_on_the_other_backend_predicts_the_same(saved_on_the_other_backend):
    folder, expected = saved_on_the_other_backend
    model = keras.saving.load_model(folder / "classifier.keras")
    np.testing.assert_allclose(model.predict(IDS, verbose=0), expected["classifier"],
                               atol=1e-5)


def test_the_crf_tagger_with_lazy_adam_loads_and_decodes_the_same(saved_on_the_other_backend):
    folder, expected = saved_on_the_other_backend
    model = keras.saving.load_model(folder / "tagger.keras")
    assert isinstance(model, CRFModel) and isinstance(model.optimizer, LazyAdam)
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 1  # its state came
    x = {"token_ids": IDS}
    np.testing.assert_array_equal(model.predict(x, verbose=0), expected["tags"])
    np.testing.assert_allclose(model.predict_marginals(x, verbose=0), expected["marginals"],
                               atol=1e-5)


def test_the_dilated_cnn_tagger_loads_and_scores_the_same(saved_on_the_other_backend):
    folder, expected = saved_on_the_other_backend
    model = keras.saving.load_model(folder / "conv_tagger.keras")
    assert any(layer.name == "conv_2" for layer in model.layers)  # the dilated layer came
    np.testing.assert_allclose(model.predict_marginals({"token_ids": IDS}, verbose=0),
                               expected["conv_marginals"], atol=1e-5)
