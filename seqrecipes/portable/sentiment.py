"""A sentiment export (ONNX or LiteRT) at work: labels and probabilities for raw texts.

The same rows as `seqrecipes sentiment predict` (`portable.classification.prediction_rows`),
from the graph of ids the export holds and `portable.text.TextVectorizer` in place of the
model's `TextVectorization`. Texts are sorted by length and batched, each batch padded to its
own longest text (at least one step: an empty text is one padding step, as in
`recipes.sentiment.serve`); the models are masked, so padding changes no output.
"""

import json
import pathlib

import numpy as np

from seqrecipes import _validation
from seqrecipes.portable import classification as _classification
from seqrecipes.portable import runtime, text


class SentimentModel:
    """A loaded sentiment export; `portable.load` builds it.

    Attributes:
        classes: tuple. The class names, as the training file wrote them.
        vectorizer: `portable.text.TextVectorizer`.
        session: `portable.runtime.Session`.
    """

    def __init__(self, export_dir, description, *, threads=None):
        export_dir = pathlib.Path(export_dir)
        self.description = description
        self.classes = tuple(description["classes"])
        settings = dict(description["vectorizer"])
        vocabulary = json.loads((export_dir / settings.pop("vocabulary")).read_text("utf-8"))
        self.vectorizer = text.TextVectorizer(vocabulary, **settings)
        self.session = runtime.Session(export_dir, description, threads=threads)
        self._input = description["inputs"][0]["name"]

    def probabilities(self, texts, *, batch_size=64):
        """(texts, classes) probabilities for raw texts."""
        texts = _validation.check_strings("texts", texts)
        _validation.check_positive_int("batch_size", batch_size)
        rows = self.vectorizer.id_lists(texts)
        result = np.zeros((len(rows), len(self.classes)))
        order = np.argsort([len(row) for row in rows], kind="stable")
        for start in range(0, len(order), batch_size):
            chosen = order[start:start + batch_size]
            steps = max(1, max(len(rows[i]) for i in chosen))
            ids = np.zeros((len(chosen), steps), dtype="int32")
            for line, i in zip(ids, chosen):
                line[:len(rows[i])] = rows[i]
            (outputs,) = self.session.run({self._input: ids})
            result[chosen] = _classification.probabilities(outputs, len(self.classes))
        return result

    def predict(self, texts, *, batch_size=64):
        """One dict per text, as `seqrecipes sentiment predict` prints them: `text`, `label`,
        `probability` (of that label) and `probabilities` (class name -> float)."""
        texts = _validation.check_strings("texts", texts)
        return _classification.prediction_rows(
            texts, self.probabilities(texts, batch_size=batch_size), self.classes)


def load(export_dir, description, **options):
    return SentimentModel(export_dir, description, **options)
