"""The NER model a run directory holds: token strings in, tag names and confidences out.

Training runs on cached ids (`tagging_dataset`); what is saved wraps the trained tagger with
its vocabularies and a decoder, so `model.keras` and the exported SavedModel need nothing but
the run directory:

    tokens (string, [batch, words], padded with "")
      -> [lower-case] -> token ids (StringLookup)   + character ids (CharacterIds)
                                                    [+ bilm ids (the bilm run's StringLookup)]
      -> the trained tagger up to its emission scores (CRF) or probabilities (softmax)
      -> CRFDecoder / SoftmaxDecoder -> tag ids, confidences
      -> tag names (inverted StringLookup; "" at padding)

Outputs: `{"tags": string [batch, words], "confidences": float32 [batch, words]}`. Padding is
the empty string: a batch of sentences of different lengths is padded with "" on the right
(rows are independent: the tags of a sentence do not depend on its batch).

`with_token_input` (datasets/string_input.py) does the first line for a model that outputs its
own predictions; here the decoder needs the word mask and replaces the model's head, so the
graph is written out (it reuses `CharacterIds` for the characters).

Training's own dev and test tagging skips the first and last lines (`tag_encoded`): it runs
the same scores model and decoder (`_decoded`) on the ids it has already, and names the tags
with NumPy, because JAX has no string tensor. Building and saving the string model needs
none: its string layers are symbolic until TensorFlow serves it.
"""

import keras
import numpy as np
import tensorflow as tf

from seqrecipes.datasets.string_input import CharacterIds, Lowercase
from seqrecipes.datasets.vocab import PAD_TOKEN
from seqrecipes.models.crf_model import CRFModel
from seqrecipes.models.tag_decoding import CRFDecoder, SoftmaxDecoder


def _scores_model(tagger):
    """The tagger up to its emission scores (CRF) or its probabilities (softmax)."""
    if isinstance(tagger, CRFModel):
        emissions = keras.tree.flatten(tagger.crf.input)[0]
        return keras.Model(tagger.input, emissions, name="emission_scores")
    return tagger


def _decoded(tagger, inputs):
    """The serving decoder over the tagger's ids: `{"tag_ids", "confidences"}` (symbolic).

    `inputs` is the dict of id tensors the tagger takes (`token_ids`, and `char_ids` /
    `bilm_ids` where it has them). Tag ids are `build_tag_lookup`'s (model tag k is k + 1,
    0 at padding). The CRF decoder copies the CRF's weights: build after training.
    """
    scores = _scores_model(tagger)(inputs)
    mask = keras.ops.not_equal(inputs["token_ids"], 0)  # the word mask: padding has id 0
    if isinstance(tagger, CRFModel):
        decoder = CRFDecoder.from_crf(tagger.crf)
    else:
        decoder = SoftmaxDecoder(name="softmax_decoder")
    return decoder(scores, mask=mask)


def build_string_tagger(
    tagger, *, token_lookup, tag_vocabulary, char_lookup=None, max_chars=None, lowercase=False,
    bilm_lookup=None,
):
    """Returns the serving model: token strings -> `{"tags", "confidences"}`.

    Args:
        tagger: the trained `build_ner_tagger` model (tags 0..K-1, `K = len(tag_vocabulary)`).
        token_lookup: the word `StringLookup` it was trained with.
        tag_vocabulary: list of str. The K tag names; model tag k is `tag_vocabulary[k]`.
        char_lookup: the character `StringLookup`, or None for a tagger without characters.
        max_chars: int or None. Characters kept per token (as in training).
        lowercase: bool. Words were lower-cased for the word vocabulary (characters never are).
        bilm_lookup: the bilm run's token `StringLookup` (original case), or None for a
            tagger without `BiLMFeatures`.
    """
    tokens = keras.Input(shape=(None,), dtype="string", name="tokens")
    words = Lowercase(name="lowercase")(tokens) if lowercase else tokens
    token_ids = token_lookup(words)
    inputs = {"token_ids": token_ids}
    if char_lookup is not None:
        inputs["char_ids"] = CharacterIds.from_lookup(char_lookup, max_chars=max_chars)(tokens)
    if bilm_lookup is not None:
        inputs["bilm_ids"] = bilm_lookup(tokens)
    decoded = _decoded(tagger, inputs)
    names = keras.layers.StringLookup(
        vocabulary=list(tag_vocabulary), mask_token=PAD_TOKEN, num_oov_indices=0, invert=True,
        name="tag_names",
    )(decoded["tag_ids"])
    outputs = {"tags": names, "confidences": decoded["confidences"]}
    return keras.Model(tokens, outputs, name="ner_tagger_tokens")


