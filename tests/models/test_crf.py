"""The CRF against brute-force enumeration of every tag path, and `CRFModel` in fit / evaluate."""

import itertools

import numpy as np
import pytest
from backend_helpers import gradients

import keras

from seqrecipes.errors import InvalidArgumentError
from seqrecipes.models import CRF, CRFModel

NUM_TAGS, STEPS = 3, 4
MASKS = np.array(
    [
        [1, 1, 1, 1],  # full
        [1, 1, 0, 0],  # post-padded
        [1, 0, 0, 0],  # one token
        [0, 0, 0, 0],  # fully padded row
        [0, 1, 1, 1],  # pre-padded
        [1, 0, 1, 0],  # gaps: masked steps are skipped
    ],
    dtype=bool,
)


def make_crf(boundary, seed=0):
    """A built CRF with random (non-zero) transitions, and the numbers it holds."""
    rng = np.random.default_rng(seed)
    crf = CRF(use_boundary_transitions=boundary)
    crf.build((None, None, NUM_TAGS))
    transitions = rng.normal(size=(NUM_TAGS, NUM_TAGS)).astype("float32")
    crf.transitions.assign(transitions)
    start = end = np.zeros(NUM_TAGS, "float32")
    if boundary:
        start, end = rng.normal(size=(2, NUM_TAGS)).astype("float32")
        crf.start_transitions.assign(start)
        crf.end_transitions.assign(end)
    return crf, (transitions, start, end)


def emissions_for(batch, seed=1):
    return np.random.default_rng(seed).normal(size=(batch, STEPS, NUM_TAGS)).astype("float32")


def brute_force(emissions, mask, params):
    """Every tag path of the real steps of one sentence, with its score."""
    transitions, start, end = params
    steps = np.flatnonzero(mask)
    scores = {}
    for path in itertools.product(range(NUM_TAGS), repeat=len(steps)):
        score = sum(emissions[t, tag] for t, tag in zip(steps, path))
        score += sum(transitions[a, b] for a, b in zip(path, path[1:]))
        if path:
            score += start[path[0]] + end[path[-1]]
        scores[path] = score
    return steps, scores


def numpy(x):
    return keras.ops.convert_to_numpy(x)


@pytest.mark.parametrize("boundary", [True, False])
def test_log_partition_and_likelihood_match_enumeration(boundary):
    crf, params = make_crf(boundary)
    emissions = emissions_for(len(MASKS))
    tags = np.random.default_rng(2).integers(0, NUM_TAGS, size=(len(MASKS), STEPS))
    log_z = numpy(crf.log_partition(emissions, MASKS))
    log_likelihood = numpy(crf.log_likelihood(emissions, tags, MASKS))
    for row, mask in enumerate(MASKS):
        steps, scores = brute_force(emissions[row], mask, params)
        expected_log_z = np.logaddexp.reduce(list(scores.values())) if len(steps) else 0.0
        assert log_z[row] == pytest.approx(expected_log_z, abs=1e-4)
        gold = scores[tuple(tags[row, steps])] if len(steps) else 0.0
        assert log_likelihood[row] == pytest.approx(gold - expected_log_z, abs=1e-4)


@pytest.mark.parametrize("boundary", [True, False])
def test_viterbi_is_the_best_path(boundary):
    crf, params = make_crf(boundary, seed=3)
    emissions = emissions_for(len(MASKS), seed=4)
    path, score = (numpy(t) for t in crf.viterbi(emissions, MASKS))
    for row, mask in enumerate(MASKS):
        steps, scores = brute_force(emissions[row], mask, params)
        best = max(scores, key=scores.get)
        assert tuple(path[row, steps]) == best
        assert score[row] == pytest.approx(scores[best] if len(steps) else 0.0, abs=1e-4)
        assert (path[row, ~mask] == 0).all()


