"""The wiring rule: which recurrent layer returns sequences and which states come out.

This module is the only place in seqrecipes that decides `return_sequences` and the order and
names of `return_state` outputs. Every builder asks it; none decides for itself.

The rule (a stack of `num_layers` recurrent layers, numbered from the input):

* many-to-one ("many_to_one"): every layer returns sequences except the last, which returns only
  its final output (a 2-D tensor) for the head. Stacking needs 3-D input, so a layer that feeds
  another recurrent layer must return sequences; the classic Keras error "expected ndim=3,
  found ndim=2" is this rule broken.
* many-to-one with pooling ("many_to_one_pooled"): every layer returns sequences and a pooling
  layer (masked mean or max over time) reduces the last one to 2-D.
* many-to-many ("many_to_many"): every layer returns sequences; the head is a `Dense` on the
  3-D output, applied to every step with the same weights.

`return_state=True` (functional API only) adds the final states after the output: SimpleRNN and
GRU give `[output, h]`, LSTM gives `[output, h, c]`, and `Bidirectional` gives the output, then
the forward states, then the backward states (5 tensors for LSTM, 3 for GRU / SimpleRNN).
`Bidirectional(merge_mode="concat")` doubles the width; "sum", "ave" and "mul" keep it.
"""

from seqrecipes import _validation

CELLS = ("simple_rnn", "lstm", "gru")
TASKS = ("many_to_one", "many_to_one_pooled", "many_to_many")
MERGE_MODES = ("concat", "sum", "ave", "mul")

# Final states of one direction, in the order Keras returns them.
_STATE_NAMES = {"simple_rnn": ("h",), "gru": ("h",), "lstm": ("h", "c")}


def return_sequences(num_layers, task):
    """Returns one `return_sequences` flag per layer of a stack, input side first.

    Args:
        num_layers: int. How many recurrent layers are stacked.
        task: str. "many_to_one", "many_to_one_pooled" or "many_to_many".

    Returns:
        A tuple of `num_layers` booleans.

    Example:

    >>> return_sequences(3, "many_to_one")
    (True, True, False)
    >>> return_sequences(2, "many_to_many")
    (True, True)
    """
    _validation.check_positive_int("num_layers", num_layers)
    _validation.check_choice("task", task, TASKS)
    last = task != "many_to_one"
    return (True,) * (num_layers - 1) + (last,)


def state_names(cell, bidirectional=False):
    """Returns the names of the final states a `return_state=True` layer gives after its output.

    Example:

    >>> state_names("lstm", bidirectional=True)
    ('forward_h', 'forward_c', 'backward_h', 'backward_c')
    >>> state_names("gru")
    ('h',)
    """
    _validation.check_choice("cell", cell, CELLS)
    names = _STATE_NAMES[cell]
    if not bidirectional:
        return names
    return tuple(f"forward_{n}" for n in names) + tuple(f"backward_{n}" for n in names)


def output_width(units, bidirectional=False, merge_mode="concat"):
    """Returns the feature width of a recurrent layer's output.

    Example:

    >>> output_width(4, bidirectional=True)
    8
    >>> output_width(4, bidirectional=True, merge_mode="sum")
    4
    """
    doubles = bidirectional and merge_mode == "concat"
    return 2 * units if doubles else units
