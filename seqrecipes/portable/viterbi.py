"""CRF inference in NumPy: the Viterbi path and the per-token marginals of a linear-chain CRF.

A CRF's decode does not leave TensorFlow: measured with TF 2.21 / Keras 3.15, tf2onnx fails on
its while-loop output and LiteRT takes it only with the Flex delegate (TensorFlow ops inside
the LiteRT runtime). So a portable NER export holds the tagger up to its emission scores, and
the start, transition and end scores of `seqrecipes.models.crf.CRF` are written beside the
graph; this module decodes them. Nothing here imports TensorFlow.

It reproduces `CRF.viterbi` and `CRF.marginals` step for step, in float32 and in the same
order of additions, so the paths are the same (ties included: both take the first best tag):

    delta_0 = start + e_0
    delta_t = max_i(delta_{t-1}[i] + transitions[i, :]) + e_t
    best    = argmax(delta_last + end), then back through the argmax pointers

over the real (unmasked) steps of each row only: the real steps are read in order as if the
masked ones were absent (post-, pre- or mid-padding alike), masked steps get tag 0 and
marginal 0, and a fully masked row has no tag. NumPy has no Viterbi of its own and the
libraries that have one (pytorch-crf, torchcrf, sklearn-crfsuite) bring a framework or their
own model format, hence these few lines.
"""

import numpy as np

from seqrecipes.errors import InvalidArgumentError


def _checked(emissions, mask, transitions, start, end):
    emissions = np.asarray(emissions, "float32")
    if emissions.ndim != 3:
        raise InvalidArgumentError(
            "`emissions` must be a 3-D array (batch, steps, num_tags). "
            f"Received: shape {emissions.shape}."
        )
    num_tags = emissions.shape[-1]
    transitions = np.asarray(transitions, "float32")
    start = np.zeros(num_tags, "float32") if start is None else np.asarray(start, "float32")
    end = np.zeros(num_tags, "float32") if end is None else np.asarray(end, "float32")
    if transitions.shape != (num_tags, num_tags) or start.shape != (num_tags,) or (
            end.shape != (num_tags,)):
        raise InvalidArgumentError(
            f"`transitions` must be ({num_tags}, {num_tags}) and `start` / `end` ({num_tags},) "
            f"for emissions of {num_tags} tags. Received: transitions {transitions.shape}, "
            f"start {start.shape}, end {end.shape}."
        )
    if mask is None:
        mask = np.ones(emissions.shape[:2], bool)
    mask = np.asarray(mask, bool)
    if mask.shape != emissions.shape[:2]:
        raise InvalidArgumentError(
            f"`mask` must be (batch, steps) = {emissions.shape[:2]}. Received: {mask.shape}."
        )
    return emissions, mask, transitions, start, end


def _aligned(emissions, mask):
    """Each row's real steps moved to the front, in order (as the Keras CRF does).

    Returns `(aligned emissions, order, lengths)`; step j of row b is its step `order[b, j]`.
    """
    steps = mask.shape[1]
    positions = np.arange(steps)[None, :]
    order = np.argsort(np.where(mask, positions, positions + steps), axis=1, kind="stable")
    aligned = np.take_along_axis(emissions, order[..., None], axis=1)
    return aligned, order, mask.sum(axis=1)


def _restore(aligned_values, order, mask):
    """Puts values computed on aligned steps back at their rows' real steps; 0 elsewhere."""
    restored = np.zeros_like(aligned_values)
    rows = np.arange(mask.shape[0])[:, None]
    restored[rows, order] = aligned_values
    restored[~mask] = 0
    return restored


def viterbi(emissions, mask=None, *, transitions, start=None, end=None):
    """Returns the best tag path of every row and its score.

    Args:
        emissions: float array `(batch, steps, num_tags)`.
        mask: bool array `(batch, steps)`, True at real steps; None: every step is real.
        transitions: float array `(num_tags, num_tags)`: the score of tag i followed by j.
        start, end: float arrays `(num_tags,)`: the score of a tag opening / closing a
            sentence; None for a CRF without boundary scores.

    Returns:
        `(tags, scores)`: int32 `(batch, steps)` (0 at masked steps) and float32 `(batch,)`
        (0 for a fully masked row).

    Example:

    >>> e = np.array([[[1., 0.], [0., 1.], [9., 9.]]])
    >>> tags, score = viterbi(e, [[True, True, False]], transitions=np.zeros((2, 2)))
    >>> tags.tolist(), score.tolist()
    ([[0, 1, 0]], [2.0])
    """
    emissions, mask, transitions, start, end = _checked(emissions, mask, transitions, start, end)
    batch, steps = mask.shape
    if steps == 0:
        return np.zeros((batch, 0), "int32"), np.zeros(batch, "float32")
    aligned, order, lengths = _aligned(emissions, mask)
    last = np.maximum(lengths - 1, 0)
    rows = np.arange(batch)
    delta = start + aligned[:, 0]
    deltas, pointers = [delta], []
    for t in range(1, steps):
        candidates = delta[:, :, None] + transitions  # [b, i, j]: tag i, then tag j
        pointers.append(np.argmax(candidates, axis=1).astype("int32"))
        delta = np.max(candidates, axis=1) + aligned[:, t]
        deltas.append(delta)
    final = np.stack(deltas, axis=1)[rows, last] + end
    best = np.argmax(final, axis=-1).astype("int32")
    path = np.zeros((batch, steps), "int32")
    tag = best.copy()
    for t in range(steps - 1, -1, -1):
        tag = np.where(last == t, best, tag)  # a row's path starts at its last real step
        path[:, t] = tag
        if t > 0:
            tag = np.where(last >= t, pointers[t - 1][rows, tag], tag)
    scores = np.where(lengths > 0, final[rows, best], 0).astype("float32")
    return _restore(path, order, mask), scores


def _logsumexp(x, axis):
    top = np.max(x, axis=axis, keepdims=True)
    return np.squeeze(top, axis) + np.log(np.sum(np.exp(x - top), axis=axis))


def marginals(emissions, mask=None, *, transitions, start=None, end=None):
    """Returns p(y_t = k | sentence) by forward-backward, float32 `(batch, steps, num_tags)`.

    Rows sum to 1 at real steps and are 0 at masked steps (arguments as in `viterbi`).
    """
    emissions, mask, transitions, start, end = _checked(emissions, mask, transitions, start, end)
    batch, steps = mask.shape
    if steps == 0:
        return np.zeros(emissions.shape, "float32")
    aligned, order, lengths = _aligned(emissions, mask)
    last = np.maximum(lengths - 1, 0)
    rows = np.arange(batch)
    alphas = [start + aligned[:, 0]]
    for t in range(1, steps):
        alphas.append(_logsumexp(alphas[-1][:, :, None] + transitions, axis=1) + aligned[:, t])
    alphas = np.stack(alphas, axis=1)
    log_z = _logsumexp(alphas[rows, last] + end, axis=-1)
    betas = np.zeros_like(alphas)
    following = np.zeros_like(alphas[:, 0])  # emission + beta of the next step
    for t in range(steps - 1, -1, -1):
        moved = _logsumexp(transitions[None] + following[:, None, :], axis=-1)
        beta = np.where((last == t)[:, None], end, moved)
        betas[:, t] = beta
        following = aligned[:, t] + beta
    log_marginals = alphas + betas - log_z[:, None, None]
    real = np.arange(steps)[None, :] < lengths[:, None]
    probabilities = np.where(real[..., None], np.exp(np.where(real[..., None], log_marginals,
                                                                0.0)), 0.0)
    return _restore(probabilities.astype("float32"), order, mask)
