"""`seqrecipes ner evaluate | predict | export`: what a NER run directory is used for.

All three need only the run directory: its `model.keras` takes token strings and returns tag
names and per-token confidences (`seqrecipes.recipes.ner.tagger`).
"""

from seqrecipes import _validation
from seqrecipes.errors import RunDirectoryError
from seqrecipes.portable import ner_spans as _spans
from seqrecipes.recipes.ner import documents as _ner_context
from seqrecipes.recipes.ner import data as _ner_data
from seqrecipes.recipes.engine import artifacts as _artifacts
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

    The scores are also given for the entities seen and unseen in training (the same token
    sequence annotated as an entity of any type in the training sentences, case kept; see
    `seqrecipes.recipes.ner.seen`), from the training entities the run directory holds.

    Args:
        run_dir: path of a run directory written by `run`.
        data: str or None. A CoNLL file; None: the run's test file (the embedded sample's
            test file for a run trained on the sample).
        token_column, tag_column, scheme, delimiter, invalid: how `data` is read (see
            `train`); None: the run's own settings.
        batch_size: int. Sentences per prediction batch.

    Returns:
        The `entity_metrics` dict (micro and per-type scores and the report), plus `seen`
        and `unseen`: the same scores of each group (`seen_unseen_metrics`), both None for
        a run trained before runs stored their training entities (a note says so).

    Raises:
        DataError: a malformed file, or a tag the model was not trained on (with file:line).
    """
    from seqrecipes.recipes.ner import seen as _seen
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
    scores.update(_seen.seen_unseen_metrics(sentences.tokens, sentences.tags, predicted,
                                            _seen.read_forms(loaded)))
    print(summary_line(str(data), scores))
    print(_seen.split_line(str(data), scores))
    print(scores["report"])
    return scores


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
        `seqrecipes.portable.ner_spans.entity_spans`: type, text, tokens, token and character
        offsets, and the smallest token confidence of the span).
    """
    from seqrecipes.recipes.ner.tagger import tag_sentences

    _validation.check_positive_int("batch_size", batch_size)
    _validation.check_bool("tokenized", tokenized)
    if isinstance(sentences, str):
        sentences = [sentences]
    prepared = _spans.prepare_sentences(sentences, tokenized)
    loaded = load(run_dir)
    tags, confidences = tag_sentences(
        loaded.model, [tokens for tokens, _, _ in prepared], batch_size=batch_size
    )
    return _spans.tagged_sentences(prepared, tags, confidences)


def export(run_dir, export_dir, *, overwrite=False, format="savedmodel"):
    """Exports the run's model for serving: a SavedModel, or an ONNX or LiteRT graph.

    "savedmodel": the SavedModel's `serve` function takes a string tensor `[batch, words]` of
    tokens padded with "" on the right and returns `{"tags": string [batch, words],
    "confidences": float32 [batch, words]}` ("" and 0 at padding).

    "onnx", "litert": ONNX and LiteRT have no string operations and the CRF's Viterbi loop
    does not convert (tf2onnx fails on its while-loop output; LiteRT needs the Flex delegate,
    which ai-edge-litert lacks), so the graph is the tagger up to its emission scores (CRF)
    or probabilities (softmax), over `token_ids` `[batch, words]` and, with character
    features, `char_ids` `[batch, words, chars]` (with `bilm` features, `bilm_ids`).
    `seqrecipes.json` beside it holds the word, character (and bilm) vocabularies, the
    lower-casing, the tag names and the CRF's transition, start and end scores;
    `seqrecipes.portable.load(DIR).predict(sentences)` gives what `predict` gives, with NumPy
    and onnxruntime or ai-edge-litert only. The LiteRT graph
    takes one sentence at a time: with a free batch its recurrent layers keep TensorFlow list
    operations (Flex) that LiteRT's own operations cannot replace.

    Args:
        run_dir: path of a run directory written by `train`.
        export_dir: str or path-like. The export directory: new or empty, or holding an
            export to replace with `overwrite=True` (`artifacts.write_export`).
        overwrite: bool. Replace an export already in `export_dir`.
        format: str. "savedmodel", "onnx" or "litert". Defaults to "savedmodel".

    Returns:
        The `pathlib.Path` written.

    Raises:
        InvalidArgumentError: a format this tagger cannot take (with the reason): LiteRT
            for character BiLSTM features.
    """
    from seqrecipes.recipes.engine import portable_export

    _validation.check_bool("overwrite", overwrite)
    _validation.check_choice("format", format, portable_export.FORMATS)
    loaded = load(run_dir)
    if format == "savedmodel":
        path = export_saved_model(loaded.model, export_dir, overwrite=overwrite)
        print(f"SavedModel written to {path}: serve(tokens: string [batch, words], padded "
              'with "") -> {"tags": string [batch, words], "confidences": float32 '
              "[batch, words]}")
        return path
    from seqrecipes.recipes.ner.tagger import ids_signature, portable_parts

    scores, description, refused = portable_parts(loaded.model)
    portable_export.check_format(format, refused=refused)

    def fill(staging):
        graph = portable_export.export_graph(
            scores, staging, format,
            input_signature=ids_signature(scores, batch_size=1 if format == "litert" else None),
        )
        portable_export.write_description(staging, {
            "recipe": RECIPE, "format": format, "graph": graph.name,
            "context_tokens": loaded.config.get("context_tokens", 0), **description,
        })

    path = _artifacts.write_export(export_dir, fill, overwrite=overwrite)
    print(f"{format} export written to {path}: {description['decoder']} tagger over "
          f"{sorted(scores.input)}; serve it with seqrecipes.portable.load({str(path)!r})")
    return path
