"""Mask-aware layers Keras 3 does not have.

Keras 3's `Conv1D` drops the mask it receives and `GlobalMaxPooling1D` ignores masks, so a text
CNN fed length-bucketed batches would give a different answer for the same text depending on
how much padding its batch needed. These subclasses make the output independent of padding:
`MaskedConv1D` zeroes padded steps before convolving (so a padded step looks exactly like the
zero padding of `padding="same"`) and passes the mask on, and `MaskedGlobalMaxPooling1D` takes
the maximum over real steps only. `tests/test_conv.py` checks the invariance.

Keras's `GlobalAveragePooling1D` does honour the mask, but divides by the number of real steps,
so an empty text (every step masked) gives 0/0 = NaN; `MaskedGlobalAveragePooling1D` gives
zeros for it instead, like `MaskedGlobalMaxPooling1D`.
"""

import keras
from keras import ops

from seqrecipes.errors import InvalidArgumentError


@keras.saving.register_keras_serializable(package="seqrecipes")
class MaskedConv1D(keras.layers.Conv1D):
    """`Conv1D` that zeroes masked steps first and keeps the mask (only `padding="same"`)."""

    def __init__(self, filters, kernel_size, **kwargs):
        if kwargs.get("padding", "same") != "same":
            raise InvalidArgumentError(
                "`MaskedConv1D` keeps one output per input step, so it needs padding='same'. "
                f"Received: padding={kwargs['padding']!r}."
            )
        kwargs["padding"] = "same"
        super().__init__(filters, kernel_size, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is not None:
            inputs = inputs * ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        return super().call(inputs)

    def compute_mask(self, inputs, mask=None):
        return mask


@keras.saving.register_keras_serializable(package="seqrecipes")
class MaskedGlobalMaxPooling1D(keras.layers.GlobalMaxPooling1D):
    """`GlobalMaxPooling1D` over the unmasked steps only.

    A row whose steps are all masked (an empty text) gives zeros rather than -inf.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        keep = ops.expand_dims(ops.cast(mask, "bool"), -1)
        lowest = ops.cast(ops.full_like(inputs, -1e9), inputs.dtype)
        pooled = ops.max(ops.where(keep, inputs, lowest), axis=1, keepdims=self.keepdims)
        any_step = ops.any(keep, axis=1, keepdims=self.keepdims)
        return ops.where(any_step, pooled, ops.zeros_like(pooled))

    def compute_mask(self, inputs, mask=None):
        return None


@keras.saving.register_keras_serializable(package="seqrecipes")
class MaskedGlobalAveragePooling1D(keras.layers.GlobalAveragePooling1D):
    """`GlobalAveragePooling1D` over the unmasked steps; an all-masked row gives zeros, not NaN."""

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        keep = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        total = ops.sum(inputs * keep, axis=1, keepdims=self.keepdims)
        count = ops.sum(keep, axis=1, keepdims=self.keepdims)
        return total / ops.maximum(count, ops.ones_like(count))
