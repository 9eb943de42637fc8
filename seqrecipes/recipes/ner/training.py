"""Named-entity recognition: CoNLL file -> BiLSTM-CRF tagger -> entity F1 -> served entity spans.

    seqrecipes ner train      [--train FILE --dev FILE --test FILE] [model and training flags]
    seqrecipes ner evaluate   RUN_DIR [DATA]
    seqrecipes ner predict    RUN_DIR "Ada Lovelace visited Paris ." [--file FILE]
    seqrecipes ner export     RUN_DIR DIR [--overwrite]
    seqrecipes ner train      --bilm RUN_DIR        # + ELMo-style features of a `bilm` run

`train` (also `run`) reads CoNLL column files (by default the embedded English sample), builds word,
character and tag vocabularies on the training split, trains `build_ner_tagger` (word
embedding + character CNN or BiLSTM -> BiLSTM, or dilated convolutions with `encoder="cnn"`
-> CRF) with early stopping on the dev set's seqeval entity F1, and writes a run directory
(`model.keras`, `config.json`, `metrics.json`, `history.csv`, `training_curves.png`,
`report.txt`, `dev_predictions.conll`, `test_predictions.conll`, and `train_entities.jsonl`
for the scores of the entities seen and unseen in training, `seqrecipes.recipes.ner.seen`).
The saved model takes token strings and returns tag names and per-token confidences (see
`_string_tagger`), so `evaluate`, `predict` and `export` need only the run directory.
"""

from seqrecipes import _validation
from seqrecipes.models import wiring
from seqrecipes.models.options import CHAR_FEATURES, ENCODERS
from seqrecipes.recipes.engine import flags as _cli
from seqrecipes.recipes.engine import word_vectors as _word_vectors
from seqrecipes.recipes.ner import data as _ner_data
from seqrecipes.recipes.ner import documents as _ner_context
from seqrecipes.recipes.engine import plots as _plots
from seqrecipes.recipes.engine import training as _training
from seqrecipes.recipes.engine.artifacts import write_run
from seqrecipes.recipes.ner.serve import DEFAULT_RUN_DIR, RECIPE

SCHEMES = _ner_data.SCHEMES
# The character settings each `char_features` reads (`build_ner_tagger`); the others would be
# ignored, so they are refused (`_validation.check_settings_used`).
CHAR_SETTINGS = {
    "cnn": ("max_chars", "char_embedding_dim", "char_filters", "char_kernel_size"),
    "lstm": ("max_chars", "char_embedding_dim", "char_units"),
    "none": (),
}
# Defaults of the arguments that are None until checked: None means "left out", so that one
# given where it does not apply is refused instead of ignored.
DEFAULTS = {"dev_fraction": 0.1, "char_embedding_dim": 30, "char_filters": 30,
            "char_kernel_size": 3, "char_units": 25}
# The encoder settings each `encoder` reads (`build_ner_tagger`), with the recipe's defaults
# there (None until checked, as above). The cnn's were measured on CoNLL-2003 (README).
ENCODER_DEFAULTS = {
    "rnn": {"cell": "lstm", "units": [200], "bidirectional": True, "dropout": 0.0,
            "recurrent_dropout": 0.0},
    "cnn": {"conv_filters": 200, "conv_kernel_size": 3, "dilations": [1, 2, 4, 8],
            "dropout": 0.2},
}
# The batch and rate each encoder trains with unless given (any encoder takes either): the
# cnn learned faster with twice the batch and rate (CoNLL-2003, README).
TRAINING_DEFAULTS = {
    "rnn": {"batch_size": 8, "learning_rate": 1e-3},
    "cnn": {"batch_size": 16, "learning_rate": 2e-3},
}
PLOTTED = ("epoch", "loss", "val_entity_f1")  # the curves of training_curves.png
EMBEDDING_DIM = 100  # the word embedding's width without `word_vectors` (with: the file's)


