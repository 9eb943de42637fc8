"""A linear-chain conditional random field (CRF) layer in Keras 3 ops.

`tensorflow_addons` (and keras-crf / tf2crf built on it) no longer imports and Keras 3 has no
CRF, so this module writes one with `keras.ops` only: no TensorFlow-specific code. The model
that trains it is `seqrecipes.models.crf_model.CRFModel`; this docstring explains both.

The CRF scores a tag path `y` of a sentence with emission scores `e` (`[batch, steps, num_tags]`,
from a `Dense` layer) as

    score(y) = start[y_first] + sum_t e[t, y_t] + sum_t transitions[y_prev, y_t] + end[y_last]

over the real (unmasked) steps only: a masked step is skipped, as if absent, so post-padding,
pre-padding and fully padded rows all work (a fully padded row has score 0, log-partition 0 and
no NaN). The loss is the negative log-likelihood `log Z - score(gold)`, where `log Z` comes from
the forward algorithm in log space (`logsumexp`, numerically stable); `decode` is Viterbi; and
`marginals` are per-token posteriors from forward-backward. The time loops are `ops.scan`
(a `tf.while_loop` inside `tf.function`), vectorised over the batch and the tags. Each row's
real steps are first moved to the front (one `argsort` per batch), so the loops never look at
the mask: they read their answer at each row's last real step, and the few operations per step
keep the CRF's share of a BiLSTM tagger's training step small (`bench/crf_speed.py`).

How it plugs into `fit` / `evaluate` / `predict` / `export` (read against
`keras/src/trainers/trainer.py`): the trainer calls `y_pred = model(x)` and then
`model.compute_loss(x, y, y_pred)`, and `predict`, `model(x)` and `model.export()` all return
the output of `call`. We want that output to be decoded tag ids, but the loss needs the emission
scores and the mask. So:

* `CRF` is a layer whose `call(emissions, mask)` returns Viterbi tag ids (`int32`,
  `[batch, steps]`, 0 at masked steps). `model(x)`, `predict` and the exported `serve`
  function therefore return tags, with no custom export code.
* `CRFModel` is a functional `keras.Model` subclass (built like `keras.Model(inputs, outputs)`,
  its output being a `CRF`). Its `train_step` and `test_step` call the backend's own steps with
  the CRF switched to return its scores (emissions with the mask appended as one more channel)
  for the duration of the step; `compute_loss` turns those into the mean negative
  log-likelihood (sample weights respected, padded steps ignored by construction), and
  `compute_metrics` decodes them so compiled metrics see tag ids, weighted by the mask. The
  switch is plain Python read while the step is traced, so the compiled train / test functions
  hold the scoring path and the predict function holds the decoding path. Validation loss is
  therefore the same NLL, and `EarlyStopping(monitor="val_loss")` works.
* `CRFModel.predict_marginals(x)` gives `[batch, steps, num_tags]` posteriors (rows sum to 1 on
  real steps, 0 on padding): a confidence per token.

The switch is per step function, so `model(x)` in a hand-written loop always decodes; such a
loop computes its loss with `model.crf.log_likelihood(emissions, tags, mask)`.

Alternatives rejected: `add_loss` needs the gold tags as a model input, so `predict` and the
serving signature would need dummy labels; a `Loss` object needs the transitions from another
layer and cannot be serialised with the model; returning emissions from `call` would make
`model(x)` and `export` return scores instead of tags.
"""

import keras
from keras import ops

from seqrecipes import _validation
from seqrecipes.errors import InvalidArgumentError


def prepare_emissions(emissions, mask):
    """Returns `(emissions, mask)` as the CRF reads them: float32 scores, a boolean mask.

    A missing mask (None) means every step of every row is real.
    """
    emissions = ops.cast(emissions, "float32")
    if mask is None:
        mask = ops.ones(ops.shape(emissions)[:2], dtype="bool")
    return emissions, ops.cast(mask, "bool")


def _time_major(tensor):
    axes = [1, 0] + list(range(2, len(tensor.shape)))
    return ops.transpose(tensor, axes)


def _logsumexp(x, axis):
    # Stable, and lighter than `ops.logsumexp` (no guard for infinite inputs, which never
    # occur here): this runs once per time step.
    top = ops.stop_gradient(ops.max(x, axis=axis, keepdims=True))
    return ops.squeeze(top, axis) + ops.log(ops.sum(ops.exp(x - top), axis=axis))


