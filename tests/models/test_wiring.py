import pytest

from seqrecipes.errors import InvalidArgumentError
from seqrecipes.models import wiring


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_many_to_one_only_the_last_layer_returns_its_final_output(depth):
    flags = wiring.return_sequences(depth, "many_to_one")
    assert flags[-1] is False
    assert all(flags[:-1])


@pytest.mark.parametrize("task", ["many_to_many", "many_to_one_pooled"])
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_every_layer_returns_sequences(task, depth):
    assert wiring.return_sequences(depth, task) == (True,) * depth


@pytest.mark.parametrize(
    "cell, bidirectional, count",
    [("lstm", False, 2), ("lstm", True, 4), ("gru", False, 1), ("gru", True, 2),
     ("simple_rnn", True, 2)],
)
def test_state_count(cell, bidirectional, count):
    assert len(wiring.state_names(cell, bidirectional)) == count


def test_bidirectional_states_are_forward_then_backward():
    names = wiring.state_names("lstm", bidirectional=True)
    assert names == ("forward_h", "forward_c", "backward_h", "backward_c")


def test_unknown_task_is_refused():
    with pytest.raises(InvalidArgumentError, match="`task` must be one of"):
        wiring.return_sequences(2, "one_to_many")


def test_only_wiring_sets_return_sequences():
    """The rule lives in one place: no call in the package passes a literal
    `return_sequences=True/False` to a layer; the flags come from `wiring`."""
    import ast
    import pathlib

    import seqrecipes

    root = pathlib.Path(seqrecipes.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "return_sequences" and isinstance(
                        keyword.value, ast.Constant
                    ):
                        offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offenders == []
