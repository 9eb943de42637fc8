"""bench/peers_ner.py: spaCy is given exactly the recipe's sentences, tokens, tags and chunks."""

import json
import pathlib
import sys

import pytest

spacy = pytest.importorskip("spacy")  # the `bench` extra

from spacy.tokens import DocBin  # noqa: E402

from seqrecipes.datasets import load_conll, sample_path  # noqa: E402
from seqrecipes.recipes.ner import data as ner_data  # noqa: E402
from seqrecipes.recipes.ner.documents import documents_of, pack  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "bench"))
import peers_ner  # noqa: E402

# spaCy 3.8's console table as `spacy train` prints it (two evaluations, then a new epoch).
SPACY_LOG = """\
E    #       LOSS TOK2VEC  LOSS NER  ENTS_F  ENTS_P  ENTS_R  SCORE
---  ------  ------------  --------  ------  ------  ------  ------
  0       0          0.00     17.65    0.00    0.00    0.00    0.00
  0     200       4932.41   3740.03   41.66   45.83   38.18    0.42
  1     400       1401.13   2938.94   38.01   41.26   35.62    0.38
"""


@pytest.mark.parametrize("name", sorted(ner_data.SAMPLES.values()))
def test_docbin_round_trip_is_exact(name, tmp_path):
    data = load_conll(sample_path(name))
    vocab = spacy.blank("en").vocab
    pairs = peers_ner.documents(vocab, data, 128, gold=True)
    path = peers_ner.write_docbin(pairs, tmp_path / "sample.spacy")
    docs = list(DocBin().from_disk(path).get_docs(vocab))
    back = peers_ner.sentence_tags([(order, doc) for (order, _), doc in zip(pairs, docs)],
                                   data.tokens)
    assert back == data.tags
    assert [[token.text for token in doc] for doc in docs] == [
        [token for i in order for token in data.tokens[i]] for order, _ in pairs]
    # The recipe's chunks: a document's sentences together, its separators left out.
    chunks = pack(data.tokens, None, documents_of(data), context_tokens=128)
    assert [order for order, _ in pairs] == [[i for i, _, _ in p] for p in chunks.pieces]
    assert max(len(order) for order, _ in pairs) > 1


def test_spacy_log_gives_epochs_steps_and_dev_curve():
    lines = [(float(i), line) for i, line in enumerate(SPACY_LOG.splitlines())]
    config = {"training": {"max_steps": 20000}}
    log = peers_ner._spacy_log(lines, config)
    assert log == {"epochs": 2, "steps": 400, "best_step": 200, "stopped": "patience",
                   "dev_curve": [[2.0, 0.0], [3.0, 0.4166], [4.0, 0.3801]]}


def _fake_row(seconds):
    scores = {"f1": 0.5, "spacy_scorer_f1": 0.5}
    return {"dev": scores, "test": scores, "seconds": seconds, "cpu_seconds": seconds,
            "epochs": 1, "capped": False, "stopped": "patience", "training_seconds": seconds,
            "dev_curve": []}


@pytest.fixture
def conll_folder(tmp_path):
    """A --data-dir whose conll2003/ holds the embedded English sample's three files."""
    folder = tmp_path / "conll2003"
    folder.mkdir()
    for split, name in (("train", "train.txt"), ("dev", "valid.txt"), ("test", "test.txt")):
        (folder / name).write_text(sample_path(ner_data.SAMPLES[split]).read_text())
    return tmp_path


def test_recipe_at_spacy_time_caps_the_recipe_at_spacys_wall_seconds(conll_folder, tmp_path,
                                                                       monkeypatch):
    caps = {}

    def spacy_peer(optimize, language, splits, context_tokens, scratch, cap_seconds):
        caps[optimize] = cap_seconds
        return _fake_row(321.5)

    def recipe_peer(files, flags, scratch, cap_seconds):
        caps["recipe"] = cap_seconds
        return _fake_row(300.0)

    monkeypatch.setattr(peers_ner, "spacy_peer", spacy_peer)
    monkeypatch.setattr(peers_ner, "recipe_peer", recipe_peer)
    peers_ner.main(["--data", "conll2003", "--peers", "spacy-efficiency", "recipe",
                    "--recipe-at-spacy-time", "--data-dir", str(conll_folder),
                    "--results-dir", str(tmp_path / "results")])
    assert caps == {"efficiency": None, "recipe": 321.5}
    rows = json.loads((tmp_path / "results" / "peers_ner.json").read_text())["rows"]
    assert rows[1]["cap_seconds"] == 321.5


def test_recipe_at_spacy_time_needs_a_spacy_peer_before_the_recipe(capsys):
    with pytest.raises(SystemExit) as stop:
        peers_ner.main(["--peers", "recipe", "spacy-efficiency", "--recipe-at-spacy-time"])
    assert stop.value.code == 2
    assert "--recipe-at-spacy-time needs a spaCy peer listed before `recipe`" in (
        capsys.readouterr().err)


def test_recipe_at_spacy_time_is_not_capped_at_an_earlier_peer_when_the_last_one_failed(
        conll_folder, tmp_path, monkeypatch):

    def spacy_peer(optimize, language, splits, context_tokens, scratch, cap_seconds):
        if optimize == "accuracy":
            raise peers_ner.PeerFailed("spacy train wrote no model (exit status 1)")
        return _fake_row(321.5)

    def recipe_peer(files, flags, scratch, cap_seconds):
        raise AssertionError(f"the recipe ran, capped at {cap_seconds}")

    monkeypatch.setattr(peers_ner, "spacy_peer", spacy_peer)
    monkeypatch.setattr(peers_ner, "recipe_peer", recipe_peer)
    peers_ner.main(["--data", "conll2003", "--peers", "spacy-efficiency", "spacy-accuracy",
                    "recipe", "--recipe-at-spacy-time", "--data-dir", str(conll_folder),
                    "--results-dir", str(tmp_path / "results")])
    rows = json.loads((tmp_path / "results" / "peers_ner.json").read_text())["rows"]
    assert rows[2]["error"].startswith("--recipe-at-spacy-time: the spaCy peer before it failed")
