"""Entity scores split into entities seen and unseen in training (`recipes.ner.seen`)."""

import pytest

from seqrecipes.errors import RunDirectoryError
from seqrecipes.recipes.engine.artifacts import Run
from seqrecipes.recipes.ner.entities import entity_metrics
from seqrecipes.recipes.ner.seen import (
    TRAIN_ENTITIES, forms_file, read_forms, seen_unseen_metrics, surface_forms,
)

TRAIN_TOKENS = [["Ada", "Lovelace", "visited", "Paris"], ["Acme", "hired", "Bo"],
                ["paris", "is", "lower-case"]]
TRAIN_TAGS = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O", "B-PER"], ["O", "O", "O"]]

# Gold entities: seen = Ada Lovelace, Paris (first sentence), Bo (annotated PER in training,
# ORG here: any type counts); unseen = Cy, "Acme Paris" (both words were entities, the
# sequence never was), "paris" (case kept), Dee.
TOKENS = [["Ada", "Lovelace", "met", "Cy", "in", "Paris"],
          ["Acme", "Paris", "opened", "in", "paris"],
          ["Bo", "and", "Dee"]]
GOLD = [["B-PER", "I-PER", "O", "B-PER", "O", "B-LOC"],
        ["B-LOC", "I-LOC", "O", "O", "B-LOC"],
        ["B-ORG", "O", "B-PER"]]
# Predicted, seen by their own tokens: Ada Lovelace (right), Paris as ORG (wrong type), Acme
# and Paris cut apart (both wrong), Bo (right): 2 right of 5. Unseen: paris (right), Dee from
# a stray I-PER, which conlleval reads as an entity (right): 2 right of 2.
PREDICTED = [["B-PER", "I-PER", "O", "O", "O", "B-ORG"],
             ["B-ORG", "B-LOC", "O", "O", "B-LOC"],
             ["B-ORG", "O", "I-PER"]]


def test_training_surface_forms_are_entity_token_sequences_with_case_kept():
    assert surface_forms(TRAIN_TOKENS, TRAIN_TAGS) == {
        ("Ada", "Lovelace"), ("Paris",), ("Acme",), ("Bo",),
    }


def test_seen_and_unseen_scores_of_hand_built_sentences():
    split = seen_unseen_metrics(TOKENS, GOLD, PREDICTED, surface_forms(TRAIN_TOKENS, TRAIN_TAGS))
    seen, unseen = split["seen"], split["unseen"]
    assert (seen["num_entities"], seen["num_predicted_entities"]) == (3, 5)
    assert seen["precision"] == pytest.approx(2 / 5)
    assert seen["recall"] == pytest.approx(2 / 3)
    assert seen["f1"] == pytest.approx(0.5)
    assert (unseen["num_entities"], unseen["num_predicted_entities"]) == (4, 2)
    assert (unseen["precision"], unseen["recall"]) == (1.0, 0.5)
    assert unseen["f1"] == pytest.approx(2 / 3)
    assert seen["per_type"]["PER"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0,
                                       "support": 1}
    assert "report" not in seen  # the text report stays with the overall scores
    overall = entity_metrics(GOLD, PREDICTED)  # the groups share out every entity
    assert seen["num_entities"] + unseen["num_entities"] == overall["num_entities"]
    assert (seen["num_predicted_entities"] + unseen["num_predicted_entities"]
            == overall["num_predicted_entities"])


def test_without_training_forms_the_split_is_none():
    assert seen_unseen_metrics(TOKENS, GOLD, PREDICTED, None) == {"seen": None, "unseen": None}


def _run(folder, content):
    (folder / TRAIN_ENTITIES).write_text(content, encoding="utf-8")
    return Run(path=folder, model=None, config={}, metrics={},
               manifest={"files": {TRAIN_ENTITIES: {}}})


def test_training_forms_file_reads_back_and_a_damaged_line_is_named(tmp_path):
    forms = {("New York", "Times"), ("Zürich",), ("서울",), ("Bo",)}  # a token may hold a space
    assert forms_file(forms).isascii()  # whatever the platform's encoding
    assert read_forms(_run(tmp_path, forms_file(forms))) == forms
    assert read_forms(Run(path=tmp_path, model=None, config={}, metrics={},
                          manifest={"files": {}})) is None  # an older run: no file listed
    with pytest.raises(RunDirectoryError, match=rf"{TRAIN_ENTITIES}:2: expected a JSON list"):
        read_forms(_run(tmp_path, '["Bo"]\n{"Bo": 1}\n'))
