"""Wiring diagnosis: which layer breaks the wiring rule, and what to change.

Keras 3 reports a broken stack with the layer that *receives* the wrong input, not the one to
fix: ``Input 0 with name 'None' of layer 'lstm_1' is incompatible with the layer: expected
ndim=3, found ndim=2. Full shape received: (None, 4)``. The layer to change is the one before
it, `lstm`, which returns only its final output. `diagnose_wiring` follows the tensor's rank
through a chain of layers without building anything (the broken `Sequential` cannot even be
built) and names the layer and the fix in the words of `seqrecipes.models.wiring`;
`explain_build_error` turns Keras's error into that explanation.

Given the task, it also finds the two mistakes that build without complaint: a tagger whose
last recurrent layer returns only its final output (one prediction per text instead of per
step) and a classifier whose Dense head runs on 3-D input (one prediction per step).
"""

import dataclasses
import re

import keras

from seqrecipes import _validation
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.models import wiring

# The wiring rule in the words of seqrecipes.models.wiring.
STACKING_RULE = (
    "Wiring rule: stacking needs 3-D input, so a layer that feeds another recurrent layer "
    "must return sequences (many-to-one: every recurrent layer returns sequences except the "
    "last)."
)
MANY_TO_ONE_RULE = (
    "Wiring rule (many-to-one): every recurrent layer returns sequences except the last, which "
    "returns only its final output (a 2-D tensor) for the head."
)
MANY_TO_MANY_RULE = (
    "Wiring rule (many-to-many): every recurrent layer returns sequences; the head is a Dense "
    "on the 3-D output, applied to every step with the same weights."
)

_RECURRENT = (keras.layers.RNN, keras.layers.Bidirectional)
_KEEP_RANK = (
    keras.layers.Dense, keras.layers.Dropout, keras.layers.Masking, keras.layers.Activation,
    keras.layers.Identity, keras.layers.LayerNormalization, keras.layers.BatchNormalization,
    keras.layers.GaussianNoise, keras.layers.GaussianDropout,
)
_SEQUENCE_TO_SEQUENCE = (  # need (batch, steps, features) and give it back
    keras.layers.Conv1D, keras.layers.MaxPooling1D, keras.layers.AveragePooling1D,
    keras.layers.SpatialDropout1D, keras.layers.UpSampling1D, keras.layers.ZeroPadding1D,
    keras.layers.Cropping1D, keras.layers.TimeDistributed,
)
_GLOBAL_POOLING = (keras.layers.GlobalMaxPooling1D, keras.layers.GlobalAveragePooling1D)


@dataclasses.dataclass(frozen=True)
class WiringFinding:
    """One break of the wiring rule.

    Attributes:
        kind: str. "final_output_feeds_sequence_layer", "rank_mismatch",
            "tagger_drops_steps" or "dense_on_sequences".
        layer: str. Name of the layer to change.
        consumer: str. Name of the layer that gets the wrong input (the one Keras names).
        message: str. What goes wrong, in the wiring rule's words.
        fix: str. What to change.
    """

    kind: str
    layer: str
    consumer: str
    message: str
    fix: str

    def __str__(self):
        return f"{self.message} Fix: {self.fix}"


def _step(layer, rank):
    """Returns (the input rank `layer` needs or None, the rank it gives or None if unknown)."""
    if isinstance(layer, keras.KerasTensor):
        return None, len(layer.shape)
    if isinstance(layer, keras.layers.InputLayer):
        return None, len(layer.batch_shape)
    if isinstance(layer, _RECURRENT):
        return 3, 3 if layer.return_sequences else 2
    if isinstance(layer, keras.layers.Embedding):
        return None, 3 if rank is None else rank + 1  # token ids are (batch, steps)
    if isinstance(layer, _GLOBAL_POOLING):
        return 3, 3 if layer.keepdims else 2
    if isinstance(layer, _SEQUENCE_TO_SEQUENCE):
        return 3, 3
    if isinstance(layer, keras.layers.RepeatVector):
        return 2, 3
    if isinstance(layer, keras.layers.Flatten):
        return None, 2
    if isinstance(layer, keras.layers.Reshape):
        return None, len(layer.target_shape) + 1
    if isinstance(layer, _KEEP_RANK):
        return None, rank
    return None, None  # a layer we do not know: stop checking until a known rank comes


def _name(layer):
    return "the input" if isinstance(layer, keras.KerasTensor) else f"'{layer.name}'"


def _describe(layer):
    if layer is None or isinstance(layer, keras.KerasTensor):
        return "the model's input"
    if isinstance(layer, keras.layers.Bidirectional):
        inner = type(layer.forward_layer).__name__
        return f"'{layer.name}' (Bidirectional({inner}), return_sequences={layer.return_sequences})"
    if isinstance(layer, _RECURRENT):
        return f"'{layer.name}' ({type(layer).__name__}, return_sequences={layer.return_sequences})"
    return f"'{layer.name}' ({type(layer).__name__})"


