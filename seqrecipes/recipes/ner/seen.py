"""Seen and unseen entities: entity scores split by whether training annotated the same words.

The standard view of how far a tagger generalises (Augenstein, Derczynski and Bontcheva 2017,
"Generalisation in named entity recognition"): taggers score higher on the entities they saw
annotated in training than on new ones, so one F1 mixes memory and generalisation. A gold
entity is *seen* when its exact token sequence was annotated as an entity, of any type,
somewhere in the training sentences, and *unseen* otherwise. Tokens are compared as written
in the files, case kept, even when the word vocabulary lower-cases them (`lowercase=True`):
"Apple" and "apple" are different surface forms. By this rule 3,048 of CoNLL-2003's 5,648
test entities are seen (54%), and 4,042 of its 5,942 dev entities (68%), which is part of
why its dev F1 runs above its test F1; requiring the same type too would make 2,963 test
entities seen, ignoring case 3,148.

Recall of a group is over its gold entities; precision is over the predicted entities
grouped by the same rule on their own tokens (a correct prediction has the tokens of its gold
entity, so it falls in the same group). The scores are `entity_metrics` (seqeval, conlleval
counting, as the overall figure) of the tags with the other group's entities set to 'O':
a whole entity turned into 'O' leaves every other entity's span and type as it was.

The training surface forms travel in the run directory (`TRAIN_ENTITIES`, listed in the
manifest), so `evaluate` needs no training file. Runs trained before this file existed have
none: their split is unavailable (`UNAVAILABLE` says how to get it).
"""

import json

from seqeval.metrics.sequence_labeling import get_entities

from seqrecipes.errors import RunDirectoryError
from seqrecipes.recipes.ner.entities import entity_metrics

TRAIN_ENTITIES = "train_entities.jsonl"  # one JSON list of tokens per line, sorted
GROUPS = ("seen", "unseen")
UNAVAILABLE = (
    "seen / unseen split unavailable: the run has no {file} (runs trained before seqrecipes "
    "stored their training entities). Train the run again to get it."
).format(file=TRAIN_ENTITIES)


def surface_forms(tokens, tags):
    """The token sequences annotated as entities (any type) in `tokens` / `tags`.

    Args:
        tokens: list of token lists.
        tags: list of IOB2 tag lists, parallel to `tokens`.

    Returns:
        A set of tuples of str.

    Example:

    >>> sorted(surface_forms([["Ada", "Lovelace", "in", "Paris"], ["Paris", "won"]],
    ...                      [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]))
    [('Ada', 'Lovelace'), ('Paris',)]
    """
    return {
        tuple(sentence[start:end + 1])
        for sentence, labels in zip(tokens, tags)
        for _, start, end in get_entities(list(labels))
    }


def forms_file(forms):
    """The content of `TRAIN_ENTITIES`: one JSON list of tokens per line, in sorted order.

    JSON's escapes keep the file ASCII (Korean tokens as ``\\uXXXX``), whatever reads it.
    """
    return "".join(json.dumps(list(form)) + "\n" for form in sorted(forms))


def read_forms(run):
    """The training surface forms of a loaded run (`artifacts.Run`), or None for older runs.

    Raises:
        RunDirectoryError: the file is listed but is not JSON lists of strings.
    """
    if TRAIN_ENTITIES not in run.manifest["files"]:
        return None
    path = run.path / TRAIN_ENTITIES
    forms = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            form = json.loads(line)
        except ValueError:
            form = None
        if not isinstance(form, list) or not all(isinstance(token, str) for token in form):
            raise RunDirectoryError(
                f"{path}:{number}: expected a JSON list of tokens (one training entity per "
                f"line). Received: {line[:80]!r}. Restore the file from a copy of the run, "
                "or train the run again."
            )
        forms.add(tuple(form))
    return forms


def _group_tags(tokens, tags, forms, seen):
    """`tags` with 'O' on every entity whose tokens are (not, with `seen=False`) in `forms`."""
    kept = []
    for sentence, labels in zip(tokens, tags):
        row = ["O"] * len(labels)
        for _, start, end in get_entities(list(labels)):
            if (tuple(sentence[start:end + 1]) in forms) == seen:
                row[start:end + 1] = labels[start:end + 1]
        kept.append(row)
    return kept


def seen_unseen_metrics(tokens, gold, predicted, forms):
    """Entity scores of the seen and of the unseen entities.

    Args:
        tokens: list of token lists (the evaluated sentences, case kept).
        gold: list of IOB2 tag lists.
        predicted: list of tag lists, each as long as its gold sentence.
        forms: set of token tuples (`surface_forms` of the training data), or None.

    Returns:
        `{"seen": scores, "unseen": scores}`, each as `entity_metrics` gives them without
        the text report and the sentence count (`num_entities` counts the group's gold
        entities, `num_predicted_entities` its predicted ones); both None when `forms` is
        None.

    Example:

    >>> split = seen_unseen_metrics([["Ada", "met", "Bo"]], [["B-PER", "O", "B-PER"]],
    ...                             [["B-PER", "O", "O"]], {("Ada",)})
    >>> split["seen"]["f1"], split["unseen"]["recall"], split["unseen"]["num_entities"]
    (1.0, 0.0, 1)
    """
    if forms is None:
        return dict.fromkeys(GROUPS)
    split = {}
    for group in GROUPS:
        seen = group == "seen"
        scores = entity_metrics(_group_tags(tokens, gold, forms, seen),
                                _group_tags(tokens, predicted, forms, seen))
        split[group] = {key: value for key, value in scores.items()
                        if key not in ("report", "num_sentences")}
    return split


def split_line(name, scores):
    """One line: F1 and gold entity count of the seen and the unseen entities (or the note)."""
    if scores.get("seen") is None:
        return f"{name}: {UNAVAILABLE}"
    return f"{name} " + " | ".join(
        f"{group}: entity F1 {scores[group]['f1']:.4f} ({scores[group]['num_entities']:,} "
        "entities)"
        for group in GROUPS
    )
