"""Sampling a language model, in NumPy: the same choice in Keras and outside it.

`seqrecipes.models.stepping.sample_ids` (Keras) and `seqrecipes.portable.char_lm` (ONNX,
LiteRT) both turn a step's logits into probabilities here and draw with
`numpy.random.default_rng(seed).choice`, so the same logits and seed give the same text; the
char-LM recipe and the reader refuse the same prompts (`check_prompt`).
"""

import numpy as np

from seqrecipes import _validation
from seqrecipes.errors import InvalidArgumentError


def next_token_distribution(logits, *, temperature=1.0, top_k=None, forbidden=()):
    """Turns one step's logits into sampling probabilities (temperature, then top-k).

    Args:
        logits: 1-D array of next-token logits.
        temperature: float > 0. Divides the logits: below 1 sharpens, above 1 flattens.
        top_k: int or None. Keep only the `top_k` most likely tokens (ties at the k-th
            value are all kept). None keeps all.
        forbidden: ids that are never sampled (padding and the OOV id).

    Returns:
        A 1-D float64 array of probabilities summing to 1.

    Example:

    >>> p = next_token_distribution(np.log([0.1, 0.2, 0.3, 0.4]), top_k=2)
    >>> np.round(p, 3).tolist()
    [0.0, 0.0, 0.429, 0.571]
    """
    _validation.check_positive_float("temperature", temperature)
    _validation.check_positive_int("top_k", top_k, allow_none=True)
    scaled = np.asarray(logits, "float64") / temperature
    scaled[list(forbidden)] = -np.inf
    if top_k is not None and top_k < np.isfinite(scaled).sum():
        threshold = np.sort(scaled)[-top_k]
        scaled[scaled < threshold] = -np.inf
    scaled -= scaled.max()
    probabilities = np.exp(scaled)
    return probabilities / probabilities.sum()


def check_prompt(prompt, vocabulary):
    """Refuses an empty prompt or one with a character the model never saw."""
    _validation.check_string("prompt", prompt)
    known = set(vocabulary[2:])
    unknown = sorted({char for char in prompt if char not in known})
    if not prompt or unknown:
        raise InvalidArgumentError(
            "`prompt` must be at least one character, all from the training text's "
            f"vocabulary. Received: prompt={prompt!r}"
            + (f", whose characters {unknown} the model never saw." if unknown else ".")
        )
