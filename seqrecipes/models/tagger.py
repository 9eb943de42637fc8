"""Named-entity tagger: word embeddings (+ character features) -> BiLSTM or CNN -> Dense -> CRF.

The architecture of Lample et al. (2016) and Ma & Hovy (2016): each word is represented by its
embedding concatenated with features of its characters (a character CNN or BiLSTM, see
`seqrecipes.models.token_features`), a bidirectional recurrent stack reads the sentence
(`recurrent_stack("many_to_many", ...)`: every layer returns sequences), a `Dense` layer gives
emission scores for every word, and a `CRF` picks the best tag sequence. With `crf=False` the
head is a per-word softmax instead. With `encoder="cnn"` dilated convolutions read the
sentence instead of the recurrent stack (`conv.dilated_conv_stack`, after Strubell et al.
2017): every word at once, so an epoch takes less time on a CPU.
"""

import keras

from seqrecipes import _validation
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.models.bilm import BiLMFeatures
from seqrecipes.models.conv import check_conv_stack, dilated_conv_stack
from seqrecipes.models.crf import CRF
from seqrecipes.models.crf_model import CRFModel
from seqrecipes.models.embedding import token_embedding
from seqrecipes.models.recurrent import recurrent_stack
from seqrecipes.models.options import ENCODERS
from seqrecipes.models.token_features import CHAR_FEATURES, CharacterEncoder, WordDropout

# The encoder settings each `encoder` reads, and their defaults there: the others would be
# ignored, so they are refused (`_validation.check_settings_used`). `dropout` is read by both.
ENCODER_SETTINGS = {
    "rnn": {"cell": "lstm", "units": 100, "bidirectional": True, "merge_mode": "concat",
            "dropout": 0.0, "recurrent_dropout": 0.0},
    "cnn": {"conv_filters": 200, "conv_kernel_size": 3, "dilations": (1, 2, 4, 8),
            "dropout": 0.2},
}


def _check_char_arguments(char_vocabulary_size, char_features, sizes):
    """Validates the character arguments and returns the resolved `char_features`."""
    _validation.check_positive_int("char_vocabulary_size", char_vocabulary_size, allow_none=True)
    if char_features is not None:
        _validation.check_choice("char_features", char_features, CHAR_FEATURES + ("none",))
    for name, value in sizes.items():
        _validation.check_positive_int(name, value)
    if char_features is None:
        return "none" if char_vocabulary_size is None else "cnn"
    _validation.check_conflict(
        char_features != "none" and char_vocabulary_size is None,
        f"`char_features={char_features!r}` needs `char_vocabulary_size` (the number of "
        "character ids, padding 0 included) and a `char_ids` input. Pass it, or set "
        "`char_features='none'`. Received: char_vocabulary_size=None.",
    )
    _validation.check_conflict(
        char_features == "none" and char_vocabulary_size is not None,
        "`char_features='none'` uses no characters, so `char_vocabulary_size` would be "
        "ignored. Pass `char_features='cnn'` or `'lstm'`, or leave out char_vocabulary_size. "
        f"Received: char_vocabulary_size={char_vocabulary_size!r}.",
    )
    return char_features


def _token_features(embedding, word_dropout, char_encoder, bilm):
    """Returns the input dict and the per-word features (word embedding + characters + bilm)."""
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    inputs = {"token_ids": token_ids}
    words = token_ids
    if word_dropout:
        words = WordDropout(word_dropout, name="word_dropout")(words)
    features = embedding(words)
    if char_encoder is not None:
        inputs["char_ids"] = keras.Input(shape=(None, None), dtype="int32", name="char_ids")
        chars = char_encoder(inputs["char_ids"])
        # Concatenate keeps the word mask of the embedding (the characters carry none).
        features = keras.layers.Concatenate(name="word_and_chars")([features, chars])
    if bilm is not None:
        inputs["bilm_ids"] = keras.Input(shape=(None,), dtype="int32", name="bilm_ids")
        # The bilm features carry the mask of their own ids, the same words' positions.
        contextual = bilm(inputs["bilm_ids"])
        features = keras.layers.Concatenate(name="with_bilm")([features, contextual])
    return inputs, features