def tag_sentences(model, sentences, *, batch_size=64):
    """Runs the serving model on token lists; returns (tags, confidences) per sentence, in order.

    Sentences are sorted by length and batched (padded with "" to each batch's longest), so
    little time is spent on padding; results come back in the input order, cut to each
    sentence's own length (the gold length: padding never counts).
    """
    order = np.argsort([len(sentence) for sentence in sentences], kind="stable")
    tags, confidences = [None] * len(sentences), [None] * len(sentences)
    for start in range(0, len(order), batch_size):
        chosen = order[start : start + batch_size]
        width = max(1, max(len(sentences[i]) for i in chosen))
        batch = np.array(
            [list(sentences[i]) + [PAD_TOKEN] * (width - len(sentences[i])) for i in chosen],
            dtype=object,
        )
        output = model.predict_on_batch(tf.constant(batch.astype(str), tf.string))
        names, scores = np.asarray(output["tags"]), np.asarray(output["confidences"])
        for row, i in enumerate(chosen):
            length = len(sentences[i])
            tags[i] = [name.decode("utf-8") for name in names[row, :length]]
            confidences[i] = [float(score) for score in scores[row, :length]]
    return tags, confidences


def build_ids_tagger(tagger, features):
    """The serving model's decoding over ids: what `tag_encoded` runs (no string tensor).

    The same scores model and decoder as `build_string_tagger` (`_decoded`), over the
    id inputs `predict_in_order` gives for `features` (a bare `token_ids` tensor when it is
    the only one, else a dict). One output, as `predict_in_order` takes:
    `[batch, words, 2]` float32, the tag id (exact: float32 holds integers to 2**24) then
    its confidence.

    Args:
        tagger: the trained `build_ner_tagger` model.
        features: the ids of `Vocabularies.features` (only their names are read).
    """
    inputs = {
        name: keras.Input(shape=tagger.input[name].shape[1:], dtype=tagger.input[name].dtype,
                          name=name)
        for name in features
    }
    decoded = _decoded(tagger, inputs)
    stacked = keras.ops.stack(
        [keras.ops.cast(decoded["tag_ids"], "float32"), decoded["confidences"]], axis=-1)
    return keras.Model(inputs if len(inputs) > 1 else inputs["token_ids"], stacked,
                       name="ner_tagger_ids")


def tag_encoded(tagger, features, tag_vocabulary, *, batch_size=256):
    """Tags sentences already turned into ids; returns (tags, confidences) per sentence.

    What training reports on its dev and test sets: `build_ids_tagger` through
    `predict_in_order`, as the dev entity F1 of every epoch runs (`EntityF1`), with tag names
    from `tag_vocabulary` in NumPy. No string tensor is made, so it runs on every backend
    (JAX has no string dtype); on TensorFlow it gives what `tag_sentences` gives on the same
    tokens (the same layers and decoder, and rows do not depend on their batch).

    Args:
        tagger: the trained `build_ner_tagger` model.
        features: the sentences' ids (`Vocabularies.features`).
        tag_vocabulary: list of str. Model tag k is `tag_vocabulary[k]`.
        batch_size: int. Sentences per prediction batch.
    """
    from seqrecipes.datasets.pipeline import predict_in_order

    rows = predict_in_order(build_ids_tagger(tagger, features), features,
                            batch_size=batch_size, per_token=True)
    names = np.asarray([PAD_TOKEN, *tag_vocabulary], dtype=object)  # tag id 0 is padding
    tags = [[str(name) for name in names[row[:, 0].astype(int)]] for row in rows]
    confidences = [[float(score) for score in row[:, 1]] for row in rows]
    return tags, confidences


