"""portable.runtime.Session feeds a fixed-batch graph in slices and casts to the declared dtype."""

import numpy as np
import pytest

from seqrecipes.portable import runtime


def fake_session(batch_size):
    """A Session whose graph doubles `x`, taking exactly `batch_size` rows (None: any)."""
    session = object.__new__(runtime.Session)
    session.inputs = [{"name": "x", "dtype": "float32", "shape": [batch_size, 3]}]
    session.outputs = [{"name": "y", "dtype": "float32", "shape": [batch_size, 3]}]
    session.batch_size = batch_size
    seen = []

    def run(feeds):
        seen.append(feeds["x"].shape)
        assert feeds["x"].dtype == np.float32
        if batch_size is not None:
            assert len(feeds["x"]) == batch_size
        return [feeds["x"] * 2]

    session._run = run
    return session, seen


@pytest.mark.parametrize("batch_size, rows, calls", [(None, 5, 1), (1, 5, 5), (2, 5, 3),
                                                     (4, 4, 1)])
def test_rows_come_back_in_order_whatever_the_graph_batch(batch_size, rows, calls):
    session, seen = fake_session(batch_size)
    values = np.arange(rows * 3, dtype="int64").reshape(rows, 3)
    (output,) = session.run({"x": values})
    np.testing.assert_array_equal(output, values * 2)
    assert len(seen) == calls


def test_a_missing_runtime_names_the_extra(monkeypatch):
    import sys

    from seqrecipes.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    with pytest.raises(MissingDependencyError, match=r"ai-edge-litert.*seqrecipes\[portable\]"):
        runtime._import("litert")
