"""`seqrecipes ner evaluate | predict | export`: what a NER run directory is used for.

All three need only the run directory: its `model.keras` takes token strings and returns tag
names and per-token confidences (`seqrecipes.recipes.ner.tagger`).
"""

from seqrecipes import _validation
from seqrecipes.errors import InvalidArgumentError, RunDirectoryError
from seqrecipes.recipes.ner import documents as _ner_context
from seqrecipes.recipes.ner import data as _ner_data
from seqrecipes.recipes.engine.artifacts import export_saved_model, load_run

RECIPE = "ner"
DEFAULT_RUN_DIR = "runs/ner"  # where `train` writes when no --run-dir is given


def load(run_dir):
    """The run directory's NER model and settings, refused when it is another recipe's run."""
    loaded = load_run(run_dir)
    if loaded.config.get("recipe") != RECIPE:
        raise RunDirectoryError(
            f"{str(run_dir)!r} holds a {loaded.config.get('recipe')!r} run, not a NER run. "
            "Give a directory written by `seqrecipes ner train`."
        )
    return loaded


def evaluate(run_dir, data=None, *, token_column=None, tag_column=None, scheme=None,
             delimiter=None, invalid=None, batch_size=64):
    """Scores a trained run on a CoNLL file: seqeval entity precision, recall and F1.

    Args:
        run_dir: path of a run directory written by `run`.
        data: str or None. A CoNLL file; None: the run's test file (the embedded sample's
            test file for a run trained on the sample).
        token_column, tag_column, scheme, delimiter, invalid: how `data` is read (see
            `train`); None: the run's own settings.
        batch_size: int. Sentences per prediction batch.

    Returns:
        The `entity_metrics` dict (micro and per-type scores and the report).

    Raises:
        DataError: a malformed file, or a tag the model was not trained on (with file:line).
    """
    from seqrecipes.recipes.ner.entities import entity_metrics, summary_line
    from seqrecipes.recipes.ner.tagger import tag_sentences

    _validation.check_positive_int("batch_size", batch_size)
    _validation.check_choice("scheme", scheme, (None, *_ner_data.SCHEMES))
    _validation.check_choice("invalid", invalid, (None, *_ner_data.INVALID))
    _validation.check_string("delimiter", delimiter, allow_none=True)
    loaded = load(run_dir)
    config = loaded.config
    if data is None:
        if config.get("test") is None and config.get("train") is not None:
            _validation.check_conflict(
                True, f"The run in {str(run_dir)!r} was trained without a test file; pass "
                "a CoNLL file as `data`.",
            )
        data = config.get("test") or _ner_data.sample_path(_ner_data.SAMPLES["test"])
    _validation.check_existing_file("data", data)
    given = {"token_column": token_column, "tag_column": tag_column, "scheme": scheme,
             "delimiter": delimiter, "invalid": invalid}
    run_settings = {"delimiter": None, "invalid": "error", **config}  # older runs lack some
    sentences = _ner_data.read(data, **{
        name: run_settings[name] if value is None else value for name, value in given.items()
    })
    _ner_data.check_evaluation_tags(sentences, config["tags"], "evaluation")
    chunks = _ner_context.pack(sentences.tokens, None, _ner_context.documents_of(sentences),
                               context_tokens=config.get("context_tokens", 0))
    predicted, _ = tag_sentences(loaded.model, chunks.tokens, batch_size=batch_size)
    predicted = chunks.split(predicted)
    scores = entity_metrics(sentences.tags, predicted)
    print(summary_line(str(data), scores))
    print(scores["report"])
    return scores


def prepare_sentences(sentences, tokenized):
    """(tokens, text, offsets) per input: raw strings split on whitespace, or token lists."""
    from seqrecipes.recipes.ner.entities import token_offsets

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


def predict(run_dir, sentences, *, tokenized=False, batch_size=64):
    """Tags sentences and returns their entities with character offsets and confidences.

    Args:
        run_dir: path of a run directory written by `run`.
        sentences: list of str (tokenised on whitespace; offsets refer to the string) or of
            token lists (offsets refer to the tokens joined by single spaces).
        tokenized: bool. Every item is a token list (a check; lists are recognised anyway).
        batch_size: int. Sentences per prediction batch.

    Returns:
        One dict per sentence, in order: `text`, `tokens`, `tags`, `confidences` (the
        probability of each token's tag: CRF marginal, or softmax) and `entities` (see
        `seqrecipes.recipes.ner.entities.entity_spans`: type, text, tokens, token and character
        offsets, and the smallest token confidence of the span).
    """
    from seqrecipes.recipes.ner.entities import entity_spans
    from seqrecipes.recipes.ner.tagger import tag_sentences

    _validation.check_positive_int("batch_size", batch_size)
    _validation.check_bool("tokenized", tokenized)
    if isinstance(sentences, str):
        sentences = [sentences]
    prepared = prepare_sentences(sentences, tokenized)
    loaded = load(run_dir)
    tags, confidences = tag_sentences(
        loaded.model, [tokens for tokens, _, _ in prepared], batch_size=batch_size
    )
    results = []
    for (tokens, text, offsets), row_tags, row_scores in zip(prepared, tags, confidences):
        entities = entity_spans(tokens, row_tags, row_scores, offsets)
        for entity in entities:
            entity["text"] = text[entity["start"] : entity["end"]]
        results.append({
            "text": text, "tokens": tokens, "tags": row_tags,
            "confidences": [round(score, 6) for score in row_scores], "entities": entities,
        })
    return results


def export(run_dir, export_dir, *, overwrite=False):
    """Exports the run's model as a TensorFlow SavedModel for serving.

    The SavedModel's `serve` function takes a string tensor `[batch, words]` of tokens padded
    with "" on the right and returns `{"tags": string [batch, words], "confidences": float32
    [batch, words]}` ("" and 0 at padding).

    Args:
        run_dir: path of a run directory written by `train`.
        export_dir: str or path-like. The SavedModel directory: new or empty, or holding a
            SavedModel to replace with `overwrite=True` (`export_saved_model`).
        overwrite: bool. Replace a SavedModel already in `export_dir`.

    Returns:
        The `pathlib.Path` written.
    """
    _validation.check_bool("overwrite", overwrite)
    loaded = load(run_dir)
    path = export_saved_model(loaded.model, export_dir, overwrite=overwrite)
    print(f"SavedModel written to {path}: serve(tokens: string [batch, words], padded with "
          '"") -> {"tags": string [batch, words], "confidences": float32 [batch, words]}')
    return path