def _check_settings(settings):
    """Checks every setting before any file is read (the builder checks them again).

    Returns the settings with `DEFAULTS` filled in where they apply.
    """
    _validation.check_choice("char_features", settings["char_features"],
                             CHAR_FEATURES + ("none",))
    _validation.check_settings_used(
        "char_features", settings["char_features"], CHAR_SETTINGS,
        {name: settings[name] for name in CHAR_SETTINGS["cnn"] + CHAR_SETTINGS["lstm"]},
    )
    if settings["train"] is None:
        _validation.check_not_given(
            settings, ("dev_fraction",), reason="Without `train` the embedded sample's own "
            "dev file is used", fix="Leave it out, or pass a `train` file.")
    elif settings["dev"] is not None:
        _validation.check_not_given(
            settings, ("dev_fraction",), reason=f"The `dev` file {settings['dev']!r} is the "
            "dev set", fix="Leave it out, or leave out `dev` to hold part of `train` out.")
    _validation.check_choice("encoder", settings["encoder"], ENCODERS)
    _validation.check_settings_used(
        "encoder", settings["encoder"], ENCODER_DEFAULTS,
        {name: settings[name] for defaults in ENCODER_DEFAULTS.values() for name in defaults},
    )
    settings = _validation.with_defaults(settings, {
        **DEFAULTS, **ENCODER_DEFAULTS[settings["encoder"]],
        **TRAINING_DEFAULTS[settings["encoder"]]})
    _validation.check_fraction("dev_fraction", settings["dev_fraction"])
    _validation.check_conflict(
        settings["dev_fraction"] == 0 and settings["dev"] is None
        and settings["train"] is not None,
        "Early stopping needs a dev set: pass a `dev` file, or a `dev_fraction` above 0 to "
        "hold out part of the training file. Received: dev_fraction=0.",
    )
    _validation.check_choice("scheme", settings["scheme"], SCHEMES)
    _validation.check_string("delimiter", settings["delimiter"], allow_none=True)
    _validation.check_choice("invalid", settings["invalid"], _ner_data.INVALID)
    if settings["encoder"] == "rnn":  # lists, as config.json keeps them
        _validation.check_choice("cell", settings["cell"], wiring.CELLS)
        settings["units"] = list(_validation.check_positive_ints("units", settings["units"]))
        _validation.check_bool("bidirectional", settings["bidirectional"])
        _validation.check_fraction("recurrent_dropout", settings["recurrent_dropout"])
    else:
        from seqrecipes.models.conv import check_conv_stack

        settings["dilations"] = list(check_conv_stack(
            settings["conv_filters"], settings["conv_kernel_size"], settings["dilations"],
            settings["dropout"], names={"filters": "conv_filters",
                                        "kernel_size": "conv_kernel_size"}))
    _validation.check_positive_int("max_chars", settings["max_chars"], allow_none=True)
    _validation.check_non_negative_int("context_tokens", settings["context_tokens"])
    for name in ("min_frequency", "char_embedding_dim", "char_filters", "char_kernel_size",
                 "char_units"):
        _validation.check_positive_int(name, settings[name])
    _validation.check_positive_int("embedding_dim", settings["embedding_dim"], allow_none=True)
    if settings["word_vectors"] is not None:
        _validation.check_existing_file("word_vectors", settings["word_vectors"])
    if settings["freeze_vectors"] is not None:
        _validation.check_bool("freeze_vectors", settings["freeze_vectors"])
    _word_vectors.check_freeze(settings["word_vectors"], settings["freeze_vectors"])
    for name in ("word_dropout", "dropout", "embedding_dropout", "head_dropout"):
        _validation.check_fraction(name, settings[name])
    for name in ("lowercase", "crf"):
        _validation.check_bool(name, settings[name])
    _validation.check_fraction("ema_momentum", settings["ema_momentum"])
    if settings["learning_rate_decay"] != 0:
        _validation.check_positive_float("learning_rate_decay", settings["learning_rate_decay"])
    _cli.check_training_arguments(**{name: settings[name] for name in _cli.TRAINING_SETTINGS})
    for name in ("train", "dev", "test"):
        if settings[name] is not None:
            _validation.check_existing_file(name, settings[name])
    _validation.check_string("bilm", settings["bilm"], allow_none=True)
    return settings


