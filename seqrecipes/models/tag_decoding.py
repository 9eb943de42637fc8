"""Serving heads of a tagger: the chosen tag of every token and how sure the model is of it.

A trained tagger ends in a `CRF` (whose `call` gives Viterbi tags) or in a per-token softmax.
For serving, both are replaced by a decoder that returns, for every token,

* `tag_ids`: the chosen tag in the numbering of `build_tag_lookup` (model tag `k` is id
  `k + offset`, id 0 is padding), so an inverted `StringLookup` over the tag vocabulary turns
  them into tag names and padding into "";
* `confidences`: the probability of that tag at that token: the CRF's marginal
  `p(y_t = tag_t | sentence)` from forward-backward (with a softmax head, the softmax
  probability), 0 at padding.

The model's own tags are `0..K-1` with no padding class: a CRF over the real tags only never
decodes "padding" inside a sentence, and `offset=1` maps them onto the tag lookup's ids.
"""

import keras
from keras import ops

from seqrecipes import _validation
from seqrecipes.models.crf import CRF, prepare_emissions


def _output_spec(scores):
    return {
        "tag_ids": keras.KerasTensor(scores.shape[:-1], dtype="int32"),
        "confidences": keras.KerasTensor(scores.shape[:-1], dtype="float32"),
    }


def _decoded(tags, probabilities, mask, offset):
    """Ids (`tags + offset`, 0 at padding) and the probability of each chosen tag."""
    chosen = ops.take_along_axis(probabilities, ops.expand_dims(tags, -1), axis=-1)
    return {
        "tag_ids": ops.where(mask, tags + offset, 0),
        "confidences": ops.where(mask, ops.squeeze(chosen, -1), 0.0),
    }


@keras.saving.register_keras_serializable(package="seqrecipes")
class CRFDecoder(CRF):
    """A `CRF` that returns Viterbi tag ids and each chosen tag's marginal probability.

    It has the weights of a `CRF` (copy a trained one with `from_crf`) and is meant for
    serving, not training. The marginal of a decoded tag is the probability, summed over every
    tag path, that this token has this tag; a span's probability is at most the smallest
    marginal of its tokens.

    Args:
        offset: int. Added to the decoded tag (0..K-1) to give its id. Defaults to 1 (the
            numbering of `build_tag_lookup`, where 0 is padding).
        **kwargs: `CRF` arguments.

    Call arguments:
        emissions: float tensor `[batch, steps, num_tags]`.
        mask: optional boolean tensor `[batch, steps]`.

    Returns:
        A dict: `"tag_ids"` int32 `[batch, steps]` (0 at padding) and `"confidences"`
        float32 `[batch, steps]` (0 at padding).
    """

    def __init__(self, offset=1, **kwargs):
        super().__init__(**kwargs)
        self.offset = _validation.check_non_negative_int("offset", offset)

    @classmethod
    def from_crf(cls, crf, *, offset=1, name="crf_decoder"):
        """Returns a built `CRFDecoder` with the configuration and weights of `crf`."""
        config = {key: value for key, value in crf.get_config().items() if key != "name"}
        decoder = cls(offset=offset, name=name, **config)
        decoder.build((None, None, crf.num_tags))
        decoder.set_weights(crf.get_weights())
        return decoder

    def call(self, emissions, mask=None):
        emissions, mask = prepare_emissions(emissions, mask)
        tags = self.decode(emissions, mask)
        return _decoded(tags, self.marginals(emissions, mask), mask, self.offset)

    def compute_output_spec(self, emissions, mask=None):
        return _output_spec(emissions)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "offset": self.offset}


@keras.saving.register_keras_serializable(package="seqrecipes")
class SoftmaxDecoder(keras.layers.Layer):
    """Per-token probabilities -> the most probable tag's id and its probability.

    Args:
        offset: int. Added to the chosen tag (0..K-1) to give its id. Defaults to 1.

    Call arguments:
        probabilities: float tensor `[batch, steps, num_tags]` (a softmax output).
        mask: optional boolean tensor `[batch, steps]`.

    Returns:
        The same dict as `CRFDecoder`.
    """

    def __init__(self, offset=1, **kwargs):
        super().__init__(**kwargs)
        self.offset = _validation.check_non_negative_int("offset", offset)
        self.supports_masking = True

    def call(self, probabilities, mask=None):
        probabilities = ops.cast(probabilities, "float32")
        if mask is None:
            mask = ops.ones(ops.shape(probabilities)[:2], dtype="bool")
        tags = ops.cast(ops.argmax(probabilities, axis=-1), "int32")
        return _decoded(tags, probabilities, ops.cast(mask, "bool"), self.offset)

    def compute_output_spec(self, probabilities, mask=None):
        return _output_spec(probabilities)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "offset": self.offset}


def _register():
    from seqrecipes.models.crf import crf_formula
    from seqrecipes.models.params import register_formula

    register_formula(CRFDecoder, crf_formula)  # the weights of the CRF it was copied from
    register_formula(SoftmaxDecoder, lambda layer, d: "0")


_register()
