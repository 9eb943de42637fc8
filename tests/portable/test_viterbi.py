"""The NumPy Viterbi and marginals equal the Keras CRF's decode and marginals."""

import keras
import numpy as np
import pytest

from seqrecipes.errors import InvalidArgumentError
from seqrecipes.models.crf import CRF
from seqrecipes.portable import viterbi


def crf_with_random_scores(num_tags, boundaries, seed):
    rng = np.random.default_rng(seed)
    crf = CRF(use_boundary_transitions=boundaries)
    crf.build((None, None, num_tags))
    crf.set_weights([rng.normal(size=w.shape).astype("float32") for w in crf.weights])
    scores = {"transitions": np.asarray(crf.transitions)}
    if boundaries:
        scores.update(start=np.asarray(crf.start_transitions),
                      end=np.asarray(crf.end_transitions))
    return crf, scores


def masks(batch, steps, rng):
    """Post-padding, pre-padding, holes in the middle, a full row and an empty row."""
    mask = rng.random((batch, steps)) < 0.7
    mask[0] = True
    mask[1] = False
    mask[2] = np.arange(steps) < 3
    mask[3] = np.arange(steps) >= steps - 2
    return mask


@pytest.mark.parametrize("boundaries", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_viterbi_and_marginals_equal_the_keras_crf(boundaries, seed):
    rng = np.random.default_rng(seed + 10)
    crf, scores = crf_with_random_scores(5, boundaries, seed)
    emissions = rng.normal(size=(8, 7, 5)).astype("float32") * 3
    mask = masks(8, 7, rng)
    expected_tags, expected_score = (np.asarray(x) for x in crf.viterbi(emissions, mask))
    tags, score = viterbi.viterbi(emissions, mask, **scores)
    np.testing.assert_array_equal(tags, expected_tags)
    np.testing.assert_allclose(score, expected_score, atol=1e-5)
    assert (tags[~mask] == 0).all()
    expected = np.asarray(crf.marginals(emissions, mask))
    got = viterbi.marginals(emissions, mask, **scores)
    np.testing.assert_allclose(got, expected, atol=2e-6)
    np.testing.assert_allclose(got.sum(-1), mask.astype("float32"), atol=1e-5)


def test_one_step_and_no_mask():
    crf, scores = crf_with_random_scores(3, True, 4)
    emissions = np.random.default_rng(4).normal(size=(2, 1, 3)).astype("float32")
    np.testing.assert_array_equal(viterbi.viterbi(emissions, **scores)[0],
                                  np.asarray(crf.decode(emissions)))


def test_mismatched_scores_are_refused():
    with pytest.raises(InvalidArgumentError, match="`transitions` must be \\(3, 3\\)"):
        viterbi.viterbi(np.zeros((1, 2, 3)), transitions=np.zeros((2, 2)))
    with pytest.raises(InvalidArgumentError, match="`mask` must be"):
        viterbi.marginals(np.zeros((1, 2, 3)), np.ones((1, 3)), transitions=np.zeros((3, 3)))
    with pytest.raises(InvalidArgumentError, match="3-D"):
        viterbi.viterbi(np.zeros((2, 3)), transitions=np.zeros((3, 3)))