# Why a tagger cannot take a format, measured with TF 2.21 / Keras 3.15 (check_format's words).
CHAR_LSTM_LITERT = (
    "its character BiLSTM runs over `batch * words` rows, a number the graph does not know "
    "even for one sentence, so LiteRT's converter keeps TensorFlow list operations "
    "(TensorListReserve, ...) that only the Flex delegate runs, and ai-edge-litert has none. "
    "Train with `char_features='cnn'` or 'none' for LiteRT."
)


def portable_parts(serving):
    """Splits a run's serving model at its string layers, for an ONNX or LiteRT export.

    The graph exported is the tagger up to its emission scores (CRF) or probabilities
    (softmax), over `token_ids` and, with characters, `char_ids` (with `bilm` features,
    `bilm_ids`); what the string layers and the decoder did is written beside it for
    `seqrecipes.portable.ner`.

    Args:
        serving: the model `build_string_tagger` returned (a run's `model.keras`).

    Returns:
        `(scores_model, description, refused)`: the Keras model over ids; a dict of
        `vocabulary` (word id i is `vocabulary[i]`), `lowercase`, `lowercase_differences`,
        `char_vocabulary` and `max_chars` (None without characters), `bilm_vocabulary`
        (None without `bilm` features), `tags` (model tag k),
        `decoder` ("crf" or "softmax") and, for a CRF, `crf` (`transitions`, `start`,
        `end` as lists); and `refused` (format -> why, for `check_format`).
    """
    from seqrecipes.datasets.string_input import lowercase_differences

    scores = next(layer for layer in serving.layers if isinstance(layer, keras.Model))
    decoder = next(
        layer for layer in serving.layers if isinstance(layer, (CRFDecoder, SoftmaxDecoder))
    )
    chars = next((layer for layer in serving.layers if isinstance(layer, CharacterIds)), None)
    words = serving.get_layer("token_lookup")  # build_token_lookup's layer
    bilm = next((layer for layer in serving.layers if layer.name == "bilm_lookup"), None)
    tag_names = next(
        layer for layer in serving.layers
        if isinstance(layer, keras.layers.StringLookup) and layer.invert
    )
    lowercase = any(isinstance(layer, Lowercase) for layer in serving.layers)
    refused = {}
    if chars is not None and _has_char_lstm(scores):
        refused = {"litert": CHAR_LSTM_LITERT}
    description = {
        "vocabulary": [str(word) for word in words.get_vocabulary()],
        "lowercase": lowercase,
        "lowercase_differences": lowercase_differences() if lowercase else {},
        "char_vocabulary": (
            None if chars is None else [str(char) for char in chars.get_vocabulary()]
        ),
        "max_chars": None if chars is None else chars.max_chars,
        # The bilm run's own vocabulary, read with the tokens' case (build_string_tagger).
        "bilm_vocabulary": (
            None if bilm is None else [str(word) for word in bilm.get_vocabulary()]
        ),
        "tags": [str(tag) for tag in tag_names.get_vocabulary()[decoder.offset:]],
        "decoder": "crf" if isinstance(decoder, CRFDecoder) else "softmax",
        "crf": None,
    }
    if isinstance(decoder, CRFDecoder):
        num_tags = decoder.num_tags
        zeros = np.zeros(num_tags, "float32")
        start, end = (
            (decoder.start_transitions, decoder.end_transitions)
            if decoder.use_boundary_transitions else (zeros, zeros)
        )
        # float32 -> float (exact) -> JSON (repr, exact): the reader gets the same float32s.
        description["crf"] = {
            name: np.asarray(value, "float32").tolist()
            for name, value in (("transitions", decoder.transitions), ("start", start),
                                ("end", end))
        }
    return scores, description, refused


def _has_char_lstm(scores):
    from seqrecipes.models.token_features import CharacterEncoder

    return any(
        isinstance(layer, CharacterEncoder) and layer.mode == "lstm" for layer in scores.layers
    )


def ids_signature(scores, *, batch_size=None):
    """The `tf.TensorSpec`s of the ids model's inputs, named as the graph's inputs.

    Args:
        scores: the ids model of `portable_parts`.
        batch_size: int or None. A fixed batch (LiteRT: 1, see `serve.export`) or any.
    """
    return [{
        name: tf.TensorSpec((batch_size,) + tuple(tensor.shape[1:]), tf.int32, name=name)
        for name, tensor in scores.input.items()
    }]
