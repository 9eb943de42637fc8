import inspect
import math

import numpy as np
import pytest

from seqrecipes import cli
from seqrecipes.recipes import gradient_flow
from seqrecipes.recipes.engine import artifacts as _artifacts


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("gradient") / "run"
    return gradient_flow.run(steps=100, units=8, input_dim=4, num_sequences=4, seed=7,
                             clip_norm=10.0, run_dir=run_dir, verbose=0)


def test_simple_rnn_gradient_vanishes(result):
    summary = result.metrics["summary"]["simple_rnn"]
    # The last step's loss barely reaches the first input: measured about 1e-13.
    assert summary["ratio_first_to_last"] < 1e-4
    assert summary["factor_per_step"] < 1


def test_all_gradients_are_finite_and_gates_that_keep_the_state_keep_the_gradient(result):
    norms = result.metrics["input_gradient_norms"]
    for name in ("simple_rnn", "lstm", "gru", "lstm_keep", "gru_keep"):
        assert len(norms[name]) == 100
        assert all(math.isfinite(value) and value >= 0 for value in norms[name])
    summary = result.metrics["summary"]
    for keeping in ("lstm_keep", "gru_keep"):
        assert summary[keeping]["ratio_first_to_last"] > 1e3 * summary["simple_rnn"][
            "ratio_first_to_last"]


def test_spectral_radius_above_one_explodes_and_clipping_bounds_it(result):
    assert result.metrics["summary"]["exploding_simple_rnn"]["factor_per_step"] > 1
    clipping = result.metrics["clipping"]
    raw = np.array(clipping["raw_global_norm"])
    clipped = np.array(clipping["clipped_global_norm"])
    assert raw.max() > 100 * clipping["clip_norm"]  # it did explode
    assert (clipped <= clipping["clip_norm"] * (1 + 1e-5)).all()
    # Below the threshold clipping changes nothing.
    small = raw < clipping["clip_norm"]
    assert small.any()
    np.testing.assert_allclose(clipped[small], raw[small], rtol=1e-5)
    assert max(clipping["sgd_clipnorm_largest_update"]) <= clipping["clip_norm"] * (1 + 1e-5)


def test_run_directory_and_table(result):
    names = {path.name for path in result.run_dir.iterdir()}
    assert {"model.keras", "metrics.json", "gradient_flow.png", "clipping.png",
            "table.txt"} <= names
    run = _artifacts.load_run(result.run_dir)
    assert run.config["spectral_radius"] == 3.0
    assert len(run.model.outputs) == len(gradient_flow.BRANCHES)
    # The saved exploding network has the spectral radius the figures used.
    kernel = run.model.get_layer("exploding_simple_rnn").cell.recurrent_kernel.numpy()
    assert np.max(np.abs(np.linalg.eigvals(kernel))) == pytest.approx(3.0, rel=1e-4)
    assert result.table.splitlines()[1].startswith("simple_rnn")


def test_cli(tmp_path, capsys):
    status = cli.main(["gradient-flow", "--steps", "10", "--units", "4", "--num-sequences",
                       "2", "--run-dir", str(tmp_path / "run")])
    assert status == 0
    assert "exploding_simple_rnn" in capsys.readouterr().out
    assert cli.main(["gradient-flow", "--steps", "1", "--run-dir", str(tmp_path / "x")]) == 2
    assert "at least 2" in capsys.readouterr().err


def test_flags_match_run_arguments():
    parser = cli.build_parser()
    action = next(a for a in parser._actions if a.dest == "recipe")
    flags = {a.dest for a in action.choices["gradient-flow"]._actions} - {"help"}
    # --quiet is applied around run() by the CLI; run's `verbose` is for Python callers.
    assert flags - {"quiet"} == set(inspect.signature(gradient_flow.run).parameters) - {
        "verbose"}
    assert "quiet" in flags