def _optimizer(settings, steps_per_epoch):
    import keras

    rate = settings["learning_rate"]
    if settings["learning_rate_decay"]:
        # rate / (1 + decay * epoch), continuously per step (Ma & Hovy 2016 decay by epoch).
        rate = keras.optimizers.schedules.InverseTimeDecay(
            rate, decay_steps=steps_per_epoch, decay_rate=settings["learning_rate_decay"]
        )
    return _training.adam(rate, clipnorm=settings["clipnorm"],
                          ema_momentum=settings["ema_momentum"] or None)


def _build_model(settings, vocabularies, steps_per_epoch, bilm_features=None,
                 embeddings=None):
    import keras

    from seqrecipes.models import build_ner_tagger

    keras.utils.set_random_seed(settings["seed"])  # the same seed gives the same weights
    chars = vocabularies.chars
    model = build_ner_tagger(
        vocabularies.tokens.vocabulary_size(),
        len(vocabularies.tag_vocabulary),
        embedding_dim=settings["embedding_dim"],
        word_dropout=settings["word_dropout"],
        char_vocabulary_size=chars.vocabulary_size() if chars is not None else None,
        char_features=settings["char_features"],
        char_embedding_dim=settings["char_embedding_dim"],
        char_filters=settings["char_filters"],
        char_kernel_size=settings["char_kernel_size"],
        char_units=settings["char_units"],
        encoder=settings["encoder"],  # the other encoder's settings are None
        cell=settings["cell"],
        units=None if settings["units"] is None else tuple(settings["units"]),
        bidirectional=settings["bidirectional"],
        dropout=settings["dropout"],
        recurrent_dropout=settings["recurrent_dropout"],
        conv_filters=settings["conv_filters"],
        conv_kernel_size=settings["conv_kernel_size"],
        dilations=None if settings["dilations"] is None else tuple(settings["dilations"]),
        embedding_dropout=settings["embedding_dropout"],
        head_dropout=settings["head_dropout"],
        crf=settings["crf"],
        bilm=bilm_features,
        embeddings=embeddings,
        train_embeddings=not settings["freeze_vectors"],
    )
    optimizer = _optimizer(settings, steps_per_epoch)
    if settings["crf"]:
        model.compile(optimizer=optimizer)  # the loss is the CRF's negative log-likelihood
    else:  # the word mask keeps padding out of the loss
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model


def _predictions_file(data, predicted, confidences):
    rows = []
    for tokens, gold, tags, scores in zip(data.tokens, data.tags, predicted, confidences):
        rows += [f"{t} {g} {p} {c:.4f}" for t, g, p, c in zip(tokens, gold, tags, scores)]
        rows.append("")
    return "token gold predicted confidence\n\n" + "\n".join(rows)


