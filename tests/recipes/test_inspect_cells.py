import json

import numpy as np
import pytest

from seqrecipes.cli import main
from seqrecipes.datasets import load_text, sample_path
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.recipes import char_lm, inspect_cells


@pytest.fixture(scope="module")
def model_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("inspect") / "char_lm"
    return char_lm.run(run_dir=run_dir, cell="lstm", units=(6, 4), embedding_dim=4,
                       sequence_length=20, batch_size=8, epochs=1, sample_length=5,
                       verbose=0).run_dir


def test_properties_of_a_known_string():
    text = 'He said "no (not yet)" ok\nAb'
    properties = inspect_cells.text_properties(text)
    assert all(len(values) == len(text) for values in properties.values())
    quotes = "".join("q" if value else "." for value in properties["inside_quotes"])
    assert quotes == "." * 8 + "q" * 13 + "." * 7
    parentheses = "".join("p" if v else "." for v in properties["inside_parentheses"])
    assert parentheses == "." * 12 + "p" * 8 + "." * 8
    assert properties["position_in_line"][text.index("\n")] == text.index("\n")
    assert properties["position_in_line"][-2:].tolist() == [0, 1]
    assert properties["after_newline"].sum() == 1
    assert properties["after_space"].sum() == text.count(" ")
    assert properties["position_in_word"][:3].tolist() == [1, 2, 0]
    assert properties["uppercase"].sum() == 2
    assert properties["punctuation"].sum() == 4  # " ( ) "


def test_the_planted_unit_ranks_first():
    text = 'a "quoted" word and "another one" here, "x"' * 4
    properties = inspect_cells.text_properties(text)
    rng = np.random.default_rng(0)
    activations = rng.normal(size=(len(text), 10))
    activations[:, 7] = properties["inside_quotes"] * 0.9 - 0.2  # tracks the quotes exactly
    activations[:, 2] = -properties["position_in_line"] / 10 + rng.normal(0, 0.01, len(text))
    names = [f"lstm_1/c:{i}" for i in range(10)]
    table = inspect_cells.rank_units(activations, names, properties, top=3)
    best = table[table["rank"] == 1].set_index("property")
    assert best.loc["inside_quotes", "unit"] == "lstm_1/c:7"
    assert best.loc["inside_quotes", "correlation"] == pytest.approx(1.0)
    assert best.loc["position_in_line", "unit"] == "lstm_1/c:2"
    assert best.loc["position_in_line", "correlation"] < -0.99
    # No parentheses in the text: no correlation is defined, so the property is left out.
    assert "inside_parentheses" not in set(table["property"])
    assert (table.groupby("property").size() == 3).all()


def test_correlations_match_numpy():
    rng = np.random.default_rng(1)
    activations = rng.normal(size=(50, 4))
    values = rng.normal(size=50)
    table = inspect_cells.correlations(activations, {"p": values})
    expected = [np.corrcoef(activations[:, i], values)[0, 1] for i in range(4)]
    np.testing.assert_allclose(table.loc["p"].to_numpy(), expected)


def test_bad_shapes_are_refused():
    with pytest.raises(InvalidArgumentError, match="one value per step"):
        inspect_cells.correlations(np.zeros((5, 2)), {"p": np.zeros(4)})
    with pytest.raises(InvalidArgumentError, match="`unit_names`"):
        inspect_cells.rank_units(np.zeros((5, 2)), ["a"], {"p": np.arange(5)})


def test_inspection_of_a_trained_model(model_run, tmp_path):
    result = inspect_cells.run(model_run, max_chars=400, heatmap_chars=200, columns=40,
                               unit="lstm_2/c:1", run_dir=tmp_path / "inspect", verbose=0)
    assert result.activations.shape == (400, 6 + 6 + 4 + 4)
    assert result.unit_names[:2] == ["lstm_1/h:0", "lstm_1/h:1"]
    assert result.unit_names[-1] == "lstm_2/c:3"
    # The play's opening has no quotes or parentheses: reported absent, not as 0.
    assert {"inside_quotes", "inside_parentheses"} <= set(result.metrics["absent_properties"])
    written = {path.name for path in result.run_dir.iterdir()}
    assert "heatmap_lstm_2_c_1.png" in written and "top_units.csv" in written
    best = result.metrics["best"]
    for name, entry in best.items():
        assert f"{name}_heatmap_{entry['unit'].replace('/', '_').replace(':', '_')}.png" in written
    # The recorded activations are the model's: the correlation in the table is recomputable.
    column = result.unit_names.index(best["uppercase"]["unit"])
    assert json.loads((result.run_dir / "config.json").read_text())["max_chars"] == 400
    upper = inspect_cells.text_properties(load_text(sample_path("char_lm"))[:400])["uppercase"]
    r = np.corrcoef(result.activations[:, column], upper)[0, 1]
    assert r == pytest.approx(best["uppercase"]["correlation"])


def test_unknown_unit_is_refused(model_run, tmp_path):
    with pytest.raises(InvalidArgumentError, match="lstm_1/h:0"):
        inspect_cells.run(model_run, unit="lstm_9/h:0", run_dir=tmp_path / "x", verbose=0)


def test_cli(model_run, tmp_path, capsys):
    status = main(["inspect-cells", str(model_run), "--max-chars", "300", "--top", "2",
                   "--heatmap-chars", "100", "--run-dir", str(tmp_path / "cli")])
    assert status == 0
    out = capsys.readouterr().out
    assert "position_in_line" in out and "top_units.csv" in out
    rows = (tmp_path / "cli" / "top_units.csv").read_text().splitlines()
    assert rows[0] == "property,rank,unit,correlation" and len(rows) > 2