@pytest.mark.parametrize("boundary", [True, False])
def test_marginals_match_enumeration_and_sum_to_one(boundary):
    crf, params = make_crf(boundary, seed=5)
    emissions = emissions_for(len(MASKS), seed=6)
    marginals = numpy(crf.marginals(emissions, MASKS))
    for row, mask in enumerate(MASKS):
        steps, scores = brute_force(emissions[row], mask, params)
        expected = np.zeros((STEPS, NUM_TAGS))
        log_z = np.logaddexp.reduce(list(scores.values()))
        for path, score in scores.items():
            expected[steps, list(path)] += np.exp(score - log_z) if len(steps) else 0.0
        np.testing.assert_allclose(marginals[row], expected, atol=1e-5)
    np.testing.assert_allclose(marginals.sum(-1), MASKS.astype(float), atol=1e-5)


def test_zero_transitions_score_like_independent_softmaxes():
    """The default (zero) initialisation makes the CRF NLL the sum of per-token cross-entropies."""
    crf = CRF()
    crf.build((None, None, NUM_TAGS))
    emissions = emissions_for(2)
    tags = np.array([[0, 1, 2, 1], [2, 2, 0, 0]])
    mask = MASKS[:2]
    nll = -numpy(crf.log_likelihood(emissions, tags, mask))
    log_softmax = emissions - np.logaddexp.reduce(emissions, axis=-1, keepdims=True)
    picked = np.take_along_axis(log_softmax, tags[..., None], -1)[..., 0]
    np.testing.assert_allclose(nll, -(picked * mask).sum(-1), rtol=1e-5)


def test_padding_changes_nothing():
    crf, _ = make_crf(True, seed=7)
    emissions = emissions_for(2, seed=8)[:, :3]
    tags = np.array([[1, 0, 2], [2, 1, 0]])
    mask = np.array([[1, 1, 1], [1, 1, 0]], bool)
    padded_emissions = np.concatenate([emissions, 10 * emissions_for(2, seed=9)[:, :2]], 1)
    padded_tags = np.concatenate([tags, np.full((2, 2), 7)], 1)  # junk labels in padding
    padded_mask = np.concatenate([mask, np.zeros((2, 2), bool)], 1)
    np.testing.assert_allclose(
        numpy(crf.log_likelihood(emissions, tags, mask)),
        numpy(crf.log_likelihood(padded_emissions, padded_tags, padded_mask)),
        rtol=1e-6,
    )
    np.testing.assert_array_equal(
        numpy(crf.decode(emissions, mask)), numpy(crf.decode(padded_emissions, padded_mask))[:, :3]
    )
    np.testing.assert_allclose(
        numpy(crf.marginals(emissions, mask)),
        numpy(crf.marginals(padded_emissions, padded_mask))[:, :3],
        atol=1e-6,
    )


def test_gradient_is_expected_minus_gold_transition_counts():
    """d NLL / d transitions[i, j] = E[count(i -> j)] - gold count(i -> j); no NaN anywhere."""
    crf, params = make_crf(True, seed=10)
    emissions = emissions_for(len(MASKS), seed=11)
    tags = np.random.default_rng(12).integers(0, NUM_TAGS, size=(len(MASKS), STEPS))
    grad_emissions, grad_transitions = (keras.ops.convert_to_numpy(gradient) for gradient in
                                        gradients(lambda e: -keras.ops.sum(
                                            crf.log_likelihood(e, tags, MASKS)),
                                            [emissions], [crf.transitions]))
    expected = np.zeros((NUM_TAGS, NUM_TAGS))
    for row, mask in enumerate(MASKS):
        steps, scores = brute_force(np.asarray(emissions)[row], mask, params)
        log_z = np.logaddexp.reduce(list(scores.values()))
        for path, score in scores.items():
            for a, b in zip(path, path[1:]):
                expected[a, b] += np.exp(score - log_z)
        gold = tags[row, steps]
        for a, b in zip(gold, gold[1:]):
            expected[a, b] -= 1
    np.testing.assert_allclose(grad_transitions, expected, atol=1e-4)
    assert np.isfinite(grad_emissions).all()
    assert (grad_emissions[~MASKS] == 0).all()


