"""A saved sentiment run at work: probabilities for raw texts, predictions, exports.

Two ways through the model, with the same results:

- a few texts (up to `DIRECT_MAX_TEXTS`, e.g. one request to a service): one call of a
  `tf.function` compiled once per loaded run, vectoriser and classifier in one graph. Building
  a `tf.data` pipeline costs ~100 ms of tracing per call (profiled: 170 ms for one text, of
  which under 1 ms is the model), so a pipeline per request cannot serve.
- more texts: `datasets.predict_in_order`, the bucketed pipeline training uses (each batch
  padded to its own longest text), results back in the input order.

The models are masked (padding changes no output), so a few texts padded to their longest
give the same probabilities as the bucketed pipeline (tests/test_sentiment.py checks it).
"""

import dataclasses
import json
import pathlib

import numpy as np
import tensorflow as tf

from seqrecipes import _validation, datasets
from seqrecipes.errors import RunDirectoryError
from seqrecipes.recipes.engine import artifacts as _artifacts
from seqrecipes.recipes.engine import classification as _classification
from seqrecipes.recipes.engine import portable_export as _portable
from seqrecipes.recipes.sentiment import data as text

DIRECT_MAX_TEXTS = 16  # up to this many texts skip the pipeline (one padded batch)
VOCABULARY_FILE = "vocabulary.json"  # beside a portable export's graph


@dataclasses.dataclass
class LoadedRun:
    """A sentiment run loaded from its directory."""

    run: _artifacts.Run
    _direct: object = dataclasses.field(default=None, init=False, repr=False, compare=False)

    @property
    def config(self):
        return self.run.config

    @property
    def classes(self):
        return tuple(self.config["classes"])

    def _parts(self):
        # The saved model is `with_text_input(core, vectorizer)`: the vectorizer, then the core.
        model = self.run.model
        return model.get_layer("text_vectorizer"), model.layers[-1]

    def _direct_function(self):
        """The vectoriser and the classifier as one `tf.function`, traced once per run."""
        if self._direct is None:
            vectorizer, core = self._parts()

            @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
            def direct(texts):
                ids = vectorizer(texts)
                # An empty text has no token: one padding step, as the pipeline's min_length.
                ids = tf.pad(ids, [[0, 0], [0, tf.maximum(0, 1 - tf.shape(ids)[1])]])
                return core(ids, training=False)

            self._direct = direct
        return self._direct

    def _outputs_direct(self, texts):
        return self._direct_function()(tf.constant(texts, tf.string)).numpy()

    def _outputs_bucketed(self, texts, batch_size):
        vectorizer, core = self._parts()
        return datasets.predict_in_order(core, texts, vectorizer=vectorizer,
                                         batch_size=batch_size)

    def probabilities(self, texts, *, batch_size=64):
        """(texts, classes) probabilities for raw texts.

        Up to `DIRECT_MAX_TEXTS` texts go through one compiled call; more go through the
        bucketed pipeline (`datasets.predict_in_order`) in batches of `batch_size`.
        """
        texts = _validation.check_strings("texts", texts)
        if not texts:
            return np.zeros((0, len(self.classes)))
        texts = text.pretokenize(texts, self.config["language"], self.config["tokenizer"])
        if len(texts) <= min(DIRECT_MAX_TEXTS, batch_size):
            outputs = self._outputs_direct(texts)
        else:
            outputs = self._outputs_bucketed(texts, batch_size)
        return _classification.probabilities(outputs, len(self.classes))

    def predict(self, texts, *, batch_size=64):
        texts = _validation.check_strings("texts", texts)
        return _classification.prediction_rows(
            texts, self.probabilities(texts, batch_size=batch_size), self.classes)

    def explain(self, texts, **options):
        """Which tokens made each prediction: see `seqrecipes.recipes.sentiment.explanation`."""
        from seqrecipes.recipes.sentiment import explanation as _explanation

        return _explanation.explain(self, texts, **options)

    def export(self, export_dir, *, overwrite=False, format="savedmodel"):
        """Writes the run as `format` (`engine.portable_export.FORMATS`); returns its path.

        "savedmodel": the whole model, strings in (`_artifacts.export_saved_model`). "onnx",
        "litert": the classifier over ids, with its vocabulary and the vectoriser's settings
        in `seqrecipes.json`, for `seqrecipes.portable.load`. Written atomically either way.
        """
        _portable.check_format(format)
        config = self.config
        binary = len(self.classes) == 2
        description = {
            "recipe": "sentiment",
            "format": format,
            "run_dir": str(self.run.path.resolve()),
            "input": config["input"] if format == "savedmodel" else "raw text",
            "language": config["language"],
            "tokenizer": config["tokenizer"],
            "classes": list(self.classes),
            "output": (f"(batch, 1): probability of class {self.classes[1]!r}" if binary
                       else f"(batch, {len(self.classes)}): probability of each class"),
            "versions": _artifacts.package_versions(),
        }
        if format == "savedmodel":
            def describe(staging):
                extra = pathlib.Path(staging, "assets.extra")
                extra.mkdir(exist_ok=True)
                (extra / "seqrecipes.json").write_text(
                    json.dumps(description, indent=2) + "\n")

            return _artifacts.export_saved_model(self.run.model, export_dir,
                                                 overwrite=overwrite, describe=describe)

        vectorizer, core = self._parts()
        pretokenize = None if text.pretokenizer(config["language"], config["tokenizer"]) \
            is None else config["tokenizer"]
        description["graph"] = _portable.GRAPH_FILES[format]
        description["vectorizer"] = {**_portable.text_vectorizer_settings(vectorizer),
                                     "pretokenize": pretokenize,
                                     "vocabulary": VOCABULARY_FILE}

        def fill(staging):
            _portable.export_graph(core, staging, format)
            # JSON, not one token per line: a token may hold any character.
            (staging / VOCABULARY_FILE).write_text(
                json.dumps(vectorizer.get_vocabulary(), ensure_ascii=False), "utf-8")
            _portable.write_description(staging, description)

        return _artifacts.write_export(export_dir, fill, overwrite=overwrite)


def load(run_dir):
    """Loads a sentiment run; a run of another recipe is refused, naming it."""
    run = _artifacts.load_run(run_dir)
    if run.config.get("recipe") != "sentiment":
        raise RunDirectoryError(
            f"{str(run_dir)!r} holds a {run.config.get('recipe')!r} run, not a sentiment run."
        )
    return LoadedRun(run)
