"""Entity-level evaluation and entity spans for the NER recipe (seqeval, CoNLL conventions).

Scores are seqeval's entity-level precision, recall and F1 (micro over all entities, and per
type) in its default, conlleval-compatible mode: an entity is a maximal run of ``B-X I-X ...``,
and an ``I-X`` after ``O`` or another type opens one, as the CoNLL-2003 `conlleval` script
counts. Token accuracy is never reported: on CoNLL-2003 a tagger that predicts ``O`` everywhere
already gets 83% of tokens right.

Predictions are always cut to the gold length of each sentence before they are compared (the
gold mask decides what counts, never the predicted tag: a model's tag id 0 is a real tag).
"""

import keras
import numpy as np
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities

from seqrecipes.datasets.pipeline import OrderedBatches
from seqrecipes.errors import DataError, InvalidArgumentError
# Re-exported: `ner predict` and the portable reader share them (no Keras there).
from seqrecipes.portable.ner_spans import entity_spans, token_offsets  # noqa: F401


def check_known_tags(data, tag_vocabulary, *, role):
    """Raises `DataError` at the first tag of `data` that the model does not know.

    Args:
        data: a `TaggedSentences`.
        tag_vocabulary: list of str. The tags the model was trained on.
        role: str. What `data` is ("dev", "test", "evaluation"), for the message.
    """
    known = set(tag_vocabulary)
    for i, sentence in enumerate(data.tags):
        for j, tag in enumerate(sentence):
            if tag not in known:
                raise DataError(
                    f"{data.where(i, j)}: tag {tag!r} of the {role} data is not one the model "
                    f"was trained on ({', '.join(sorted(known))}). Train on data that has "
                    "it, or map it to a known tag (or 'O') in the file."
                )


def entity_metrics(gold, predicted):
    """seqeval entity-level scores of predicted tags against gold tags.

    Args:
        gold: list of tag lists (IOB2).
        predicted: list of tag lists, each as long as its gold sentence.

    Returns:
        A JSON-serialisable dict: `precision`, `recall`, `f1` (micro over entities),
        `per_type` ({type: {precision, recall, f1, support}}), `macro_f1`, `num_sentences`,
        `num_entities` (gold), `num_predicted_entities` and `report` (seqeval's text report).
        With no entity in either `gold` or `predicted` every score is 0 and `report` says so
        (seqeval's report cannot be made then).

    Example:

    >>> scores = entity_metrics([["B-PER", "I-PER", "O", "B-LOC"]],
    ...                         [["B-PER", "I-PER", "O", "O"]])
    >>> scores["precision"], scores["recall"], round(scores["f1"], 4)
    (1.0, 0.5, 0.6667)
    >>> scores["per_type"]["LOC"]
    {'precision': 0.0, 'recall': 0.0, 'f1': 0.0, 'support': 1}
    """
    lengths = [len(sentence) for sentence in gold]
    if len(predicted) != len(gold) or [len(s) for s in predicted] != lengths:
        raise InvalidArgumentError(
            "`predicted` must have one tag per gold token in every sentence. Received "
            f"{len(predicted)} sentences for {len(gold)}."
        )
    if not get_entities(gold) and not get_entities(predicted):
        return {
            "precision": 0.0, "recall": 0.0, "f1": 0.0, "macro_f1": 0.0, "per_type": {},
            "num_sentences": len(gold), "num_entities": 0, "num_predicted_entities": 0,
            "report": "No entities: every gold and every predicted tag is 'O' (check the tag "
                      "column of the data).\n",
        }
    report = classification_report(gold, predicted, digits=4, output_dict=True, zero_division=0)
    per_type = {
        kind: {
            "precision": float(row["precision"]),
            "recall": float(row["recall"]),
            "f1": float(row["f1-score"]),
            "support": int(row["support"]),
        }
        for kind, row in report.items()
        if not kind.endswith(" avg")
    }
    return {
        "precision": float(precision_score(gold, predicted, zero_division=0)),
        "recall": float(recall_score(gold, predicted, zero_division=0)),
        "f1": float(f1_score(gold, predicted, zero_division=0)),
        "macro_f1": float(report["macro avg"]["f1-score"]) if "macro avg" in report else 0.0,
        "per_type": per_type,
        "num_sentences": len(gold),
        "num_entities": len(get_entities(gold)),
        "num_predicted_entities": len(get_entities(predicted)),
        "report": classification_report(gold, predicted, digits=4, zero_division=0),
    }


def summary_line(name, scores):
    """One line: micro P/R/F1 and the F1 of every type."""
    types = " ".join(f"{kind} {row['f1']:.4f}" for kind, row in scores["per_type"].items())
    return (
        f"{name}: entity F1 {scores['f1']:.4f} (precision {scores['precision']:.4f}, recall "
        f"{scores['recall']:.4f}; {scores['num_entities']} entities) | {types}"
    )


def model_tags(outputs, tag_vocabulary):
    """Tag names from a tagger's outputs, one array per sentence already cut to its length.

    A CRF tagger gives tag indices `(length,)`; a softmax tagger `(length, K)` probabilities.
    """
    names = np.asarray(tag_vocabulary, dtype=object)
    decoded = []
    for row in outputs:
        row = np.asarray(row)
        if row.ndim == 2:
            row = np.argmax(row, axis=-1)
        decoded.append([str(name) for name in names[row]])
    return decoded


def _dict_input(model):
    """`model` over a dict `{"token_ids": ...}` as a model over the bare ids tensor."""
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    return keras.Model(token_ids, model({"token_ids": token_ids}))


class EntityF1(keras.callbacks.Callback):
    """Computes seqeval entity scores on the dev set after every epoch and logs them.

    It adds `val_entity_f1`, `val_entity_precision` and `val_entity_recall` to the epoch's logs,
    so `fit_resumable(..., monitor="val_entity_f1", mode="max")` stops on dev entity F1 (pass
    this callback in `callbacks=`: it runs before the epoch is committed).

    Args:
        features: the dev set's ids, as `encode_sentences` returns them.
        gold: list of tag lists (the dev tags), one per sentence.
        tag_vocabulary: list of str. Model tag k is `tag_vocabulary[k]`.
        split: callable or None. Turns the tag lists of the rows of `features` into one
            list per gold sentence (when rows are chunks of sentences, see `_ner_context`).
        batch_size: int. Sentences per prediction batch.
    """

    def __init__(self, features, gold, tag_vocabulary, *, split=None, batch_size=256):
        super().__init__()
        self.features, self.gold, self.split = features, gold, split
        self.tag_vocabulary, self.batch_size = list(tag_vocabulary), batch_size
        self.last_scores = None
        self._predictor = self._batches = None

    def on_epoch_end(self, epoch, logs=None):
        if self._predictor is None:  # built once: its predict function is traced once
            self._predictor = (
                # the pipeline gives a dict unless the token ids are the only input
                self.model if set(self.features) != {"token_ids"} else _dict_input(self.model)
            )
            self._batches = OrderedBatches(self.features, batch_size=self.batch_size)
        outputs = self._batches.predict(self._predictor, per_token=True)
        predicted = model_tags(outputs, self.tag_vocabulary)
        if self.split is not None:
            predicted = self.split(predicted)
        self.last_scores = entity_metrics(self.gold, predicted)
        if logs is not None:
            logs["val_entity_f1"] = self.last_scores["f1"]
            logs["val_entity_precision"] = self.last_scores["precision"]
            logs["val_entity_recall"] = self.last_scores["recall"]
