"""From sentences to tokens and from tags to entity spans: the NER answer, with or without Keras.

`ner predict` (Keras) and the portable reader (`seqrecipes.portable.ner`) share these
functions, so both split a sentence, place its entities and shape their answer the same way.
Nothing here imports TensorFlow or Keras; entities are seqeval's (`get_entities`, the CoNLL
`conlleval` rules), imported when first needed.
"""

import re

from seqrecipes import _validation
from seqrecipes.errors import InvalidArgumentError


def token_offsets(text):
    """Whitespace tokens of `text` and their character offsets `[(start, end), ...]`."""
    matches = list(re.finditer(r"\S+", text))
    return [m.group() for m in matches], [(m.start(), m.end()) for m in matches]


def entity_spans(tokens, tags, confidences, offsets):
    """The entities of one tagged sentence, with character offsets and a confidence.

    Args:
        tokens: list of str.
        tags: list of str (IOB2, one per token).
        confidences: list of float. The probability of each token's tag.
        offsets: list of (start, end) character offsets of the tokens in the text.

    Returns:
        A list of dicts, in sentence order: `type`, `text` (the covered text), `tokens` (the
        entity's tokens), `token_start` / `token_end` (token indices, end exclusive), `start`
        / `end` (character offsets, end exclusive) and `confidence`: the smallest probability
        of the entity's token tags, an upper bound of the probability of the whole span.

    Example:

    >>> tokens, offsets = token_offsets("Ada Lovelace  visited Paris")
    >>> spans = entity_spans(tokens, ["B-PER", "I-PER", "O", "B-LOC"], [0.9, 0.8, 1.0, 0.7],
    ...                      offsets)
    >>> [(s["type"], s["start"], s["end"], s["confidence"]) for s in spans]
    [('PER', 0, 12, 0.8), ('LOC', 22, 27, 0.7)]
    """
    from seqeval.metrics.sequence_labeling import get_entities

    spans = []
    for kind, first, last in get_entities(list(tags)):
        start, end = offsets[first][0], offsets[last][1]
        spans.append({
            "type": kind,
            "tokens": list(tokens[first : last + 1]),
            "token_start": first,
            "token_end": last + 1,
            "start": start,
            "end": end,
            "confidence": round(float(min(confidences[first : last + 1])), 6),
        })
    return spans


def prepare_sentences(sentences, tokenized):
    """(tokens, text, offsets) per input: raw strings split on whitespace, or token lists."""
    prepared = []
    for index, sentence in enumerate(sentences):
        if tokenized or not isinstance(sentence, str):
            if isinstance(sentence, str) or not all(
                isinstance(token, str) and token.strip() == token and token
                for token in sentence
            ):
                raise InvalidArgumentError(
                    f"Sentence {index} must be a list of non-empty tokens without surrounding "
                    f"whitespace. Received: {sentence!r:.120}."
                )
            tokens = list(sentence)
            text = " ".join(tokens)
            starts = [sum(len(t) + 1 for t in tokens[:i]) for i in range(len(tokens))]
            offsets = [(start, start + len(token)) for start, token in zip(starts, tokens)]
        else:
            text = sentence
            tokens, offsets = token_offsets(sentence)
        _validation.check_utf8_strings(f"sentences[{index}]", tokens)
        prepared.append((tokens, text, offsets))
    return prepared


def tagged_sentences(prepared, tags, confidences):
    """The answer of `ner predict`: one dict per sentence (see `recipes.ner.predict`)."""
    results = []
    for (tokens, text, offsets), row_tags, row_scores in zip(prepared, tags, confidences):
        entities = entity_spans(tokens, row_tags, row_scores, offsets)
        for entity in entities:
            entity["text"] = text[entity["start"] : entity["end"]]
        results.append({
            "text": text, "tokens": tokens, "tags": list(row_tags),
            "confidences": [round(float(score), 6) for score in row_scores],
            "entities": entities,
        })
    return results