class _Aligned:
    """A batch with its real steps moved to the front, in order, plus one padding step.

    The loops then never look at the mask: every row is post-padded, so the answer is read at
    step `length - 1` and what the loop computes on padding is discarded (and gets no
    gradient). The extra step makes every scan over steps 1.. at least one step long.
    """

    def __init__(self, emissions, mask):
        steps = ops.shape(mask)[1]
        positions = ops.expand_dims(ops.arange(steps, dtype="int32"), 0)
        # Real steps by position, then padded steps by position: a permutation per row.
        self.order = ops.argsort(ops.where(mask, positions, positions + steps), axis=1)
        self.mask = ops.pad(ops.take_along_axis(mask, self.order, axis=1), [(0, 0), (0, 1)])
        self.lengths = ops.sum(ops.cast(mask, "int32"), axis=1)
        emissions = ops.take_along_axis(emissions, ops.expand_dims(self.order, -1), axis=1)
        self.emissions = ops.pad(emissions, [(0, 0), (0, 1), (0, 0)])
        self.last = ops.maximum(self.lengths - 1, 0)
        self.nonempty = self.lengths > 0

    def at_last(self, time_major_values):
        """Picks step `length - 1` of every row from `[steps, batch, ...]` values."""
        batch_major = _time_major(time_major_values)
        index = ops.reshape(self.last, (-1, 1) + (1,) * (len(batch_major.shape) - 2))
        return ops.squeeze(ops.take_along_axis(batch_major, index, axis=1), 1)

    def restore(self, values):
        """Undoes the reordering of `[batch, steps + 1, ...]` values (the extra step dropped)."""
        values = values[:, :-1]
        inverse = ops.argsort(self.order, axis=1)
        index = ops.reshape(inverse, ops.shape(inverse) + (1,) * (len(values.shape) - 2))
        return ops.take_along_axis(values, index, axis=1)


