"""Bidirectional language model recipe: ELMo-style contextual features from unlabelled text.

    seqrecipes bilm train                                    # the embedded review texts
    seqrecipes bilm train --data corpus.txt --tokenizer whitespace --units 128
    seqrecipes ner train --bilm runs/bilm                    # use its features for NER

Reads a corpus (a text file with one text per line, or the text column of a CSV/TSV table),
splits each text into word tokens, builds the word vocabulary on the training texts only
(PAD 0, OOV 1; case kept, as NER needs it), and trains a forward and a backward word language
model together (`build_bilm`): the forward one predicts each next word, the backward one each
previous word from the reversed text. Each text starts from a zero state. A random
`--validation-fraction` of the texts (seeded) gives the validation loss that early stopping
watches (the sum of the two directions' mean cross-entropies) and the perplexities reported.

The run directory holds `model.keras` (the two language models), `vocabulary.json` (id i ->
token) and the usual files. `load_features(run_dir)` turns it into a frozen `BiLMFeatures`
layer and the token lookup that feeds it; `seqrecipes ner train --bilm RUN_DIR` concatenates
those features to the tagger's word features.

Tokens must be split the same way here and downstream: "words" (default) splits runs of
letters/digits from each punctuation mark, as CoNLL files are tokenised; "whitespace" keeps
whatever a pre-tokenised corpus has between spaces.
"""

import json
import math
import pathlib
import re
import time

import numpy as np

from seqrecipes import _validation
from seqrecipes.datasets import _files
from seqrecipes.errors import DataError, RunDirectoryError
from seqrecipes.models import wiring
from seqrecipes.recipes.engine import artifacts as _artifacts
from seqrecipes.recipes.engine import flags as _cli
from seqrecipes.recipes.engine import plots as _plots
from seqrecipes.recipes.engine import training as _training

RECIPE = "bilm"
TOKENIZERS = ("words", "whitespace")
TABLE_SUFFIXES = (".csv", ".tsv", ".tab")
VOCABULARY_FILE = "vocabulary.json"
_WORDS = re.compile(r"\w+|[^\w\s]")  # a run of letters/digits, or one punctuation mark


def tokenize(text, tokenizer="words"):
    """Splits a text into tokens.

    Example:

    >>> tokenize("Don't stop, U.N. said.")
    ['Don', "'", 't', 'stop', ',', 'U', '.', 'N', '.', 'said', '.']
    >>> tokenize("U.N. said .", "whitespace")
    ['U.N.', 'said', '.']
    """
    return _WORDS.findall(text) if tokenizer == "words" else text.split()


def read_texts(data=None, *, text_column=None):
    """The texts of a corpus: lines of a text file, or a column of a CSV/TSV table.

    Args:
        data: path or None. ``.csv`` / ``.tsv`` / ``.tab`` (``.gz`` allowed) is read as a table
            with a header; any other file is UTF-8 text with one text per line (blank lines
            separate nothing and are skipped; a table's empty texts are kept, and `run`
            counts them among the texts too short to predict anything). None reads the
            embedded English review sample.
        text_column: str or None. The table's text column (default: the first of "text",
            "document", "sentence", "review").

    Returns:
        `(path, texts)`.
    """
    from seqrecipes.datasets import sample_path
    from seqrecipes.datasets._table import read_frame
    from seqrecipes.datasets.tabular import TEXT_COLUMNS, pick_column
    from seqrecipes.datasets.text import load_text

    path = sample_path("sentiment_en") if data is None else data
    if _files.stripped_name(path).lower().endswith(TABLE_SUFFIXES):
        frame, _, path, _ = read_frame(path, min_columns=1)
        column = pick_column([str(name) for name in frame.columns], path, "text_column",
                             text_column, TEXT_COLUMNS)
        return str(path), [str(text) for text in frame[column].tolist()]  # blanks counted later
    _validation.check_conflict(
        text_column is not None,
        f"`text_column` names a column of a CSV/TSV table, but {str(path)!r} is read as plain "
        "text (one text per line). Leave `text_column` out, or give a .csv/.tsv file.",
    )
    return str(path), [line for line in load_text(path).split("\n") if line.strip()]


def split_texts(sentences, validation_fraction, seed):
    """(train, validation): a random `validation_fraction` of the token lists (seeded)."""
    held = int(math.ceil(validation_fraction * len(sentences)))
    order = np.random.default_rng(seed).permutation(len(sentences))
    held_out = set(order[:held].tolist())
    train = [s for i, s in enumerate(sentences) if i not in held_out]
    return train, [s for i, s in enumerate(sentences) if i in held_out]


