"""`CRFModel`: a functional model whose output is a `CRF`, trained by its negative log-likelihood.

Why it is built this way is explained in `seqrecipes.models.crf`. In short: `model(x)`,
`predict` and `export` return the CRF's Viterbi tags; `fit` and `evaluate` run their steps with
the CRF switched to return its scores, and `compute_loss` turns them into the NLL.
"""

import contextlib
import types

import keras
from keras import ops

from seqrecipes.errors import InvalidArgumentError
from seqrecipes.models.crf import CRF, unpack_scores


class _MarginalsHead(keras.layers.Layer):
    """Calls a CRF's `marginals` in a graph (used only by `predict_marginals`, never saved)."""

    def __init__(self, crf, **kwargs):
        super().__init__(dtype="float32", **kwargs)
        self.crf = crf
        self.supports_masking = True

    def call(self, emissions, mask=None):
        return self.crf.marginals(emissions, mask)

    def compute_output_spec(self, emissions, mask=None):
        return keras.KerasTensor(emissions.shape, dtype="float32")


@keras.saving.register_keras_serializable(package="seqrecipes")
class CRFModel(keras.Model):
    """A functional model (`CRFModel(inputs, outputs)`) whose single output is a `CRF` layer.

    Compile it with an optimizer only: the loss is the CRF's mean negative log-likelihood per
    sequence (weighted by `sample_weight` when given, plus any regularization losses). Targets
    are tag ids `[batch, steps]`; their values at masked steps are ignored. Compiled metrics
    receive the decoded tags, with the mask as sample weight.

    Example:

    >>> import numpy as np
    >>> inputs = keras.Input(shape=(None,), dtype="int32")
    >>> x = keras.layers.Embedding(10, 4, mask_zero=True)(inputs)
    >>> outputs = CRF()(keras.layers.Dense(3)(x))
    >>> model = CRFModel(inputs, outputs)
    >>> model.compile(optimizer="adam")
    >>> model.output_shape
    (None, None)
    >>> model.predict(np.array([[4, 5, 0]]), verbose=0).shape
    (1, 3)
    """

    def __init__(self, inputs, outputs, name=None, **kwargs):
        super().__init__(inputs, outputs, name=name, **kwargs)
        crfs = [layer for layer in self.layers if isinstance(layer, CRF)]
        if len(self.outputs) != 1 or len(crfs) != 1 or crfs[0].output is not self.outputs[0]:
            raise InvalidArgumentError(
                "`CRFModel` needs exactly one output, produced by its only `CRF` layer. "
                f"Received: outputs={outputs!r}. Use `keras.Model` for other heads."
            )
        # A plain namespace, not tracked by Keras: nothing here is saved with the model.
        self._cache = types.SimpleNamespace(crf=crfs[0], marginals_model=None)

    @property
    def crf(self):
        """The model's `CRF` layer."""
        return self._cache.crf

    @contextlib.contextmanager
    def _scoring(self):
        # With compiled metrics the CRF also returns its Viterbi tags (see `CRF.call`).
        self.crf._return_scores = "with_tags" if self._compile_metrics is not None else True
        try:
            yield
        finally:
            self.crf._return_scores = False

    # The backend's own steps, whatever their signature: `(data)` on TensorFlow and PyTorch,
    # `(state, data)` on JAX. The switch is read when the step is traced, so it holds for the
    # compiled step.
    def train_step(self, *args):
        with self._scoring():
            return super().train_step(*args)

    def test_step(self, *args):
        with self._scoring():
            return super().test_step(*args)

    # Keras's JAX trainer builds the compiled metrics and loss before the first step, from a
    # symbolic `y_pred` (`Trainer._symbolic_build`): they consume scores there too.
    def _symbolic_build(self, *args, **kwargs):
        with self._scoring():
            return super()._symbolic_build(*args, **kwargs)

    def _emissions_and_mask(self, y_pred):
        if y_pred is None or "int" in str(y_pred.dtype):
            raise InvalidArgumentError(
                "`CRFModel.compute_loss` needs the CRF scores that `fit` and `evaluate` "
                "produce, not decoded tags. Train with `fit`, or call "
                "`model.crf.log_likelihood(emissions, tags, mask)` directly."
            )
        if y_pred.shape[-1] == self.crf.num_tags + 2:  # scores, mask, then the tags
            return unpack_scores(y_pred[..., :-1])
        return unpack_scores(y_pred)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        # `compile` is not overridden (Keras would then skip compiling a loaded model), so a
        # `loss` given there is refused here, at the first step.
        if self.loss is not None:
            raise InvalidArgumentError(
                "`CRFModel` trains on the CRF's negative log-likelihood; compile it without "
                f"`loss`. Received: loss={self.loss!r}."
            )
        emissions, mask = self._emissions_and_mask(y_pred)
        tags = ops.reshape(ops.cast(y, "int32"), ops.shape(mask))
        nll = -self.crf.log_likelihood(emissions, tags, mask)
        if sample_weight is None:
            loss = ops.mean(nll)
        else:
            weight = ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
            loss = ops.sum(nll * weight) / ops.maximum(ops.sum(weight), 1e-7)
        for extra in self.losses:
            loss = loss + ops.sum(ops.cast(extra, "float32"))
        return loss

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        if self._compile_metrics is None:
            return self.get_metrics_result()
        emissions, mask = self._emissions_and_mask(y_pred)
        if y_pred.shape[-1] == self.crf.num_tags + 2:
            tags = ops.cast(y_pred[..., -1], "int32")
        else:
            tags = self.crf.decode(emissions, mask)
        weight = ops.cast(mask, "float32")
        if sample_weight is not None:
            weight = weight * ops.reshape(ops.cast(sample_weight, "float32"), (-1, 1))
        return super().compute_metrics(x, y, tags, sample_weight=weight)

    def predict_marginals(self, x, **kwargs):
        """Returns per-token tag probabilities `[batch, steps, num_tags]` (0 at padding).

        Takes the same `x` and keyword arguments as `predict`. The maximum over the last axis
        is a per-token confidence; `marginals[..., k]` at the decoded tag is the probability
        of that tag.
        """
        if self._cache.marginals_model is None:
            # The CRF's first input is its emissions (the mask comes along at run time).
            emissions = keras.tree.flatten(self.crf.input)[0]
            marginals = _MarginalsHead(self.crf, name="crf_marginals")(emissions)
            self._cache.marginals_model = keras.Model(self.input, marginals)
        return self._cache.marginals_model.predict(x, **kwargs)
