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
    tags = np.zeros(mask.shape, "int32")
    scores = np.zeros(mask.shape[0], "float32")
    for row in range(mask.shape[0]):
        real = np.flatnonzero(mask[row])
        if not len(real):
            continue
        steps = emissions[row, real]
        delta = start + steps[0]
        pointers = []
        for emission in steps[1:]:
            candidates = delta[:, None] + transitions  # from tag i (rows) to tag j (columns)
            pointers.append(np.argmax(candidates, axis=0).astype("int32"))
            delta = np.max(candidates, axis=0) + emission
        final = delta + end
        tag = int(np.argmax(final))
        scores[row] = final[tag]
        path = [tag]
        for step_pointers in reversed(pointers):
            tag = int(step_pointers[tag])
            path.append(tag)
        tags[row, real] = path[::-1]
    return tags, scores


def _logsumexp(x, axis):
    top = np.max(x, axis=axis, keepdims=True)
    return np.squeeze(top, axis) + np.log(np.sum(np.exp(x - top), axis=axis))


def marginals(emissions, mask=None, *, transitions, start=None, end=None):
    """Returns p(y_t = k | sentence) by forward-backward, float32 `(batch, steps, num_tags)`.

    Rows sum to 1 at real steps and are 0 at masked steps (arguments as in `viterbi`).
    """
    emissions, mask, transitions, start, end = _checked(emissions, mask, transitions, start, end)
    result = np.zeros(emissions.shape, "float32")
    for row in range(mask.shape[0]):
        real = np.flatnonzero(mask[row])
        if not len(real):
            continue
        steps = emissions[row, real]
        alphas = [start + steps[0]]
        for emission in steps[1:]:
            alphas.append(_logsumexp(alphas[-1][:, None] + transitions, axis=0) + emission)
        log_z = _logsumexp(alphas[-1] + end, axis=-1)
        following = steps[-1] + end  # emission + beta, where beta is `end` at the last step
        betas = [end]
        for emission in steps[-2::-1]:
            beta = _logsumexp(transitions + following[None, :], axis=-1)
            betas.append(beta)
            following = emission + beta
        log_marginals = np.stack(alphas) + np.stack(betas[::-1]) - log_z
        result[row, real] = np.exp(log_marginals)
    return result
