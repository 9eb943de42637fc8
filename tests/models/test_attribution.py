"""Integrated gradients from the embedding outputs: completeness, padding, masks, n-grams."""

import keras
import numpy as np
import pytest

from seqrecipes.errors import InvalidArgumentError
from seqrecipes.models import attribution
from seqrecipes.recipes.engine.backend import BACKENDS as TRAINING_BACKENDS
from seqrecipes.recipes.sentiment import model as _model_flags

pytestmark = pytest.mark.skipif(
    keras.backend.backend() not in TRAINING_BACKENDS,
    reason="integrated gradients run on the backends seqrecipes trains on, TensorFlow and JAX "
    "(attribution._gradients refuses any other, a message that names them)")

FAMILIES = {
    "fasttext": {},
    "cnn": {"kernel_sizes": [2, 3], "filters": 4},
    "lstm": {"units": [4]},
    "gru": {"units": [4, 4], "pooling": "mean"},
    "simple_rnn": {"units": [4], "pooling": "last"},
    "bidirectional lstm": {"units": [4], "bidirectional": True},
    "bidirectional gru": {"units": [4], "bidirectional": True, "merge_mode": "sum"},
}
IDS = np.array([[3, 5, 7, 2, 9, 4, 0, 0]], "int32")  # six tokens, then two padding steps


def tiny(family, num_classes=2):
    settings = dict(FAMILIES[family], embedding_dim=8)
    name = family.split()[-1]
    model = _model_flags.build_classifier(
        _model_flags.resolve_model_settings(name, settings), 20, num_classes
    )
    # Larger weights than the initialisers give, so that F(x) - F(baseline) is not tiny.
    for weight in model.weights:
        weight.assign(weight * 4.0)
    return model


def explain(model, baseline="padding", target=lambda p: p[:, 0], **options):
    return attribution.integrated_gradients(
        model, IDS, model.get_layer("embedding"), target, baseline=baseline,
        baseline_inputs=np.zeros_like(IDS), **options,
    )


@pytest.mark.parametrize("family", FAMILIES)
def test_completeness_error_is_under_one_percent_for_every_family(family):
    model = tiny(family)
    result = explain(model)
    delta = result["value"] - result["baseline_value"]
    assert abs(delta) > 1e-3  # a real difference to explain
    assert result["completeness_error"] < 0.01
    assert result["attributions"].sum() == pytest.approx(delta, rel=0.01)
    assert result["value"] == pytest.approx(float(model(IDS)[0, 0]), abs=1e-5)


def test_completeness_for_a_softmax_class():
    model = tiny("gru", num_classes=3)
    result = explain(model, target=lambda p: p[:, 2])
    assert result["completeness_error"] < 0.01


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("baseline", ["padding", "zeros"])
def test_padding_and_masked_steps_get_exactly_zero(family, baseline):
    # "padding": x = x' at padding steps; "zeros": x != x' there, but the mask keeps them
    # from the output, so their gradient, and attribution, is 0.
    result = explain(tiny(family), baseline=baseline)
    assert np.all(result["attributions"][6:] == 0.0)
    real = result["attributions"][:6] != 0.0
    # A CNN's max pooling can leave a step out of every window's maximum along the whole path
    # (measured on JAX's random weights: one of six steps got exactly 0); the rest never.
    assert real.sum() >= (5 if family == "cnn" else 6)


def test_steps_are_doubled_until_the_tolerance_is_met():
    model = tiny("simple_rnn")
    coarse = explain(model, steps=1, max_steps=1)
    fine = explain(model, steps=1, tolerance=1e-4)
    assert coarse["steps"] == 1 and fine["steps"] > 1
    assert fine["completeness_error"] < min(1e-4, coarse["completeness_error"])


def test_an_explicit_baseline_array_is_used():
    model = tiny("cnn")
    zeros = explain(model, baseline="zeros")
    given = explain(model, baseline=np.zeros(8, "float32"))
    np.testing.assert_allclose(given["attributions"], zeros["attributions"], atol=1e-7)


def test_fold_ngrams_splits_each_ngram_equally_and_keeps_the_sum():
    # 3 words: ids are w0 w1 w2, then (w0 w1), (w1 w2).
    words, spans = attribution.fold_ngrams(np.array([1.0, 2.0, 3.0, 0.4, 0.8]), 3, (1, 2))
    np.testing.assert_allclose(words, [1.2, 2.6, 3.4])
    assert spans == [(0, 1), (1, 1), (2, 1), (0, 2), (1, 2)]
    assert words.sum() == pytest.approx(7.2)
    with pytest.raises(InvalidArgumentError, match="n-gram"):
        attribution.fold_ngrams(np.ones(4), 3, (1, 2))


@pytest.mark.parametrize("name, value", [("steps", 0), ("max_steps", -1), ("steps", 2.5),
                                         ("tolerance", 1.5), ("baseline", "mean")])
def test_bad_options_are_refused_with_the_name(name, value):
    options = {"baseline": "padding", "steps": 4, "max_steps": 8, "tolerance": 0.01}
    options[name] = value
    with pytest.raises(InvalidArgumentError, match=f"`{name}`"):
        attribution.check_options(**options)
    with pytest.raises(InvalidArgumentError, match="`max_steps`"):
        attribution.check_options("padding", 8, 4, 0.01)


def test_padding_baseline_needs_its_inputs():
    model = tiny("fasttext")
    with pytest.raises(InvalidArgumentError, match="baseline_inputs"):
        attribution.integrated_gradients(model, IDS, model.get_layer("embedding"),
                                         lambda p: p[:, 0])