@keras.saving.register_keras_serializable(package="seqrecipes")
class CRF(keras.layers.Layer):
    """Linear-chain CRF: Viterbi tags from `call`, NLL, log-partition and marginals as methods.

    The input is the emission scores `[batch, steps, num_tags]` (a `Dense` layer without
    activation) with a Keras mask of real steps; the number of tags is read from the input.

    Args:
        use_boundary_transitions: bool. Learn start and end transition scores (the score of a
            tag opening or closing a sentence). Defaults to True.
        transitions_initializer: Initializer of the transition weights. Defaults to "zeros",
            so the untrained CRF scores tags exactly like independent softmaxes.
        transitions_regularizer: Optional regularizer of the transition weights.
        **kwargs: Layer arguments. `dtype` defaults to "float32": the forward algorithm sums
            many log-scores and is kept out of mixed precision.

    Call arguments:
        emissions: float tensor `[batch, steps, num_tags]`.
        mask: optional boolean tensor `[batch, steps]`, True at real steps.

    Returns:
        The best tag path (Viterbi), `int32` `[batch, steps]`, 0 at masked steps.
    """

    def __init__(
        self,
        use_boundary_transitions=True,
        transitions_initializer="zeros",
        transitions_regularizer=None,
        **kwargs,
    ):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.use_boundary_transitions = _validation.check_bool(
            "use_boundary_transitions", use_boundary_transitions
        )
        self.transitions_initializer = keras.initializers.get(transitions_initializer)
        self.transitions_regularizer = keras.regularizers.get(transitions_regularizer)
        self.supports_masking = True
        # TensorFlow: XLA cannot compile the gradient of a `while_loop` whose number of steps
        # is unknown (Keras's `ops.scan` sets no `maximum_iterations`). Keras turns
        # `jit_compile="auto"` on for GPUs unless a layer opts out, so the CRF opts out there.
        # JAX's `lax.scan` compiles; opting out would run JAX's steps eagerly, op by op.
        self.supports_jit = keras.backend.backend() != "tensorflow"
        # Set by `CRFModel` while a train / test step is traced: `call` returns scores (True),
        # or scores and the Viterbi tags ("with_tags", for compiled metrics).
        self._return_scores = False

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise InvalidArgumentError(
                "`CRF` takes emission scores of shape (batch, steps, num_tags) with a known "
                f"num_tags. Received: input_shape={tuple(input_shape)}."
            )
        num_tags = input_shape[-1]
        self.num_tags = num_tags
        self.transitions = self.add_weight(
            shape=(num_tags, num_tags),
            initializer=self.transitions_initializer,
            regularizer=self.transitions_regularizer,
            name="transitions",
        )
        if self.use_boundary_transitions:
            self.start_transitions = self.add_weight(
                shape=(num_tags,), initializer=self.transitions_initializer, name="start"
            )
            self.end_transitions = self.add_weight(
                shape=(num_tags,), initializer=self.transitions_initializer, name="end"
            )

    def _boundaries(self):
        if self.use_boundary_transitions:
            return (
                ops.convert_to_tensor(self.start_transitions),
                ops.convert_to_tensor(self.end_transitions),
            )
        zeros = ops.zeros((self.num_tags,), dtype="float32")
        return zeros, zeros

    # -- inference -------------------------------------------------------------------------

    def call(self, emissions, mask=None):
        if self._return_scores:
            emissions, mask = prepare_emissions(emissions, mask)
            scores = pack_scores(emissions, mask)
            if self._return_scores == "with_tags":
                # Decoded here, in the forward pass, for compiled metrics: Keras's JAX trainer
                # computes metrics where the model's variables (the transitions) are unset.
                tags = self.decode(ops.stop_gradient(emissions), mask)
                scores = ops.concatenate([scores, ops.expand_dims(ops.cast(tags, "float32"), -1)],
                                         axis=-1)
            return scores
        return self.decode(emissions, mask)

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_spec(self, emissions, mask=None):
        return keras.KerasTensor(emissions.shape[:-1], dtype="int32")

    def decode(self, emissions, mask=None):
        """Returns the Viterbi path, `int32` `[batch, steps]`, 0 at masked steps."""
        return self.viterbi(emissions, mask)[0]

    def viterbi(self, emissions, mask=None):
        """Returns the best path and its score (`[batch]`, 0 for a fully padded row)."""
        emissions, mask = prepare_emissions(emissions, mask)
        aligned = _Aligned(emissions, mask)
        start, end = self._boundaries()
        transitions = ops.convert_to_tensor(self.transitions)
        first = start + aligned.emissions[:, 0]

        def step(carry, emission):
            # candidates[b, i, j]: the best path ending in tag i, then moving to tag j.
            candidates = ops.expand_dims(carry[0], -1) + transitions
            new = (
                ops.max(candidates, axis=1) + emission,
                ops.cast(ops.argmax(candidates, axis=1), "int32"),
            )
            return new, new

        identity = ops.zeros_like(first, dtype="int32") + ops.arange(self.num_tags, dtype="int32")
        init = (first, identity)
        _, (deltas, pointers) = ops.scan(step, init, _time_major(aligned.emissions[:, 1:]))
        deltas = ops.concatenate([ops.expand_dims(first, 0), deltas], axis=0)
        final = aligned.at_last(deltas) + end
        best_score = ops.where(aligned.nonempty, ops.max(final, axis=-1), 0.0)
        # Past the last real step a pointer keeps the tag, so backtracking starts at the end.
        keep = ops.expand_dims(_time_major(aligned.mask[:, 1:]), -1)
        pointers = ops.where(keep, pointers, identity)

        def back(tag, step_pointers):
            # `tag` is the tag at this step; its pointer gives the tag at the previous step.
            previous = ops.take_along_axis(step_pointers, ops.expand_dims(tag, -1), axis=-1)
            return ops.squeeze(previous, -1), tag

        last_tag = ops.cast(ops.argmax(final, axis=-1), "int32")
        first_tag, path = ops.scan(back, last_tag, pointers, reverse=True)
        path = ops.concatenate([ops.expand_dims(first_tag, 1), _time_major(path)], axis=1)
        path = aligned.restore(path)
        return ops.where(mask, path, 0), best_score

    # -- training --------------------------------------------------------------------------

    def _forward(self, aligned):
        """Forward algorithm on aligned steps: log alpha `[steps + 1, batch, tags]` and log Z."""
        start, end = self._boundaries()
        transitions = ops.convert_to_tensor(self.transitions)
        first = start + aligned.emissions[:, 0]

        def step(alpha, emission):
            alpha = _logsumexp(ops.expand_dims(alpha, -1) + transitions, axis=1) + emission
            return alpha, alpha

        _, alphas = ops.scan(step, first, _time_major(aligned.emissions[:, 1:]))
        alphas = ops.concatenate([ops.expand_dims(first, 0), alphas], axis=0)
        log_z = _logsumexp(aligned.at_last(alphas) + end, axis=-1)
        return alphas, ops.where(aligned.nonempty, log_z, 0.0)

    def log_partition(self, emissions, mask=None):
        """Returns log Z, the log-sum-exp of the scores of every tag path, `[batch]`."""
        emissions, mask = prepare_emissions(emissions, mask)
        return self._forward(_Aligned(emissions, mask))[1]

    def _gold_score(self, aligned, tags):
        start, end = self._boundaries()
        tags = ops.take_along_axis(tags, aligned.order, axis=1)
        real = ops.cast(aligned.mask[:, :-1], "float32")
        picked = ops.take_along_axis(aligned.emissions[:, :-1], ops.expand_dims(tags, -1), -1)
        score = ops.sum(ops.squeeze(picked, -1) * real, axis=1)
        pairs = tags[:, :-1] * self.num_tags + tags[:, 1:]
        flat = ops.reshape(self.transitions, (-1,))
        score += ops.sum(ops.take(flat, pairs) * real[:, 1:], axis=1)
        last_tag = ops.take_along_axis(tags, ops.expand_dims(aligned.last, -1), axis=1)
        boundary = ops.take(start, tags[:, 0]) + ops.take(end, ops.squeeze(last_tag, -1))
        return score + ops.where(aligned.nonempty, boundary, 0.0)

    def sequence_score(self, emissions, tags, mask=None):
        """Returns the score of the given tag paths, `[batch]` (tags at masked steps ignored)."""
        emissions, mask = prepare_emissions(emissions, mask)
        tags = ops.where(mask, ops.cast(tags, "int32"), 0)
        return self._gold_score(_Aligned(emissions, mask), tags)

    def log_likelihood(self, emissions, tags, mask=None):
        """Returns log p(tags | emissions) per sequence, `[batch]` (0 for a fully padded row)."""
        emissions, mask = prepare_emissions(emissions, mask)
        tags = ops.where(mask, ops.cast(tags, "int32"), 0)
        aligned = _Aligned(emissions, mask)
        return self._gold_score(aligned, tags) - self._forward(aligned)[1]

    def marginals(self, emissions, mask=None):
        """Returns p(y_t = k | emissions) by forward-backward, `[batch, steps, num_tags]`.

        Rows sum to 1 at real steps and are 0 at masked steps.
        """
        emissions, mask = prepare_emissions(emissions, mask)
        aligned = _Aligned(emissions, mask)
        _, end = self._boundaries()
        transitions = ops.convert_to_tensor(self.transitions)
        alphas, log_z = self._forward(aligned)
        steps = ops.shape(aligned.emissions)[1]
        is_last = ops.equal(
            ops.expand_dims(ops.arange(steps, dtype="int32"), 0),
            ops.expand_dims(aligned.last, -1),
        )

        def step(following, inputs):
            # `following` is emission + beta of the next step; beta is `end` at the last step.
            emission, last = unpack_scores(inputs)
            moved = _logsumexp(transitions + ops.expand_dims(following, 1), axis=-1)
            beta = ops.where(ops.expand_dims(last, -1), end, moved)
            return emission + beta, emission + beta

        # One `xs` tensor, not a tuple: Keras 3.15's TensorFlow `ops.scan` fails on several
        # `xs` when the number of steps is unknown (as in an exported model's signature).
        xs = _time_major(pack_scores(aligned.emissions, is_last))
        _, following = ops.scan(step, ops.zeros_like(alphas[0]), xs, reverse=True)
        betas = following - _time_major(aligned.emissions)
        log_marginals = _time_major(alphas + betas) - ops.reshape(log_z, (-1, 1, 1))
        log_marginals = aligned.restore(log_marginals)
        keep = ops.expand_dims(mask, -1)
        return ops.where(keep, ops.exp(ops.where(keep, log_marginals, 0.0)), 0.0)

    def get_config(self):
        config = super().get_config()
        config.update(
            use_boundary_transitions=self.use_boundary_transitions,
            transitions_initializer=keras.initializers.serialize(self.transitions_initializer),
            transitions_regularizer=keras.regularizers.serialize(self.transitions_regularizer),
        )
        return config


def pack_scores(emissions, mask):
    """Emissions `[batch, steps, tags]` and the mask as one more channel: `[..., tags + 1]`."""
    return ops.concatenate([emissions, ops.expand_dims(ops.cast(mask, "float32"), -1)], axis=-1)


def unpack_scores(scores):
    """Inverse of `pack_scores`: returns `(emissions, mask)`."""
    return scores[..., :-1], scores[..., -1] > 0.5


def crf_formula(layer, d):
    """The parameter count of a CRF (or a decoder copied from one) for `params.register_formula`."""
    # K*K transition scores (from tag i to tag j), plus K start and K end scores.
    k = layer.num_tags if layer.built else d
    if k is None:
        return None
    return f"{k}*{k}+2*{k}" if layer.use_boundary_transitions else f"{k}*{k}"


def _register():
    from seqrecipes.models.params import register_formula  # params does not import this module

    register_formula(CRF, crf_formula)


_register()
