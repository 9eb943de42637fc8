"""A NER export served without TensorFlow: sentences in, tags and entity spans out.

`seqrecipes ner export RUN DIR --format onnx|litert` writes the tagger up to its emission
scores (CRF) or probabilities (softmax) over ids, and `seqrecipes.json` beside it; `Tagger`
does the rest as the run's Keras model does, in NumPy:

    tokens -> [lower-case] -> word ids (the word vocabulary; "" padding 0, unknown 1)
           -> character ids (each token's code points, cut to `max_chars`; 0-padded)
           -> bilm ids (the tokens, case kept, in the bilm run's vocabulary), where used
    graph(token_ids, char_ids) -> scores [batch, words, tags]
    CRF: Viterbi path and marginals (`seqrecipes.portable.viterbi`); softmax: argmax
    -> tag names, confidences -> entity spans (`portable.ner_spans`, as `ner predict`)

`predict` returns what `seqrecipes.recipes.ner.predict` returns for the same sentences, and
batches them the same way (sorted by length, padded with "" to each batch's longest), so the
graph sees the same arrays. Sentences are tagged alone, as `ner predict` tags them (a run
trained with document context, `context_tokens`, read chunks of a document; `tag` takes such
chunks as token lists too).
"""

import numpy as np

from seqrecipes import _validation
from seqrecipes.ids import OOV_ID, PAD_ID  # TensorFlow-free: "" is padding, 1 is unknown
from seqrecipes.portable import ner_spans, viterbi
from seqrecipes.portable.runtime import Session


class Tagger:
    """Tags sentences with the graph of a NER export.

    Args:
        export_dir: pathlib.Path. The export folder.
        description: dict. Its `seqrecipes.json`.
        threads: int or None. The runtime's intra-op threads (None: its default).
    """

    def __init__(self, export_dir, description, *, threads=None):
        self.description = description
        self.session = Session(export_dir, description, threads=threads)
        self.words = {word: index for index, word in enumerate(description["vocabulary"])}
        chars = description["char_vocabulary"]
        self.chars = None if chars is None else {char: i for i, char in enumerate(chars)}
        self.max_chars = description["max_chars"]
        bilm = description.get("bilm_vocabulary")
        self.bilm_words = None if bilm is None else {word: i for i, word in enumerate(bilm)}
        self.tags = description["tags"]
        self.lowercase = description["lowercase"]
        self.lowercase_differences = description["lowercase_differences"]
        crf = description["crf"]
        self.crf = None if crf is None else {
            name: np.asarray(value, "float32") for name, value in crf.items()
        }

    def _lower(self, token):
        # `tf.strings.lower` is `str.lower` but for the characters of `lowercase_differences`.
        if not any(char in self.lowercase_differences for char in token):
            return token.lower()
        return "".join(self.lowercase_differences.get(char, char.lower()) for char in token)

    def ids(self, sentences):
        """The graph's inputs for token lists: `{"token_ids", "char_ids"?, "bilm_ids"?}`, int32.

        Rows are padded with "" to the longest sentence (word id 0, no characters), and
        character rows to the longest token after the `max_chars` cut.
        """
        width = max([1, *(len(sentence) for sentence in sentences)])
        token_ids = np.zeros((len(sentences), width), "int32")
        for row, sentence in enumerate(sentences):
            words = [self._lower(token) for token in sentence] if self.lowercase else sentence
            token_ids[row, : len(sentence)] = [self.words.get(word, OOV_ID) for word in words]
        feeds = {"token_ids": token_ids}
        if self.chars is not None:
            cut = [[token[: self.max_chars] for token in sentence] for sentence in sentences]
            chars = max([0, *(len(token) for sentence in cut for token in sentence)])
            char_ids = np.zeros((len(sentences), width, chars), "int32")
            for row, sentence in enumerate(cut):
                for column, token in enumerate(sentence):
                    char_ids[row, column, : len(token)] = [
                        self.chars.get(char, OOV_ID) for char in token
                    ]
            feeds["char_ids"] = char_ids
        if self.bilm_words is not None:
            bilm_ids = np.zeros((len(sentences), width), "int32")
            for row, sentence in enumerate(sentences):
                bilm_ids[row, : len(sentence)] = [
                    self.bilm_words.get(token, OOV_ID) for token in sentence]
            feeds["bilm_ids"] = bilm_ids
        return feeds

    def scores(self, sentences):
        """The graph's output for token lists: emission scores (CRF) or probabilities."""
        return self.session.run(self.ids(sentences))[0]

    def _decode(self, scores, mask):
        if self.crf is None:
            tags = np.argmax(scores, axis=-1).astype("int32")
            probabilities = scores
        else:
            tags, _ = viterbi.viterbi(scores, mask, **self.crf)
            probabilities = viterbi.marginals(scores, mask, **self.crf)
        chosen = np.take_along_axis(probabilities, tags[..., None], axis=-1)[..., 0]
        return tags, chosen

    def tag(self, sentences, *, batch_size=64):
        """Tags token lists; returns (tags, confidences) per sentence, in order.

        As `seqrecipes.recipes.ner.tagger.tag_sentences`: sorted by length, batched, cut to
        each sentence's length.
        """
        _validation.check_positive_int("batch_size", batch_size)
        order = np.argsort([len(sentence) for sentence in sentences], kind="stable")
        tags, confidences = [None] * len(sentences), [None] * len(sentences)
        for start in range(0, len(order), batch_size):
            chosen = order[start : start + batch_size]
            batch = [sentences[i] for i in chosen]
            feeds = self.ids(batch)
            scores = self.session.run(feeds)[0]
            tag_ids, chosen_scores = self._decode(scores, feeds["token_ids"] != PAD_ID)
            for row, i in enumerate(chosen):
                length = len(sentences[i])
                tags[i] = [self.tags[k] for k in tag_ids[row, :length]]
                confidences[i] = [float(score) for score in chosen_scores[row, :length]]
        return tags, confidences

    def predict(self, sentences, *, tokenized=False, batch_size=64):
        """Tags sentences; the same dicts as `seqrecipes.recipes.ner.predict`.

        Args:
            sentences: str, list of str (split on whitespace) or of token lists.
            tokenized: bool. Every item is a token list.
            batch_size: int. Sentences per batch.
        """
        _validation.check_bool("tokenized", tokenized)
        _validation.check_positive_int("batch_size", batch_size)
        if isinstance(sentences, str):
            sentences = [sentences]
        prepared = ner_spans.prepare_sentences(sentences, tokenized)
        tags, confidences = self.tag([tokens for tokens, _, _ in prepared],
                                     batch_size=batch_size)
        return ner_spans.tagged_sentences(prepared, tags, confidences)


def load(export_dir, description, *, threads=None):
    """The `Tagger` of a NER export (`seqrecipes.portable.load` calls this)."""
    return Tagger(export_dir, description, threads=threads)