def test_config_round_trip():
    crf = CRF(use_boundary_transitions=False, transitions_regularizer="l2", name="tags")
    clone = CRF.from_config(crf.get_config())
    assert clone.use_boundary_transitions is False
    assert clone.name == "tags"
    assert isinstance(clone.transitions_regularizer, keras.regularizers.L2)


@pytest.mark.parametrize("value", [0, 1, "yes", None])
def test_bad_boundary_flag(value):
    with pytest.raises(InvalidArgumentError, match="`use_boundary_transitions` must be True"):
        CRF(use_boundary_transitions=value)


def test_crf_needs_a_known_number_of_tags():
    with pytest.raises(InvalidArgumentError, match="num_tags"):
        CRF().build((None, None, None))


# -- CRFModel --------------------------------------------------------------------------------

VOCABULARY = 12


def toy_model():
    inputs = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(VOCABULARY, 4, mask_zero=True)(inputs)
    outputs = CRF(name="crf")(keras.layers.Dense(NUM_TAGS, name="emissions")(x))
    return CRFModel(inputs, outputs)


def toy_data(count=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, VOCABULARY, size=(count, 5))
    x[::2, 3:] = 0
    y = np.where(x > 0, x % NUM_TAGS, 0)
    return x, y


def test_model_loss_is_the_mean_nll_over_real_steps():
    model = toy_model()
    model.compile(optimizer="sgd")
    x, y = toy_data()
    junk = np.where(x > 0, y, 2)  # labels at padded steps do not matter
    emissions = keras.Model(model.input, model.get_layer("emissions").output)(x)
    expected = -np.mean(numpy(model.crf.log_likelihood(emissions, y, x > 0)))
    assert model.evaluate(x, junk, verbose=0) == pytest.approx(expected, rel=1e-5)
    weights = np.arange(len(x), dtype="float32")
    weighted = -numpy(model.crf.log_likelihood(emissions, y, x > 0)) @ weights / weights.sum()
    assert model.evaluate(x, y, sample_weight=weights, verbose=0) == pytest.approx(
        weighted, rel=1e-5
    )


def test_fit_with_early_stopping_and_masked_accuracy():
    model = toy_model()
    model.compile(optimizer=keras.optimizers.Adam(0.1), metrics=["accuracy"])
    x, y = toy_data(64)
    history = model.fit(
        x, y, validation_split=0.25, epochs=30, batch_size=16, verbose=0,
        callbacks=[keras.callbacks.EarlyStopping(patience=1, min_delta=0.5)],
    )
    losses = history.history["val_loss"]
    assert len(losses) < 30 and np.isfinite(losses).all()
    assert history.history["loss"][-1] < history.history["loss"][0]
    tags = model.predict(x, verbose=0)
    real = x > 0
    expected = (tags == y)[real].mean()
    assert model.evaluate(x, y, return_dict=True, verbose=0)["accuracy"] == pytest.approx(
        expected, abs=1e-6
    )
    assert (tags[~real] == 0).all()


def test_predict_marginals_agree_with_the_layer():
    model = toy_model()
    x, _ = toy_data()
    marginals = model.predict_marginals(x, verbose=0)
    emissions = keras.Model(model.input, model.get_layer("emissions").output)(x)
    np.testing.assert_allclose(marginals, numpy(model.crf.marginals(emissions, x > 0)), atol=1e-6)
    assert len(model.layers) == 4  # the marginals head is not part of the saved model


def test_model_refuses_a_loss_and_a_non_crf_output():
    model = toy_model()
    model.compile(optimizer="sgd", loss="mse")
    x, y = toy_data()
    with pytest.raises(InvalidArgumentError, match="compile it without `loss`"):
        model.fit(x, y, verbose=0)
    inputs = keras.Input(shape=(None, 4))
    with pytest.raises(InvalidArgumentError, match="produced by its only `CRF` layer"):
        CRFModel(inputs, keras.layers.Dense(3)(inputs))
    with pytest.raises(InvalidArgumentError, match="needs the CRF scores"):
        toy_model().compute_loss(x, y, y)