def _words(task):
    return task.replace("_", "-")  # "many_to_one" -> "many-to-one", as the rule says it


def _pass_flag(layer, value):
    if isinstance(layer, keras.layers.Bidirectional):
        inner = type(layer.forward_layer).__name__
        return f"pass return_sequences={value} to the {inner} inside '{layer.name}'"
    return f"pass return_sequences={value} to '{layer.name}'"


def _return_sequences_fix(layer, value):
    return (
        f"{_pass_flag(layer, value)}, or let seqrecipes.models.recurrent_stack (which asks "
        "seqrecipes.models.wiring.return_sequences) choose the flags."
    )


def _rank_finding(layer, needed, rank, source):
    if needed == 3 and rank == 2 and isinstance(source, _RECURRENT):
        return WiringFinding(
            kind="final_output_feeds_sequence_layer",
            layer=source.name,
            consumer=layer.name,
            message=(
                f"{_describe(source)} returns only its final output, a 2-D tensor (batch, "
                f"units), but '{layer.name}' ({type(layer).__name__}) needs a 3-D sequence "
                "(batch, steps, features); Keras reports this as \"expected ndim=3, found "
                f"ndim=2\" for '{layer.name}'. {STACKING_RULE}"
            ),
            fix=_return_sequences_fix(source, True),
        )
    culprit = "the input" if source is None or isinstance(source, keras.KerasTensor) else (
        source.name
    )
    return WiringFinding(
        kind="rank_mismatch",
        layer=culprit,
        consumer=layer.name,
        message=(
            f"'{layer.name}' ({type(layer).__name__}) needs {needed}-D input but gets "
            f"{rank}-D from {_describe(source)}."
        ),
        fix=f"give '{layer.name}' {needed}-D input: change, move or remove {_name(source)}"
        if culprit != "the input" else f"give the model {needed}-D input.",
    )


def _as_layers(model_or_layers):
    if isinstance(model_or_layers, keras.Sequential):
        layers = list(model_or_layers.layers)
        try:
            return [model_or_layers.inputs[0]] + layers
        except (AttributeError, TypeError, ValueError, IndexError):
            return layers  # not built yet: no input shape to start from
    if isinstance(model_or_layers, keras.Model):
        raise InvalidArgumentError(
            "`diagnose_wiring` follows a chain of layers: pass a keras.Sequential or a list "
            f"of layers. Received: a functional model {model_or_layers.name!r}."
        )
    if isinstance(model_or_layers, (list, tuple)) and all(
        isinstance(item, (keras.layers.Layer, keras.KerasTensor)) for item in model_or_layers
    ):
        return list(model_or_layers)
    raise InvalidArgumentError(
        "`model_or_layers` must be a keras.Sequential or a list of Keras layers (a "
        f"keras.Input first if you have one). Received: {model_or_layers!r} "
        f"({type(model_or_layers).__name__})."
    )


def diagnose_wiring(model_or_layers, *, task=None):
    """Returns the breaks of the wiring rule in a chain of layers, each with its fix.

    Works on a `Sequential` or on the list of layers you would give one (so also when the
    `Sequential` itself fails to build), without building anything.

    Args:
        model_or_layers: a `keras.Sequential`, or a list of layers (optionally a
            `keras.Input(...)` first).
        task: str or None. "many_to_one", "many_to_one_pooled" or "many_to_many": also check
            the output is 2-D (one prediction per sequence) or 3-D (one per step). Defaults
            to None: only breaks that stop the model from building are reported.

    Returns:
        A list of `WiringFinding` (empty when the wiring is right).

    Example:

    >>> layers = [
    ...     keras.layers.Embedding(20, 4, name="embedding"),
    ...     keras.layers.LSTM(4, name="lstm"),
    ...     keras.layers.LSTM(4, name="lstm_1"),
    ...     keras.layers.Dense(2, name="head"),
    ... ]
    >>> [(finding.layer, finding.consumer) for finding in diagnose_wiring(layers)]
    [('lstm', 'lstm_1')]
    """
    layers = _as_layers(model_or_layers)
    if task is not None:
        _validation.check_choice("task", task, wiring.TASKS)
    findings = []
    rank, source, head, head_source = None, None, None, None
    for layer in layers:
        needed, given = _step(layer, rank)
        if needed is not None and rank is not None and rank != needed:
            findings.append(_rank_finding(layer, needed, rank, source))
            needed, given = _step(layer, needed)  # go on as if fixed: report each break once
        if isinstance(layer, (keras.layers.Dense, keras.layers.TimeDistributed)):
            head, head_source = layer, source
        if not isinstance(layer, _KEEP_RANK):
            source = layer  # the layer that decided the rank the next layer sees
        rank = given
    if task is None or rank is None:
        return findings
    if task == "many_to_many" and rank == 2:
        findings.append(_tagger_finding(source, head))
    elif task != "many_to_many" and rank == 3:
        findings.append(_dense_finding(task, head, head_source))
    return findings


