"""Which words made a NER prediction: integrated gradients on a saved tagger.

    ner.explain("runs/ner", ["Ada Lovelace visited Paris ."])           # every entity
    ner.explain("runs/ner", ["Ada Lovelace visited Paris ."], token=3)  # one token's tag

What is attributed is the per-word feature vector the recurrent stack reads (the word
embedding, with the character features and bilm features concatenated when the tagger has
them: the `word_and_chars` / `with_bilm` layer), so a word's attribution includes its spelling.
The baseline is that vector for the padding token ("", no characters) at every position of
the sentence, the sentence's mask kept (`baseline="padding"`), or zeros.

F, for one predicted entity: the span's score, the sum over its tokens of the score of each
token's predicted tag. For a CRF tagger the score is the emission score: the Viterbi path
score is the sum of emissions plus transitions, and the transitions do not depend on the
words, so the attributions of the span's part of the path score are those of its emissions.
For a softmax tagger it is the log-probability of the tag. For one token: that token's tag
score alone (its predicted tag, or `tag=`).
"""

import keras
import numpy as np
import tensorflow as tf

from seqrecipes import _validation
from seqrecipes.datasets.vocab import PAD_TOKEN
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.models import attribution
from seqrecipes.recipes.ner import serve as _serve
from seqrecipes.portable import ner_spans as _spans
from seqrecipes.portable.ner_spans import entity_spans
from seqrecipes.recipes.ner.tagger import tag_sentences

FEATURE_LAYERS = ("with_bilm", "word_and_chars", "embedding")  # the first found is attributed


def _scores_model(model):
    """(token strings -> per-token tag scores, the feature layer, whether scores are logits)."""
    decoder = next(layer for layer in model.layers
                   if type(layer).__name__ in ("CRFDecoder", "SoftmaxDecoder"))
    inputs = keras.tree.flatten(decoder.input)
    scores = next(tensor for tensor in inputs if len(tensor.shape) == 3)
    scores_model = keras.Model(model.input, scores, name="tag_scores")
    tagger = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    names = {layer.name for layer in tagger.layers}
    layer = tagger.get_layer(next(name for name in FEATURE_LAYERS if name in names))
    return scores_model, layer, type(decoder).__name__ == "CRFDecoder"


def _target(positions, tag_ids, logits):
    positions = np.asarray(positions, "int32")
    tag_ids = np.asarray(tag_ids, "int32")

    def target(scores):
        picked = tf.gather(scores, positions, axis=1)  # (batch, n, K)
        picked = tf.gather(picked, tag_ids, axis=2, batch_dims=0)  # (batch, n, n)
        picked = tf.linalg.diag_part(picked)  # (batch, n): token i's tag i
        if not logits:
            picked = tf.math.log(tf.maximum(picked, 1e-12))
        return tf.reduce_sum(picked, axis=1)

    return target


def explain(run_dir, sentences, *, entity=None, token=None, tag=None, baseline="padding",
            steps=attribution.DEFAULT_STEPS, max_steps=attribution.MAX_STEPS,
            tolerance=attribution.TOLERANCE):
    """Integrated-gradients attributions of a predicted entity's (or a token's) score.

    Args:
        run_dir: path of a NER run directory.
        sentences: list of str (split on whitespace) or of token lists.
        entity: int or None. Explain only this entity of each sentence (0: the first); None:
            every predicted entity. Not with `token`.
        token: int or None. Explain this token's tag instead (0: the first token).
        tag: str or None. With `token`: the tag to explain; None: the predicted one.
        baseline, steps, max_steps, tolerance: as in `sentiment.explain`.

    Returns:
        One dict per explanation: `text`, `tokens` (list of `{"token", "attribution"}`),
        `tags` (predicted), `explained` (the entity dict, or `{"token", "tag"}`), `score`
        F(x), `baseline_score`, `completeness_error`, `steps`, `baseline`, `heading`.
        A sentence without entities gives no row (with `entity`/`token` out of range: an
        error).
    """
    attribution.check_options(baseline, steps, max_steps, tolerance)
    if entity is not None:
        _validation.check_non_negative_int("entity", entity)
    if token is not None:
        _validation.check_non_negative_int("token", token)
    _validation.check_string("tag", tag, allow_none=True)
    _validation.check_conflict(
        entity is not None and token is not None,
        f"Explain an entity or a token, not both. Received: entity={entity!r}, "
        f"token={token!r}. Leave one out.",
    )
    _validation.check_conflict(
        tag is not None and token is None,
        f"`tag` names the tag of one token, so it needs `token`. Received: tag={tag!r}.",
    )
    if isinstance(sentences, str):
        sentences = [sentences]
    prepared = _spans.prepare_sentences(sentences, False)
    loaded = _serve.load(run_dir)
    vocabulary = list(loaded.config["tags"])
    if tag is not None and tag not in vocabulary:
        raise InvalidArgumentError(
            f"`tag` must be one of the run's tags {vocabulary}. Received: tag={tag!r}."
        )
    scores_model, layer, logits = _scores_model(loaded.model)
    tags, confidences = tag_sentences(loaded.model, [tokens for tokens, _, _ in prepared])
    rows = []
    for (tokens, text, offsets), row_tags, row_scores in zip(prepared, tags, confidences):
        targets = []
        if token is not None:
            if token >= len(tokens):
                raise InvalidArgumentError(
                    f"`token` must be below the sentence's {len(tokens)} tokens. Received: "
                    f"token={token} for {text!r:.80}."
                )
            chosen = tag or row_tags[token]
            targets.append(({"token": tokens[token], "index": token, "tag": chosen},
                            [token], [vocabulary.index(chosen)]))
        else:
            entities = entity_spans(tokens, row_tags, row_scores, offsets)
            for entity_dict in entities:
                entity_dict["text"] = text[entity_dict["start"] : entity_dict["end"]]
            if entity is not None:
                if entity >= len(entities):
                    raise InvalidArgumentError(
                        f"`entity` must be below the {len(entities)} entities found in "
                        f"{text!r:.80}. Received: entity={entity}."
                    )
                entities = [entities[entity]]
            for entity_dict in entities:
                span = list(range(entity_dict["token_start"], entity_dict["token_end"]))
                targets.append((entity_dict, span,
                                [vocabulary.index(row_tags[i]) for i in span]))
        strings = tf.constant([tokens], tf.string)
        reference = baseline
        if baseline == "padding":
            # The features of one padding token ("": word id 0, no characters), taken after
            # the sentence (a sentence of padding alone has no characters to encode).
            features, _ = attribution.layer_output(
                scores_model, tf.constant([tokens + [PAD_TOKEN]], tf.string), layer
            )
            reference = np.asarray(features)[:, -1:, :]
        for explained, positions, tag_ids in targets:
            result = attribution.integrated_gradients(
                scores_model, strings, layer, _target(positions, tag_ids, logits),
                baseline=reference, steps=steps,
                max_steps=max_steps, tolerance=tolerance,
            )
            what = (f"{explained['type']} {explained['text']!r}" if "type" in explained else
                    f"token {explained['index']} {explained['token']!r} as {explained['tag']}")
            rows.append({
                "text": text,
                "tags": row_tags,
                "explained": explained,
                "score": round(result["value"], 6),
                "baseline_score": round(result["baseline_value"], 6),
                "tokens": [{"token": word, "attribution": round(float(value), 6)}
                           for word, value in zip(tokens, result["attributions"])],
                "completeness_error": round(result["completeness_error"], 6),
                "steps": result["steps"],
                "baseline": baseline,
                "heading": what,
            })
    return rows