@_training.releases_locks
def run(
    *,
    train=None,
    dev=None,
    test=None,
    token_column=0,
    tag_column=-1,
    scheme="iob2",
    delimiter=None,
    invalid="error",
    dev_fraction=None,
    lowercase=True,
    min_frequency=1,
    max_chars=None,
    context_tokens=128,
    char_features="cnn",
    char_embedding_dim=None,
    char_filters=None,
    char_kernel_size=None,
    char_units=None,
    embedding_dim=None,
    word_dropout=0.3,
    encoder="rnn",
    cell=None,
    units=None,
    bidirectional=None,
    dropout=None,
    recurrent_dropout=None,
    conv_filters=None,
    conv_kernel_size=None,
    dilations=None,
    embedding_dropout=0.5,
    head_dropout=0.5,
    crf=True,
    bilm=None,
    word_vectors=None,
    freeze_vectors=None,
    own_vectors=None,
    run_dir=DEFAULT_RUN_DIR,
    overwrite=False,
    epochs=50,
    batch_size=None,
    learning_rate=None,
    learning_rate_decay=0.05,
    ema_momentum=0.0,
    clipnorm=5.0,
    patience=8,
    seed=1234,
    verbose=1,
):
    """Trains a NER tagger on CoNLL files and writes a run directory.

    Args:
        train, dev, test: str or None. CoNLL files; with `train=None` all three default to the
            embedded English sample. Without `dev`, `dev_fraction` of the training sentences
            are held out; without `test` (and with `train`), no test figures are computed.
        token_column, tag_column: int. Columns of the token and the tag (-1: the last).
        scheme: str. "iob2" (checked), "iob1" (converted) or "auto" (see `load_conll`).
        delimiter: str or None. Column separator; None splits on whitespace ("\\t" when
            tokens hold spaces).
        invalid: str. An IOB2 ``I-X`` that starts an entity: "error" (refused, with
            file:line) or "repair" (read as ``B-X``).
        dev_fraction: float. Share of the training sentences held out when `dev` is None.
        lowercase: bool. Lower-case words for the word vocabulary (characters keep the case).
            The defaults (lower-cased words, `context_tokens=128`, word dropout 0.3, BiLSTM
            200, batch 8, rate decay 0.05, clipnorm 5) scored 0.862 test entity F1 on
            CoNLL-2003 in 18.6 minutes on a 2-core CPU (`bench/quality_ner.py`; README),
            before `own_vectors`; with them (on JAX) 0.8710 and 0.8740 (two seeds).
        min_frequency: int. Words seen fewer times in training map to the OOV id.
        max_chars: int or None. Characters kept per token (None: all).
        context_tokens: int. Read consecutive sentences of a ``-DOCSTART-`` document
            together, in chunks of at most this many tokens (see `_ner_context`); 0 reads
            sentences alone (as does a file without documents).
        char_features, char_embedding_dim, char_filters, char_kernel_size, char_units,
            word_dropout, embedding_dropout, head_dropout, crf: as in `build_ner_tagger`.
        encoder: str. "rnn" (the default: a BiLSTM of 200 units, or as `cell`, `units`,
            `bidirectional`, `dropout` and `recurrent_dropout` say) or "cnn" (dilated
            convolutions, `dilated_conv_stack`: `conv_filters` 200, `conv_kernel_size` 3,
            `dilations` 1, 2, 4, 8 and `dropout` 0.2 unless given), as in
            `build_ner_tagger`; the other encoder's settings are refused.
        cell, units, bidirectional, dropout, recurrent_dropout, conv_filters,
            conv_kernel_size, dilations: as in `build_ner_tagger`; None: `ENCODER_DEFAULTS`.
        embedding_dim: int or None. Width of the word embedding. None: 100, or with
            `word_vectors` the file's dimension (which a given value must equal).
        word_vectors: str or None. A GloVe, word2vec (text or binary) or fastText (`.vec`
            or `.bin`) file the word embedding starts from (`datasets.word_vectors`): each
            vocabulary word takes its vector by exact match, then lower-cased (with
            `lowercase=True` the vocabulary is lower-cased, so a cased file's "Paris" serves
            "paris"), a fastText `.bin` composes one from subword n-grams for the rest, random
            otherwise. The run prints and stores the coverage (config.json,
            `word_vectors_coverage`); the vectors are saved inside model.keras. Defaults to
            None (a random embedding).
        freeze_vectors: bool or None. Keep the `word_vectors` unchanged in training (True)
            or fine-tune them (False, the default when left out); only with `word_vectors`.
        own_vectors: bool or None. Start the word embedding from word2vec vectors trained
            (gensim, seconds) on the training file's own tokens, as `seqrecipes vectors
            train --epochs 20` would make them: no other text. None (the default): yes for a
            `train` file of at least 1 MB (where they were measured: on CoNLL-2003 +0.5 test
            F1 on JAX, +1.1 on TensorFlow, +1.3 on its first 1 MB, with 5 passes; 20 passes
            added 0.3-1.1 more on JAX) when gensim is installed and no `word_vectors` file is
            given; no otherwise. The coverage is printed and stored
            as with a file.
        bilm: str or None. A run directory of `seqrecipes bilm train`: its frozen forward
            and backward language models add ELMo-style features to every word (a learned
            mix of their layers, see `BiLMFeatures`). None: no such features.
        run_dir, overwrite, epochs, batch_size, learning_rate, clipnorm, patience, seed,
            verbose: training settings (see `seqrecipes ner train --help`). Early stopping
            watches the dev entity F1 (`val_entity_f1`). `batch_size` and `learning_rate`
            default to None: 8 and 1e-3 for the rnn, 16 and 2e-3 for the cnn
            (`TRAINING_DEFAULTS`).
        learning_rate_decay: float. Adam's rate is `learning_rate / (1 + decay * epoch)`,
            updated every step; 0 keeps it constant.
        ema_momentum: float in [0, 1). Keep an exponential moving average of the weights,
            updated every step with this momentum (Keras's `use_ema`): the dev F1 of every
            epoch, early stopping and the saved model are the average's; 0: no average.

    Returns:
        A dict: `run_dir`, `metrics` (as in `metrics.json`: `dev` and `test` hold
        `entity_metrics` plus `seen` and `unseen`, see `seen_unseen_metrics`), `history`
        and `best_epoch`.
    """
    settings = _training.plain_paths(locals())  # paths kept in config.json as strings
    import keras  # here, after locals(): `--help` imports this module without TensorFlow

    from seqrecipes.datasets import tagging_dataset
    from seqrecipes.recipes.bilm import load_features
    from seqrecipes.recipes.ner import seen as _seen
    from seqrecipes.recipes.ner.entities import EntityF1, entity_metrics, summary_line
    from seqrecipes.recipes.ner.tagger import build_string_tagger, tag_encoded

    bilm = settings["bilm"]
    settings = _check_settings(settings)
    vectors = None
    if settings["word_vectors"] is not None:  # read before any data: a bad file fails fast
        vectors, settings["embedding_dim"] = _word_vectors.read(settings["word_vectors"],
                                                                embedding_dim)
    settings["embedding_dim"] = settings["embedding_dim"] or EMBEDDING_DIM
    settings["freeze_vectors"] = settings["freeze_vectors"] is True
    settings["own_vectors"] = _word_vectors.own_vectors(
        settings["own_vectors"], settings["word_vectors"], settings["train"])
    config = {"recipe": RECIPE, **{key: value for key, value in settings.items()}}
    state_dir = _training.prepare_run_dir(run_dir, config, overwrite=overwrite)
    bilm_features = bilm_lookup = None
    if bilm is not None:  # the words also go through the bilm's own vocabulary (case kept)
        bilm_features, bilm_lookup, bilm_config = load_features(bilm)

    columns = dict(token_column=token_column, tag_column=tag_column, scheme=scheme,
                   delimiter=delimiter, invalid=invalid)
    train_data, dev_data, test_data, sources = _ner_data.load_splits(
        train=train, dev=dev, test=test, dev_fraction=settings["dev_fraction"], seed=seed,
        **columns
    )
    chunks = {  # consecutive sentences of a document as one sequence (0: sentences alone)
        role: _ner_context.pack(data.tokens, data.tags, _ner_context.documents_of(data),
                                context_tokens=context_tokens)
        for role, data in (("train", train_data), ("dev", dev_data), ("test", test_data))
        if data is not None
    }
    vocabularies = _ner_data.build_vocabularies(
        chunks["train"].tokens, chunks["train"].tags, path=train_data.path,
        lowercase=lowercase, min_frequency=min_frequency, char_features=char_features,
        max_chars=max_chars,
    )
    vocabularies.bilm = bilm_lookup
    tag_vocabulary = vocabularies.tag_vocabulary
    _ner_data.check_evaluation_tags(dev_data, tag_vocabulary, "dev")
    _ner_data.check_evaluation_tags(test_data, tag_vocabulary, "test")

    train_features = vocabularies.features(chunks["train"].tokens)
    train_ds = tagging_dataset(
        train_features,
        vocabularies.targets(chunks["train"].tags),
        batch_size=settings["batch_size"], shuffle=True, seed=seed,
    )
    if vocabularies.chars is None and vocabularies.bilm is None:  # the input is always a dict
        train_ds = train_ds.map(lambda x, y: ({"token_ids": x}, y))
    embeddings = coverage = None
    if settings["own_vectors"]:  # the tokens as the vocabulary reads them
        vectors = _word_vectors.train_own(
            [[token.lower() for token in sentence] if lowercase else sentence
             for sentence in train_data.tokens],
            embedding_dim=settings["embedding_dim"], seed=seed,
            source=f"The training file {train_data.path}")
    if vectors is not None:  # coverage counted on the training split's words
        embeddings, coverage = _word_vectors.initial_table(
            vectors, vocabularies.tokens.get_vocabulary(), train_features["token_ids"],
            embedding_dim=settings["embedding_dim"], seed=seed,
        )
    # About the batches an epoch holds: buckets add a few.
    steps_per_epoch = -(-len(chunks["train"].tokens) // settings["batch_size"])
    model = _build_model(settings, vocabularies, steps_per_epoch, bilm_features, embeddings)
    features = {role: vocabularies.features(chunks[role].tokens)
                for role in ("dev", "test") if role in chunks}
    entity_f1 = EntityF1(
        features["dev"], dev_data.tags, tag_vocabulary,
        split=chunks["dev"].split,
    )
    result = _training.fit_resumable(
        model, train_ds, validation_data=None, epochs=epochs, state_dir=state_dir,
        config=config, seed=seed, monitor="val_entity_f1", mode="max", patience=patience,
        callbacks=[entity_f1], verbose=verbose,  # fit_resumable's timer counts the dev F1
    )

    serving = build_string_tagger(
        model, token_lookup=vocabularies.tokens, tag_vocabulary=tag_vocabulary,
        char_lookup=vocabularies.chars, max_chars=max_chars, lowercase=lowercase,
        bilm_lookup=vocabularies.bilm,
    )
    metrics = {
        "best_epoch": result.best_epoch,
        "epochs_trained": len(result.history),
        "stopped_early": result.stopped_early,
        "training_seconds": round(sum(row.get("epoch_seconds", 0) for row in result.history), 1),
    }
    train_forms = _seen.surface_forms(train_data.tokens, train_data.tags)
    files, reports = {_seen.TRAIN_ENTITIES: _seen.forms_file(train_forms)}, []
    for role, data in (("dev", dev_data), ("test", test_data)):
        if data is None:
            continue
        # On the ids, not through `serving`: JAX holds no string tensor (`tag_encoded`).
        predicted, confidences = tag_encoded(model, features[role], tag_vocabulary)
        predicted, confidences = chunks[role].split(predicted), chunks[role].split(confidences)
        metrics[role] = entity_metrics(data.tags, predicted)
        metrics[role].update(
            _seen.seen_unseen_metrics(data.tokens, data.tags, predicted, train_forms))
        reports.append(f"{role} ({sources[role]}):\n{metrics[role]['report']}\n"
                       f"{_seen.split_line(role, metrics[role])}\n")
        files[f"{role}_predictions.conll"] = _predictions_file(data, predicted, confidences)
    files["report.txt"] = "\n".join(reports)
    config.update(
        data=sources,
        tags=tag_vocabulary,
        vocabulary_size=vocabularies.tokens.vocabulary_size(),
        char_vocabulary_size=(
            vocabularies.chars.vocabulary_size() if vocabularies.chars is not None else None
        ),
        num_parameters=model.count_params(),
        trainable_parameters=sum(int(keras.ops.size(w)) for w in model.trainable_weights),
        bilm_data=bilm_config["data"] if bilm is not None else None,
        word_vectors_coverage=coverage,
    )
    path = write_run(
        run_dir, model=serving, config=config, metrics=metrics, history=result.history,
        figures={"training_curves.png": _plots.training_curves(
            [{key: row[key] for key in PLOTTED if key in row} for row in result.history],
            "NER: training loss and dev entity F1",
        )},
        files=files,
    )
    for role in ("dev", "test"):
        if role in metrics:
            print(summary_line(role, metrics[role]))
            print(_seen.split_line(role, metrics[role]))
    print(f"Best epoch {result.best_epoch} of {len(result.history)}; "
          f"{metrics['training_seconds']:.0f} s of training. Run written to {path}")
    return {"run_dir": str(path), "metrics": metrics, "history": result.history,
            "best_epoch": result.best_epoch}