def language_model_batches(ids, *, batch_size, shuffle, seed):
    """Batches for `build_bilm` from ragged ids: each text forwards and reversed, bucketed.

    The reversed ids travel as the pipeline's per-token "y" so that both are padded alike.
    """
    import tensorflow as tf

    from seqrecipes.datasets import bucketing

    lengths = ids.row_lengths().numpy()
    elements = {"token_ids": ids, "y": tf.reverse(ids, axis=[1])}

    def to_output(batch):
        forward, backward = batch["token_ids"], batch["y"]
        inputs = {"forward_ids": forward[:, :-1], "backward_ids": backward[:, :-1]}
        return inputs, {"forward": forward[:, 1:], "backward": backward[:, 1:]}

    boundaries = bucketing.resolve_boundaries(None, lengths, None, None, batch_size)
    return bucketing.bucketed_columns(
        elements, lengths=lengths, batch_size=batch_size, boundaries=boundaries,
        shuffle=shuffle, seed=seed if shuffle else None, max_length=None, min_length=2,
        per_token=True, to_output=to_output,
    )


def _check(settings):
    _validation.check_choice("tokenizer", settings["tokenizer"], TOKENIZERS)
    _validation.check_string("text_column", settings["text_column"], allow_none=True)
    _validation.check_positive_int("max_tokens", settings["max_tokens"], allow_none=True)
    _validation.check_fraction("validation_fraction", settings["validation_fraction"])
    _validation.check_conflict(
        settings["validation_fraction"] == 0,
        "`validation_fraction` must be above 0: early stopping needs validation texts. "
        "Received: validation_fraction=0.",
    )
    _validation.check_choice("cell", settings["cell"], wiring.CELLS)
    for name in ("min_frequency", "units", "num_layers", "max_length", "epochs", "batch_size",
                 "patience"):
        _validation.check_positive_int(name, settings[name])
    _validation.check_fraction("dropout", settings["dropout"])
    _validation.check_positive_float("learning_rate", settings["learning_rate"])
    _validation.check_positive_float("clipnorm", settings["clipnorm"], allow_none=True)
    _validation.check_seed("seed", settings["seed"])
    _validation.check_bool("overwrite", settings["overwrite"])
    _validation.check_non_negative_int("verbose", settings["verbose"])


@_training.releases_locks
def run(
    *,
    data=None,
    text_column=None,
    tokenizer="words",
    max_tokens=20000,
    min_frequency=1,
    max_length=100,
    validation_fraction=0.1,
    cell="lstm",
    units=128,
    num_layers=2,
    dropout=0.1,
    run_dir="runs/bilm",
    overwrite=False,
    epochs=10,
    batch_size=32,
    learning_rate=2e-3,
    clipnorm=5.0,
    patience=3,
    seed=1234,
    verbose=1,
):
    """Trains forward and backward word language models on a corpus; writes a run directory.

    Args:
        data: str, path or None. A text file (one text per line) or a CSV/TSV table; None
            uses the texts of the embedded English review sample.
        text_column: str or None. The text column of a table.
        tokenizer: str. "words" (letters/digits apart from punctuation) or "whitespace".
        max_tokens: int or None. Largest vocabulary, padding and OOV included.
        min_frequency: int. Rarer training words map to the OOV id.
        max_length: int. Tokens kept per text (its start); longer texts are cut.
        validation_fraction: float in (0, 1). Random share of the texts that validates.
        cell, units, num_layers, dropout: the language models, as in `build_bilm`.
        run_dir, overwrite, epochs, batch_size, learning_rate, clipnorm, patience, seed,
            verbose: training, as every recipe has them (`fit_resumable`).

    Returns:
        A dict: `run_dir`, `metrics` (as in `metrics.json`), `history`, `best_epoch`.
    """
    settings = dict(locals())
    import keras

    from seqrecipes.datasets import build_token_lookup, encode_tokens
    from seqrecipes.models.bilm import build_bilm

    _check(settings)
    config = {"recipe": RECIPE, **settings, "data": None if data is None else str(data)}
    state_dir = _training.prepare_run_dir(run_dir, config, overwrite=overwrite)

    # Data: token lists, cut to max_length; texts of fewer than 2 tokens predict nothing.
    path, texts = read_texts(data, text_column=text_column)
    tokenized = [tokenize(text, tokenizer) for text in texts]
    sentences = [tokens[:max_length] for tokens in tokenized]
    usable = [sentence for sentence in sentences if len(sentence) >= 2]
    train, validation = split_texts(usable, validation_fraction, seed)
    if not train or not validation:
        raise DataError(
            f"{path}: {len(usable)} texts of 2 tokens or more, too few for a training and a "
            f"validation part (validation_fraction={validation_fraction:g}). Give a larger "
            "corpus."
        )
    lookup = build_token_lookup(train, max_tokens=max_tokens, min_frequency=min_frequency)
    vocabulary = [str(token) for token in lookup.get_vocabulary()]
    train_data = language_model_batches(
        encode_tokens(train, lookup), batch_size=batch_size, shuffle=True, seed=seed
    )
    validation_data = language_model_batches(
        encode_tokens(validation, lookup), batch_size=batch_size, shuffle=False, seed=None
    )

    # Model: both directions at once; padding targets (id 0) are left out of the loss.
    keras.utils.set_random_seed(seed)
    model = build_bilm(len(vocabulary), cell=cell, units=units, num_layers=num_layers,
                       dropout=dropout)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)
    model.compile(optimizer=_training.adam(learning_rate, clipnorm=clipnorm),
                  loss={"forward": loss, "backward": loss})
    started = time.perf_counter()
    result = _training.fit_resumable(
        model, train_data, validation_data=validation_data, epochs=epochs,
        state_dir=state_dir, config=config, seed=seed, patience=patience, verbose=verbose,
    )
    seconds = time.perf_counter() - started

    evaluated = model.evaluate(validation_data, verbose=0, return_dict=True)
    train_tokens = sum(len(sentence) for sentence in train)
    known = set(vocabulary[2:])
    metrics = {
        "validation_loss": result.best_value,
        "validation_perplexity_forward": math.exp(evaluated["forward_loss"]),
        "validation_perplexity_backward": math.exp(evaluated["backward_loss"]),
        "best_epoch": result.best_epoch,
        "epochs_trained": len(result.history),
        "stopped_early": result.stopped_early,
        "training_seconds": seconds,
        "texts": {"train": len(train), "validation": len(validation),
                  "shorter_than_2_tokens": len(sentences) - len(usable),
                  "cut_to_max_length": sum(len(tokens) > max_length for tokens in tokenized)},
        "training_tokens": train_tokens,
        "vocabulary_size": len(vocabulary),
        "validation_unknown_tokens": int(sum(
            token not in known for sentence in validation for token in sentence
        )),
    }
    run_path = _artifacts.write_run(
        run_dir, model=model, config={**config, "data": path}, metrics=metrics,
        history=result.history,
        figures={"training_curves.png": _plots.training_curves(result.history, title=RECIPE)},
        files={VOCABULARY_FILE: vocabulary},
    )
    print(f"bilm: validation perplexity forward {metrics['validation_perplexity_forward']:.1f},"
          f" backward {metrics['validation_perplexity_backward']:.1f} (vocabulary "
          f"{len(vocabulary):,}, {train_tokens:,} training tokens, {seconds:.0f} s); run "
          f"written to {run_path}")
    return {"run_dir": str(run_path), "metrics": metrics, "history": result.history,
            "best_epoch": result.best_epoch}