def build_ner_tagger(
    vocabulary_size,
    num_tags,
    *,
    embedding_dim=100,
    word_dropout=0.0,
    char_vocabulary_size=None,
    char_features=None,
    char_embedding_dim=30,
    char_filters=30,
    char_kernel_size=3,
    char_units=25,
    encoder="rnn",
    cell=None,
    units=None,
    bidirectional=None,
    merge_mode=None,
    dropout=None,
    recurrent_dropout=None,
    conv_filters=None,
    conv_kernel_size=None,
    dilations=None,
    embedding_dropout=0.5,
    head_dropout=0.5,
    crf=True,
    bilm=None,
    embeddings=None,
    train_embeddings=True,
    name="ner_tagger",
):
    """Builds a functional named-entity tagger with character features and a CRF head.

    The input is a dict: `"token_ids"` `[batch, words]` (0 = padding, masked) and, with
    character features, `"char_ids"` `[batch, words, chars]` (0 = padding). With `crf=True`
    the model is a `CRFModel`: compile it with an optimizer only (the loss is the CRF's
    negative log-likelihood), train it on tag ids `[batch, words]`, and `predict` returns tag
    ids (`predict_marginals` gives per-word tag probabilities). With `crf=False` the output is
    a softmax per word; compile it with `"sparse_categorical_crossentropy"` (the mask keeps
    padding out of the loss).

    Args:
        vocabulary_size: int. Number of token ids (padding 0 and OOV 1 included).
        num_tags: int >= 2. Number of tags (e.g. 9 IOB2 tags for CoNLL-2003).
        embedding_dim: int. Width of the word embedding. Defaults to 100.
        word_dropout: float. Probability of replacing a word by the OOV id (1) in training.
            Defaults to 0.
        char_vocabulary_size: int or None. Number of character ids (padding 0 included);
            None for no character features.
        char_features: str or None. "cnn" (Ma & Hovy 2016), "lstm" (Lample et al. 2016) or
            "none". Defaults to None: "cnn" when `char_vocabulary_size` is given, else "none".
        char_embedding_dim: int. Width of each character's embedding. Defaults to 30.
        char_filters: int. Filters of the character CNN. Defaults to 30.
        char_kernel_size: int. Window of the character CNN. Defaults to 3.
        char_units: int. Units per direction of the character BiLSTM. Defaults to 25.
        encoder: str. What reads the words' features in context: "rnn" (a recurrent stack:
            `cell`, `units`, `bidirectional`, `merge_mode`, `dropout`, `recurrent_dropout`)
            or "cnn" (`dilated_conv_stack`: `conv_filters`, `conv_kernel_size`,
            `dilations`, `dropout`). The settings of the other encoder are refused rather
            than ignored, so they default to None: the encoder's own default then applies
            (`ENCODER_SETTINGS`). Defaults to "rnn".
        cell: str. "lstm", "gru" or "simple_rnn" (rnn). Defaults to "lstm".
        units: int or tuple of ints. Units of each recurrent layer (rnn). Defaults to 100.
        bidirectional: bool (rnn). Defaults to True.
        merge_mode: str. How the directions merge; "concat" doubles the width (rnn).
        dropout: float. The recurrent layers' input dropout (rnn, default 0), or the dropout
            on each convolution's output (cnn, default 0.2).
        recurrent_dropout: float. Dropout on the recurrent state (rnn). Defaults to 0.
        conv_filters: int. Width of every convolution (cnn). Defaults to 200.
        conv_kernel_size: int. Window of every convolution (cnn). Defaults to 3.
        dilations: int or tuple of ints. One convolution per entry, with that dilation rate
            (cnn). Defaults to (1, 2, 4, 8).
        embedding_dropout: float. Dropout on the word features (embedding and characters)
            before the encoder. Defaults to 0.5.
        head_dropout: float. Dropout on the encoder's output before the emission layer.
            Defaults to 0.5.
        crf: bool. CRF head (True) or softmax head (False). Defaults to True.
        bilm: a `BiLMFeatures` layer or None. ELMo-style contextual features (Peters et al.
            2018) concatenated to each word's features; the model then takes a third input,
            `"bilm_ids"` `[batch, words]`: the same words in the language models' vocabulary.
            Only its mixing weights and gamma train. Defaults to None.
        embeddings: array-like `[vocabulary_size, embedding_dim]` or None. Initial word
            embedding table (pretrained word vectors, `datasets.vectors_for_vocabulary`);
            saved in model.keras as weights. None: random.
        train_embeddings: bool. Fine-tune the word embedding (True) or freeze it. Defaults
            to True.
        name: str. The model's name.

    Returns:
        A `CRFModel` whose output is `(batch, words)` tag ids (`crf=True`), or a functional
        `keras.Model` whose output is `(batch, words, num_tags)` probabilities.

    Raises:
        InvalidArgumentError: for a bad argument, before any layer is built.

    Example:

    >>> model = build_ner_tagger(100, 9, char_vocabulary_size=40, units=4, embedding_dim=8)
    >>> sorted(model.input)
    ['char_ids', 'token_ids']
    >>> model.output_shape
    (None, None)
    >>> build_ner_tagger(100, 9, units=4, crf=False).output_shape
    (None, None, 9)
    >>> build_ner_tagger(100, 9, encoder="cnn", conv_filters=4, dilations=(1, 2)).output_shape
    (None, None)
    """
    _validation.check_positive_int("vocabulary_size", vocabulary_size)
    _validation.check_positive_int("num_tags", num_tags)
    _validation.check_conflict(
        num_tags < 2,
        f"`num_tags` must be at least 2 (a tagger chooses between tags). "
        f"Received: num_tags={num_tags!r}.",
    )
    _validation.check_positive_int("embedding_dim", embedding_dim)
    char_features = _check_char_arguments(
        char_vocabulary_size,
        char_features,
        dict(
            char_embedding_dim=char_embedding_dim,
            char_filters=char_filters,
            char_kernel_size=char_kernel_size,
            char_units=char_units,
        ),
    )
    for dropout_name, value in [
        ("word_dropout", word_dropout),
        ("embedding_dropout", embedding_dropout),
        ("head_dropout", head_dropout),
    ]:
        _validation.check_fraction(dropout_name, value)
    _validation.check_bool("crf", crf)
    if bilm is not None and not isinstance(bilm, BiLMFeatures):
        raise InvalidArgumentError(
            "`bilm` must be a `BiLMFeatures` layer (e.g. from `BiLMFeatures.from_bilm` or "
            f"`seqrecipes.recipes.bilm.load_features`) or None. Received: bilm of type "
            f"{type(bilm).__name__}."
        )
    _validation.check_string("name", name)
    _validation.check_choice("encoder", encoder, ENCODERS)
    given = dict(cell=cell, units=units, bidirectional=bidirectional, merge_mode=merge_mode,
                 dropout=dropout, recurrent_dropout=recurrent_dropout,
                 conv_filters=conv_filters, conv_kernel_size=conv_kernel_size,
                 dilations=dilations)
    _validation.check_settings_used("encoder", encoder, ENCODER_SETTINGS, given)
    encoding = _validation.with_defaults(
        {name: given[name] for name in ENCODER_SETTINGS[encoder]}, ENCODER_SETTINGS[encoder])
    embedding = token_embedding(vocabulary_size, embedding_dim, embeddings=embeddings,
                                train_embeddings=train_embeddings)
    stack = []
    if encoder == "rnn":  # validates cell, units, bidirectional, merge_mode, dropouts
        stack = recurrent_stack("many_to_many", **encoding)
    else:
        encoding["dilations"] = check_conv_stack(
            encoding["conv_filters"], encoding["conv_kernel_size"], encoding["dilations"],
            encoding["dropout"], names={"filters": "conv_filters",
                                        "kernel_size": "conv_kernel_size"})
    char_encoder = None
    if char_features != "none":
        char_encoder = CharacterEncoder(
            char_vocabulary_size,
            mode=char_features,
            embedding_dim=char_embedding_dim,
            filters=char_filters,
            kernel_size=char_kernel_size,
            units=char_units,
            name="char_encoder",
        )
    inputs, features = _token_features(embedding, word_dropout, char_encoder, bilm)
    if embedding_dropout:
        features = keras.layers.Dropout(embedding_dropout, name="embedding_dropout")(features)
    for layer in stack:
        features = layer(features)
    if encoder == "cnn":
        features = dilated_conv_stack(
            features, filters=encoding["conv_filters"],
            kernel_size=encoding["conv_kernel_size"], dilations=encoding["dilations"],
            dropout=encoding["dropout"])
    if head_dropout:
        features = keras.layers.Dropout(head_dropout, name="head_dropout")(features)
    if not crf:
        probabilities = keras.layers.Dense(num_tags, activation="softmax", name="head")(features)
        return keras.Model(inputs, probabilities, name=name)
    emissions = keras.layers.Dense(num_tags, name="emissions")(features)
    return CRFModel(inputs, CRF(name="crf")(emissions), name=name)