def _tagger_finding(source, head):
    if source is None or isinstance(source, keras.KerasTensor):
        return WiringFinding(
            kind="tagger_drops_steps", layer="the input", consumer=head.name if head else "",
            message="The input has no steps axis, so a tagger (many-to-many) cannot give one "
            f"prediction per step. {MANY_TO_MANY_RULE}",
            fix="give the model 3-D input (batch, steps, features) or token ids (batch, steps).",
        )
    head_name = f"the head '{head.name}'" if head is not None else "the output"
    recurrent = isinstance(source, _RECURRENT)
    return WiringFinding(
        kind="tagger_drops_steps",
        layer=source.name,
        consumer=head.name if head is not None else source.name,
        message=(
            f"{_describe(source)} "
            + ("returns only its final output" if recurrent else "reduces the steps away")
            + f", so {head_name} gives one prediction per sequence, not one per step as a "
            f"tagger (many-to-many) needs. {MANY_TO_MANY_RULE}"
        ),
        fix=_return_sequences_fix(source, True) if recurrent
        else f"remove '{source.name}' (or build the model with build_sequence_tagger).",
    )


def _dense_finding(task, head, source):
    if head is None:
        return WiringFinding(
            kind="dense_on_sequences", layer=source.name, consumer=source.name,
            message=f"The output is 3-D (one value per step) but a {_words(task)} model gives one "
            f"prediction per sequence (2-D). {MANY_TO_ONE_RULE}",
            fix="end the model with a 2-D output: a last recurrent layer that returns only "
            "its final output, or a pooling layer.",
        )
    pooling = (
        "put a pooling layer (keras.layers.GlobalAveragePooling1D, or pooling=\"mean\" in "
        f"build_sequence_classifier) before '{head.name}'."
    )
    if isinstance(source, _RECURRENT) and task == "many_to_one":
        fix = f"{_pass_flag(source, False)} (the last recurrent layer), or {pooling}"
    else:
        fix = pooling
    return WiringFinding(
        kind="dense_on_sequences",
        layer=source.name if isinstance(source, _RECURRENT) else head.name,
        consumer=head.name,
        message=(
            f"The Dense head '{head.name}' gets 3-D input (batch, steps, features) from "
            f"{_name(source)}, so it makes one prediction per step; a {_words(task)} model "
            f"needs 2-D input there (one prediction per sequence). {MANY_TO_ONE_RULE}"
        ),
        fix=fix,
    )


_NDIM_ERROR = re.compile(
    r"layer ['\"]([^'\"]+)['\"] is incompatible with the layer: expected (?:min_|max_)?"
    r"ndim=(\d+), found ndim=(\d+)"
)
_TARGET_ERROR = re.compile(r"target\.shape=\(([^)]*)\), output\.shape=\(([^)]*)\)")


def _rank_of(shape_text):
    return len([item for item in shape_text.split(",") if item.strip()])


def explain_build_error(error, model_or_layers, *, task=None):
    """Explains a Keras wiring error with the layer to change and the fix, or returns None.

    Understands the build error ("... of layer 'lstm_1' is incompatible with the layer:
    expected ndim=3, found ndim=2 ...") and the error `fit` raises when the output has the
    wrong rank for the labels ("... target.shape=(None,), output.shape=(None, 5, 3)"), from
    which it infers the task unless `task` is given.

    Args:
        error: the exception Keras raised (or its message).
        model_or_layers: the `Sequential` or list of layers that raised it.
        task: str or None. As in `diagnose_wiring`.

    Returns:
        A str (one line per finding), or None when the error is not a wiring error this
        module can explain.

    Example:

    >>> layers = [keras.Input((None,)), keras.layers.Embedding(20, 4),
    ...           keras.layers.LSTM(4, name="lstm"), keras.layers.LSTM(4, name="lstm_1")]
    >>> try:
    ...     keras.Sequential(layers)
    ... except ValueError as error:
    ...     print(explain_build_error(error, layers))
    'lstm' (LSTM, return_sequences=False) returns only its final output, ...
    Fix: pass return_sequences=True to 'lstm', ...
    """
    text = str(error)
    ndim = _NDIM_ERROR.search(text)
    target = _TARGET_ERROR.search(text)
    if ndim:
        findings = [
            finding for finding in diagnose_wiring(model_or_layers, task=task)
            if finding.consumer == ndim.group(1)
        ]
    elif target:
        if task is None:
            # The labels disagree with the output: a 3-D output wanted labels per sequence,
            # a 2-D output wanted labels per step.
            task = "many_to_one" if _rank_of(target.group(2)) == 3 else "many_to_many"
        findings = [
            finding for finding in diagnose_wiring(model_or_layers, task=task)
            if finding.kind in ("tagger_drops_steps", "dense_on_sequences")
        ]
    else:
        return None
    return "\n".join(str(finding) for finding in findings) or None
