"""`sentiment explain` end to end: JSON lines, HTML, PNG, the global view, refusals."""

import io
import json
import sys

import pandas as pd
import pytest
from cli_runner import run_main

from seqrecipes.datasets import sample_path
from seqrecipes.recipes import sentiment
from seqrecipes.recipes.engine import artifacts as _artifacts

TINY = ["--embedding-dim", "8", "--verbose", "0", "--seed", "5", "--epochs", "2",
        "--baseline", "none"]
SCRIPT = "<script>alert('x')</script> a dull film"


@pytest.fixture(scope="module")
def bag_run(tmp_path_factory):
    """A fastText bag of words and word pairs, trained on the sample."""
    run_dir = tmp_path_factory.mktemp("explain") / "bag"
    status, _, err = run_main("sentiment", "train", "--run-dir", run_dir, "--model", "fasttext",
                              *TINY)
    assert status == 0, err
    return run_dir


def rows_of(out):
    return [json.loads(line) for line in out.splitlines()]


def check_complete(row):
    assert row["completeness_error"] < 0.01
    total = sum(token["attribution"] for token in row["tokens"])
    delta = row["explained_probability"] - row["baseline_probability"]
    assert total == pytest.approx(delta, rel=0.01, abs=1e-5)


def test_cli_prints_tokens_attributions_and_the_error(bag_run):
    status, out, err = run_main("sentiment", "explain", bag_run, "A wonderful film.",
                                "Dull and boring")
    assert status == 0, err
    rows = rows_of(out)
    assert [row["text"] for row in rows] == ["A wonderful film.", "Dull and boring"]
    assert [t["token"] for t in rows[0]["tokens"]] == ["a", "wonderful", "film"]
    # The bag's n-grams: the words, then the word pairs; folded back onto the words.
    assert [t["token"] for t in rows[0]["ngrams"]] == [
        "a", "wonderful", "film", "a wonderful", "wonderful film"]
    for row in rows:
        check_complete(row)
        assert row["explained"] == row["label"] and row["baseline"] == "padding"
        assert sum(t["attribution"] for t in row["ngrams"]) == pytest.approx(
            sum(t["attribution"] for t in row["tokens"]), abs=1e-5)


def test_python_api_matches_the_cli_and_explains_a_given_class(bag_run):
    run = sentiment.load(bag_run)
    _, out, _ = run_main("sentiment", "explain", bag_run, "A wonderful film.")
    assert run.explain(["A wonderful film."]) == [
        {**rows_of(out)[0], "heading": run.explain(["A wonderful film."])[0]["heading"]}]
    other = [name for name in run.classes if name != rows_of(out)[0]["label"]][0]
    row = sentiment.explain(bag_run, ["A wonderful film."], target=other)[0]
    assert row["explained"] == other
    check_complete(row)


def test_words_the_vectoriser_drops_are_out_of_the_bag_and_change_nothing(bag_run):
    run = sentiment.load(bag_run)
    plain, noisy = run.explain(["a dull film", "a !!! dull <br /> film ..."])
    assert plain["tokens"] == noisy["tokens"]  # nothing attributed to what is not in the bag
    empty = run.explain([""])[0]
    assert empty["tokens"] == [] and empty["completeness_error"] == 0.0


def test_texts_from_a_file_and_stdin(bag_run, tmp_path, monkeypatch):
    path = tmp_path / "texts.txt"
    path.write_text("A wonderful film.\nDull and boring\n", encoding="utf-8")
    status, from_file, _ = run_main("sentiment", "explain", bag_run, "--file", path)
    assert status == 0
    stdin = io.TextIOWrapper(io.BytesIO(path.read_bytes()))
    monkeypatch.setattr(sys, "stdin", stdin)
    status, from_stdin, _ = run_main("sentiment", "explain", bag_run)
    assert status == 0 and from_stdin == from_file and len(rows_of(from_file)) == 2


def test_html_escapes_the_text_and_png_is_written(bag_run, tmp_path):
    page, picture = tmp_path / "why.html", tmp_path / "why.png"
    status, _, err = run_main("sentiment", "explain", bag_run, SCRIPT, "A wonderful film.",
                              "--html", page, "--png", picture)
    assert status == 0, err
    html = page.read_text(encoding="utf-8")
    assert "<script" not in html  # shown as text, never run
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert html.count('class="explanation"') == 2 and "completeness error" in html
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_top_tokens_per_class_table_and_bar_chart(bag_run, tmp_path):
    chart = tmp_path / "top.png"
    status, out, err = run_main("sentiment", "explain", bag_run, "--top", "3", "--sample",
                                "30", "--png", chart)
    assert status == 0, err
    run = sentiment.load(bag_run)
    table, rows = sentiment.explanation.top_tokens(run, 3, sample=30)
    assert len(rows) == 30 and set(table) <= set(run.classes)
    for name, entries in table.items():
        assert f"{name}:" in out
        assert len(entries) <= 3 and all(entry["count"] >= 2 for entry in entries)
        means = [entry["mean"] for entry in entries]
        assert means == sorted(means, reverse=True)
    assert chart.read_bytes()[:4] == b"\x89PNG"


def test_a_recurrent_run_is_explained_completely(tmp_path):
    table = pd.read_csv(sample_path("sentiment_en"), keep_default_na=False)
    table.groupby("label").head(30).to_csv(tmp_path / "small.csv", index=False)
    status, _, err = run_main("sentiment", "train", "--data", tmp_path / "small.csv",
                              "--run-dir", tmp_path / "gru", "--model", "gru", "--units", "4",
                              "--bidirectional", *TINY)
    assert status == 0, err
    row = sentiment.explain(tmp_path / "gru", ["a wonderful film, not dull at all"])[0]
    assert [t["token"] for t in row["tokens"]][:3] == ["a", "wonderful", "film"]
    assert "ngrams" not in row
    check_complete(row)


def test_explain_refuses_a_run_of_another_recipe_and_bad_options(bag_run, tmp_path):
    loaded = sentiment.load(bag_run)  # the same model, written as a run of another recipe
    other = _artifacts.write_run(tmp_path / "other", model=loaded.run.model,
                                 config={**loaded.config, "recipe": "ner"}, metrics={})
    status, _, err = run_main("sentiment", "explain", other, "text")
    assert status == 2 and "holds a 'ner' run, not a sentiment run" in err
    status, _, err = run_main("sentiment", "explain", bag_run, "text", "--baseline", "mean")
    assert status == 2 and "`--baseline`" in err
    status, _, err = run_main("sentiment", "explain", bag_run, "text", "--target", "maybe")
    assert status == 2 and "`--target`" in err


def test_the_default_nbsvm_model_is_explained_completely(tmp_path):
    """NBSVM: each distinct n-gram's share, from its naive-Bayes ratio (absent = 0), spread
    over the n-gram's occurrences; words get their n-grams folded onto them."""
    run_dir = tmp_path / "nbsvm"
    status, _, err = run_main("sentiment", "train", "--run-dir", run_dir, "--epochs", "2",
                              "--verbose", "0", "--baseline", "none")
    assert status == 0, err
    status, out, err = run_main("sentiment", "explain", run_dir, "a dull dull film", "Dull.")
    assert status == 0, err
    rows = rows_of(out)
    for row in rows:
        check_complete(row)
        assert row["baseline"] == "absent n-grams"
    assert [token["token"] for token in rows[0]["tokens"]] == ["a", "dull", "dull", "film"]
    dull = [gram["attribution"] for gram in rows[0]["ngrams"] if gram["token"] == "dull"]
    assert len(dull) == 2 and dull[0] == dull[1] != 0  # one id, an equal share per occurrence
