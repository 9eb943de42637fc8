"""Data for the NER recipe: CoNLL files (or the embedded samples), a dev split, and the ids.

Words may be lower-cased for the word vocabulary; characters are always read from the original
tokens, so case still reaches the model through the character features.

The readers and vocabularies (TensorFlow, seqeval) are imported by the functions that use
them: the command line reads `SCHEMES` and `INVALID` from here to build its parser.
"""

import dataclasses

import numpy as np

from seqrecipes.datasets import sample_path  # seqrecipes.datasets._samples: no TensorFlow
from seqrecipes.errors import DataError, NotIOBTagError

SAMPLES = {"train": "ner_en.conll", "dev": "ner_en.dev.conll", "test": "ner_en.test.conll"}


SCHEMES = ("iob2", "iob1", "auto")  # `load_conll`'s, less "none": entities need IOB tags
INVALID = ("error", "repair")  # what becomes of an I-X that starts an entity (`load_conll`)


def read(path, *, token_column, tag_column, scheme, delimiter=None, invalid="error"):
    """Reads one CoNLL file with the recipe's column settings."""
    from seqrecipes.datasets import load_conll

    try:
        return load_conll(path, token_column=token_column, tag_column=tag_column,
                          scheme=scheme, delimiter=delimiter, invalid=invalid)
    except NotIOBTagError as error:  # the loader's remedy, scheme='none', is not an NER one
        raise NotIOBTagError(
            f"{error.where}: tag {error.tag!r} is not IOB: the NER recipe trains on entity "
            "tags 'O', 'B-<type>' and 'I-<type>'. Choose the tag column with `tag_column` "
            "(the columns are split on "
            + ("whitespace" if delimiter is None else repr(delimiter))
            + "; `delimiter` changes that).",
            where=error.where, tag=error.tag,
        ) from None


def load_splits(*, train, dev, test, dev_fraction, seed, **columns):
    """Returns `(train, dev, test, sources)`: `TaggedSentences` (test may be None) and paths.

    With `train=None` every split defaults to the embedded English sample. Without a dev file,
    `dev_fraction` of the training sentences (chosen with `seed`) become the dev set.
    """
    if train is None:
        train = sample_path(SAMPLES["train"])
        dev = dev or sample_path(SAMPLES["dev"])
        test = test or sample_path(SAMPLES["test"])
    train_data = read(train, **columns)
    sources = {"train": str(train), "dev": str(dev) if dev else None,
               "test": str(test) if test else None}
    if dev is not None:
        dev_data = read(dev, **columns)
    else:
        train_data, dev_data = hold_out(train_data, dev_fraction, seed=seed)
        sources["dev"] = f"{train} (a random {dev_fraction:g} of its sentences, seed {seed})"
    test_data = read(test, **columns) if test is not None else None
    return train_data, dev_data, test_data, sources


def hold_out(data, fraction, *, seed):
    """Splits `TaggedSentences` into (kept, held out): `fraction` of the sentences at random."""
    held = int(np.ceil(fraction * len(data)))
    if held < 1 or len(data) - held < 1:
        raise DataError(
            f"{data.path}: cannot hold out a dev split of {fraction:g} from {len(data)} "
            "sentences and keep some for training. Pass a dev file as `dev`, or change "
            "`dev_fraction`."
        )
    order = np.random.default_rng(seed).permutation(len(data))
    held_out, kept = np.sort(order[:held]), np.sort(order[held:])

    def subset(positions):
        return dataclasses.replace(
            data,
            tokens=[data.tokens[i] for i in positions],
            tags=[data.tags[i] for i in positions],
            lines=[data.lines[i] for i in positions],
            documents=[data.documents[i] for i in positions],
        )

    return subset(kept), subset(held_out)


def words(sentences, lowercase):
    """The tokens the word vocabulary sees (lower-cased or not)."""
    if not lowercase:
        return sentences
    return [[token.lower() for token in sentence] for sentence in sentences]


@dataclasses.dataclass
class Vocabularies:
    """The lookups built on the training split."""

    tokens: object
    tags: object
    chars: object
    tag_vocabulary: list
    lowercase: bool
    max_chars: object
    bilm: object = None  # the bilm run's token lookup (case kept), or None


    def features(self, sentences):
        """The model inputs of `sentences` as ragged ids (what `tagging_dataset` takes)."""
        from seqrecipes.datasets import encode_characters, encode_tokens

        features = {"token_ids": encode_tokens(words(sentences, self.lowercase), self.tokens)}
        if self.chars is not None:
            features["char_ids"] = encode_characters(
                sentences, self.chars, max_chars=self.max_chars
            )
        if self.bilm is not None:
            features["bilm_ids"] = encode_tokens(sentences, self.bilm)
        return features

    def targets(self, tags):
        """Model tag indices 0..K-1 (ragged): the tag lookup's ids 1..K minus one."""
        from seqrecipes.datasets import encode_tags

        return encode_tags(tags, self.tags) - 1


def build_vocabularies(tokens, tags, *, path, lowercase, min_frequency, char_features,
                       max_chars):
    """Builds the word, character and tag lookups from the training token and tag lists."""
    from seqrecipes.datasets import build_char_lookup, build_tag_lookup, build_token_lookup

    tag_lookup = build_tag_lookup(tags)
    tag_vocabulary = [str(tag) for tag in tag_lookup.get_vocabulary()[1:]]
    if len(tag_vocabulary) < 2:
        raise DataError(
            f"{path}: every token has the tag {tag_vocabulary[0]!r}; a tagger needs at "
            "least two tags in the training data. Check `tag_column`."
        )
    return Vocabularies(
        tokens=build_token_lookup(words(tokens, lowercase), min_frequency=min_frequency),
        tags=tag_lookup,
        chars=build_char_lookup(tokens) if char_features != "none" else None,
        tag_vocabulary=tag_vocabulary,
        lowercase=lowercase,
        max_chars=max_chars,
    )


def check_evaluation_tags(data, tag_vocabulary, role):
    """Checks that `data` (or None) uses only tags the model knows."""
    from seqrecipes.recipes.ner.entities import check_known_tags

    if data is not None:
        check_known_tags(data, tag_vocabulary, role=role)
