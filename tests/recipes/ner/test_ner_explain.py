"""`ner explain`: an entity's span score and one token's tag, attributed to every word."""

import json

import numpy as np
import pytest
from cli_runner import run_main

from test_ner import write_conll

from seqrecipes.cli import main
from seqrecipes.recipes import ner


@pytest.fixture(scope="module")
def learned_run(tmp_path_factory):
    """A tiny BiLSTM-CRF with character features that finds the entities of a tiny language."""
    folder = tmp_path_factory.mktemp("explain_ner")
    rng = np.random.default_rng(0)
    fillers = ["the", "a", "met", "saw", "in", "today", "we", "they", "then", "and"]
    sentences = []
    for _ in range(60):
        units = [([word], ["O"]) for word in rng.choice(fillers, size=4)]
        entity = (["Ada", "Lovelace"], ["B-PER", "I-PER"]) if rng.random() < 0.5 else (
            ["Paris"], ["B-LOC"])
        units.insert(int(rng.integers(0, len(units) + 1)), entity)
        sentences.append(([w for u in units for w in u[0]], [t for u in units for t in u[1]]))
    train = write_conll(folder / "train.conll", sentences[:50])
    dev = write_conll(folder / "dev.conll", sentences[50:])
    run_dir = folder / "run"
    status = main([
        "ner", "train", "--train", str(train), "--dev", str(dev), "--run-dir", str(run_dir),
        "--embedding-dim", "8", "--units", "8", "--char-embedding-dim", "4",
        "--char-filters", "4", "--epochs", "6", "--patience", "3", "--learning-rate", "0.05",
        "--batch-size", "8", "--verbose", "0", "--context-tokens", "0",
    ])
    assert status == 0
    return run_dir


def check_complete(row):
    assert row["completeness_error"] < 0.01
    total = sum(token["attribution"] for token in row["tokens"])
    assert total == pytest.approx(row["score"] - row["baseline_score"], rel=0.01, abs=1e-5)


def test_every_entity_is_explained_with_its_error(learned_run, tmp_path):
    page = tmp_path / "ner.html"
    status, out, err = run_main("ner", "explain", learned_run, "we met Ada Lovelace in Paris",
                                "--html", page)
    assert status == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows, "the tagger found no entity"
    for row in rows:
        assert [t["token"] for t in row["tokens"]] == "we met Ada Lovelace in Paris".split()
        assert row["explained"]["type"] in ("PER", "LOC")
        check_complete(row)
    assert page.read_text(encoding="utf-8").count('class="explanation"') == len(rows)


def test_one_tokens_tag_and_a_given_tag(learned_run):
    predicted = ner.explain(learned_run, ["they saw Paris today"], token=2)[0]
    assert predicted["explained"] == {"token": "Paris", "index": 2,
                                      "tag": predicted["tags"][2]}
    check_complete(predicted)
    given = ner.explain(learned_run, [["they", "saw", "Paris", "today"]], token=2,
                        tag="B-PER", baseline="zeros")[0]
    assert given["explained"]["tag"] == "B-PER" and given["baseline"] == "zeros"
    check_complete(given)


def test_bad_requests_and_a_run_of_another_recipe_are_refused(learned_run, tmp_path):
    status, _, err = run_main("ner", "explain", learned_run, "they saw Paris", "--token", "9")
    assert status == 2 and "`--token`" in err
    status, _, err = run_main("ner", "explain", learned_run, "a b", "--token", "0", "--entity",
                              "0")
    assert status == 2 and "not both" in err
    status, _, err = run_main("ner", "explain", learned_run, "a b", "--tag", "B-PER")
    assert status == 2 and "`--tag`" in err
    sentiment_run = tmp_path / "sentiment"
    assert main(["sentiment", "train", "--run-dir", str(sentiment_run), "--epochs", "1",
                 "--verbose", "0", "--baseline", "none"]) == 0
    status, _, err = run_main("ner", "explain", sentiment_run, "they saw Paris")
    assert status == 2 and "not a NER run" in err


@pytest.mark.parametrize("logits", [True, False])
def test_the_span_score_sums_each_tokens_tag_score(logits):
    from seqrecipes.recipes.ner.explanation import _target

    scores = np.array([[[0.1, 0.9], [0.6, 0.4], [0.3, 0.7]]], "float32")  # (1, 3 words, 2 tags)
    value = float(_target([1, 2], [0, 1], logits)(scores)[0])
    expected = 0.6 + 0.7 if logits else np.log(0.6) + np.log(0.7)
    assert value == pytest.approx(expected, rel=1e-6)