train = run  # every recipe's training entry point is `train`; `run` is kept as its alias


def load_features(run_dir, *, name="bilm_features"):
    """A trained bilm run as `(BiLMFeatures layer, token StringLookup, run config)`.

    The lookup maps token strings to the ids the layer reads ("" -> 0, unknown -> 1).
    """
    import keras

    from seqrecipes.datasets.vocab import OOV_TOKEN, PAD_TOKEN
    from seqrecipes.models.bilm import BiLMFeatures

    loaded = _artifacts.load_run(run_dir)
    if loaded.config.get("recipe") != RECIPE:
        raise RunDirectoryError(
            f"{str(loaded.path)!r} holds a {loaded.config.get('recipe')!r} run, not a bilm "
            "one. Train one with `seqrecipes bilm train`."
        )
    vocabulary = json.loads((pathlib.Path(loaded.path) / VOCABULARY_FILE).read_text(encoding="utf-8"))
    lookup = keras.layers.StringLookup(
        vocabulary=vocabulary[2:], mask_token=PAD_TOKEN, oov_token=OOV_TOKEN, name="bilm_lookup"
    )
    return BiLMFeatures.from_bilm(loaded.model, name=name), lookup, loaded.config


def add_parser(subparsers):
    """Declares `seqrecipes bilm train`."""
    parser = subparsers.add_parser(
        "bilm", help="forward + backward language models for ELMo-style features",
        description=__doc__.split("\n\n")[0],
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    train = commands.add_parser("train", help="train on a corpus and write a run directory",
                                description=run.__doc__.split("\n\n")[0])
    group = train.add_argument_group("data and model")
    group.add_argument("--data", default=None,
                       help="text file (one text per line) or CSV/TSV table; default: the "
                       "embedded English reviews")
    group.add_argument("--text-column", default=None, help="a table's text column")
    group.add_argument("--tokenizer", default="words", choices=TOKENIZERS,
                       help="words: punctuation apart (as CoNLL); whitespace: pre-tokenised")
    group.add_argument("--max-tokens", type=int, default=20000,
                       help="largest vocabulary (padding and unknown included)")
    group.add_argument("--min-frequency", type=int, default=1,
                       help="rarer training words map to the unknown id")
    group.add_argument("--max-length", type=int, default=100, help="tokens kept per text")
    group.add_argument("--validation-fraction", type=float, default=0.1)
    group.add_argument("--cell", default="lstm", choices=wiring.CELLS)
    group.add_argument("--units", type=int, default=128,
                       help="embedding and recurrent width, each direction")
    group.add_argument("--num-layers", type=int, default=2, help="recurrent layers per direction")
    group.add_argument("--dropout", type=float, default=0.1,
                       help="dropout after each recurrent layer")
    _cli.add_training_flags(train, default_run_dir="runs/bilm", epochs=10, batch_size=32,
                            learning_rate=2e-3, backend=_cli.DEFAULT_BACKENDS["bilm"])
    train.set_defaults(clipnorm=5.0)
    _cli.bind(train, run)
    return parser
