"""Character language model recipe: learn a text one character at a time, then write like it.

    seqrecipes char-lm train                                     # the embedded play
    seqrecipes char-lm train --data input.txt --mode stateful    # truncated BPTT over streams
    seqrecipes char-lm sample runs/char-lm --prompt "ROMEO:" --temperature 0.8 --top-k 5
    seqrecipes char-lm export runs/char-lm served/ --format onnx     # one step, states in/out

The text is split in order (the first 90% trains, the last 10% validates, as char-rnn and
nanoGPT do on Tiny Shakespeare), the character vocabulary is built from the training part
only (PAD 0, OOV 1) and saved with the run (`vocabulary.json`), so `sample` needs nothing but
the run directory. Two training modes (`--mode`):

* "windows": shuffled windows of `--sequence-length` characters, each read from a zero state;
* "stateful": truncated back-propagation through time. The training text becomes
  `--batch-size` streams; batch k holds chunk k of every stream, each recurrent layer keeps
  its state from one chunk to the next (gradients stop at the chunk boundary) and the states
  are zeroed at the start of every epoch. The context then reaches back through the whole
  stream at the cost of one chunk of back-propagation.

Validation loss (nats per character, and bits = nats / ln 2) is computed after every epoch by
running the model's own cells with states passed explicitly (`run_recurrent`), so it never
disturbs a stateful model's training states: from a zero state at every chunk in "windows"
mode, with the state carried through the validation text in "stateful" mode. Both figures
are in `metrics.json` for the best epoch. The saved `model.keras` is never stateful (any
batch size).
"""

import dataclasses
import json
import math
import pathlib
import time

from seqrecipes import _validation
from seqrecipes.errors import DataError, InvalidArgumentError, RunDirectoryError
from seqrecipes.models import wiring
from seqrecipes.sampling import check_prompt
from seqrecipes.recipes.engine import artifacts as _artifacts
from seqrecipes.recipes.engine import flags as _cli
from seqrecipes.recipes.engine import plots as _plots
from seqrecipes.recipes.engine import training as _training

RECIPE = "char-lm"
MODES = ("windows", "stateful")
SCHEDULES = ("cosine", "constant")
VOCABULARY_FILE = "vocabulary.json"
LN2 = math.log(2.0)
FINAL_LEARNING_RATE = 0.1  # cosine decay ends at this fraction of --learning-rate
VALIDATION_STREAMS = 64  # validation runs this many streams side by side (fewer if short)


@dataclasses.dataclass
class CharLMResult:
    """What `run` produced."""

    run_dir: pathlib.Path
    metrics: dict
    history: list
    sample: str  # generated after training from `prompt`


def split_corpus(text, validation_fraction):
    """The first `1 - validation_fraction` of `text` trains, the rest validates (in order)."""
    cut = int(round(len(text) * (1.0 - validation_fraction)))
    return text[:cut], text[cut:]


def encode(text, lookup):
    """Character ids of `text` through the `StringLookup` `lookup` (unknown characters -> 1)."""
    import tensorflow as tf

    return lookup(tf.strings.unicode_split(text, "UTF-8")).numpy().astype("int32")


def _lookup(vocabulary):
    import keras

    from seqrecipes.datasets.vocab import OOV_ID, PAD_ID

    return keras.layers.StringLookup(
        vocabulary=vocabulary[2:], mask_token=vocabulary[PAD_ID], oov_token=vocabulary[OOV_ID]
    )


def _check(mode, cell, units, sizes, dropout, validation_fraction, schedule, flags):
    _validation.check_choice("mode", mode, MODES)
    _validation.check_choice("cell", cell, wiring.CELLS)
    _validation.check_positive_ints("units", units)
    for name, value in sizes.items():
        _validation.check_positive_int(name, value)
    _validation.check_fraction("dropout", dropout)
    _validation.check_fraction("validation_fraction", validation_fraction)
    _validation.check_conflict(
        validation_fraction == 0,
        "`validation_fraction` must be above 0: early stopping and the reported loss need "
        "validation text. Received: validation_fraction=0.",
    )
    _validation.check_choice("lr_schedule", schedule, SCHEDULES)
    _cli.check_training_arguments(**flags)


def _validation_loss_callback(ids, *, sequence_length, carry_state):
    """A callback adding `val_loss` (nats) and `val_bits_per_char` to every epoch's logs."""
    import keras


    class ValidationLoss(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            loss = validation_loss(self.model, ids, sequence_length, carry_state)
            logs["val_loss"] = loss
            logs["val_bits_per_char"] = loss / LN2

    return ValidationLoss()


def validation_loss(model, ids, sequence_length, carry_state):
    """Nats per character over the validation ids, in `VALIDATION_STREAMS` streams or fewer."""
    from seqrecipes.models.stepping import sequence_loss

    streams = max(1, min(VALIDATION_STREAMS, (len(ids) - 1) // sequence_length))
    return sequence_loss(
        model, ids, streams=streams, sequence_length=sequence_length, carry_state=carry_state
    )["loss"]


def _read_corpus(data, validation_fraction, sequence_length, mode, batch_size):
    from seqrecipes.datasets import load_text, sample_path

    path = sample_path("char_lm") if data is None else data
    text = load_text(path)
    train_text, validation_text = split_corpus(text, validation_fraction)
    streams = batch_size if mode == "stateful" else 1
    for part, part_text in (("training", train_text), ("validation", validation_text)):
        needed = (streams if part == "training" else 1) * sequence_length + 1
        if len(part_text) < needed:
            raise DataError(
                f"{path}: the {part} part has {len(part_text)} characters, fewer than the "
                f"{needed} one batch needs (sequence_length={sequence_length}"
                + (f", {streams} streams" if part == "training" and streams > 1 else "")
                + "). Use a longer text, a shorter `sequence_length`"
                + (", a smaller `batch_size`" if streams > 1 else "")
                + (" or a larger `validation_fraction`." if part == "validation" else ".")
            )
    return str(path), train_text, validation_text


@_training.releases_locks
def run(
    *,
    data=None,
    validation_fraction=0.1,
    mode="windows",
    cell="gru",
    units=(256, 256),
    embedding_dim=64,
    dropout=0.0,
    sequence_length=100,
    lr_schedule="cosine",
    prompt="\n",
    sample_length=300,
    temperature=0.8,
    top_k=None,
    run_dir="runs/char-lm",
    overwrite=False,
    epochs=20,
    # 16, not 64: the embedded play makes 15 batches an epoch instead of 4; with Adam's
    # normalised steps (LazyAdam) 64 stopped after 4 epochs at 5.10 bits per character, 16
    # reaches 2.48 in 20 epochs (README, "Character language model").
    batch_size=16,
    learning_rate=0.002,
    clipnorm=5.0,
    patience=3,
    seed=1234,
    verbose=1,
):
    """Trains a character language model on a text file and writes the run directory.

    Args:
        data: str, path or None. A UTF-8 text file; None uses the embedded sample
            (`sample_path("char_lm")`, a short play).
        validation_fraction: float in (0, 1). The last part of the text that validates.
        mode: str. "windows" (shuffled fixed windows from a zero state) or "stateful"
            (truncated BPTT, the state carried across consecutive chunks of each stream).
        cell, units, embedding_dim, dropout: the model, as in `build_language_model`.
        sequence_length: int. Characters per window (per chunk in "stateful" mode): the
            length gradients flow back through.
        lr_schedule: str. "cosine" (decay to a tenth of `learning_rate` over `epochs`) or
            "constant".
        prompt, sample_length, temperature, top_k: the sample written after training
            (`sample.txt`), as in `sample`.
        run_dir, overwrite, epochs, batch_size, learning_rate, clipnorm, patience, seed,
            verbose: training, as every recipe has them (`fit_resumable`). In "stateful"
            mode `batch_size` is the number of streams.

    Returns:
        A `CharLMResult`.
    """
    import keras
    import tensorflow as tf

    from seqrecipes.datasets import build_char_lookup, language_model_dataset
    from seqrecipes.datasets.vocab import OOV_ID
    from seqrecipes.models.language import StatefulResets, build_language_model

    sizes = {"embedding_dim": embedding_dim, "sequence_length": sequence_length,
             "sample_length": sample_length}
    flags = {"overwrite": overwrite, "epochs": epochs, "batch_size": batch_size,
             "learning_rate": learning_rate, "clipnorm": clipnorm, "patience": patience,
             "seed": seed, "verbose": verbose}
    _check(mode, cell, units, sizes, dropout, validation_fraction, lr_schedule, flags)
    units = _validation.check_positive_ints("units", units)
    _validation.check_positive_float("temperature", temperature)
    _validation.check_positive_int("top_k", top_k, allow_none=True)
    config = {
        "recipe": RECIPE, "data": None if data is None else str(data),
        "validation_fraction": validation_fraction, "mode": mode, "cell": cell,
        "units": list(units), "embedding_dim": embedding_dim, "dropout": dropout,
        "sequence_length": sequence_length, "lr_schedule": lr_schedule, "epochs": epochs,
        "batch_size": batch_size, "learning_rate": learning_rate, "clipnorm": clipnorm,
        "patience": patience, "seed": seed, "verbose": verbose, "overwrite": overwrite,
    }
    # The cosine schedule decays over `epochs`: resuming with another number would splice two
    # schedules, so `epochs` may change on resumption only with a constant rate.
    resumable = _training.RESUMABLE_DIFFERENCES - (
        {"epochs"} if lr_schedule == "cosine" else set()
    )
    state_dir = _training.prepare_run_dir(
        run_dir, config, overwrite=overwrite, resumable=resumable
    )

    # Data: the vocabulary comes from the training part only; unknown characters map to 1.
    path, train_text, validation_text = _read_corpus(
        data, validation_fraction, sequence_length, mode, batch_size
    )
    lookup = build_char_lookup([train_text])
    vocabulary = [str(char) for char in lookup.get_vocabulary()]
    check_prompt(prompt, vocabulary)
    train_ids, validation_ids = encode(train_text, lookup), encode(validation_text, lookup)
    stateful = mode == "stateful"
    train_data = language_model_dataset(
        train_ids, sequence_length=sequence_length, batch_size=batch_size,
        shuffle=not stateful, seed=None if stateful else seed, stateful=stateful,
    )
    if stateful:  # as `language_model_dataset` lays the text out
        steps_per_epoch = (len(train_ids) - 1) // batch_size // sequence_length
    else:
        steps_per_epoch = math.ceil((len(train_ids) - 1) // sequence_length / batch_size)
        # The per-epoch shuffle hides the length from tf.data; Keras's progress bar needs it.
        train_data = train_data.apply(tf.data.experimental.assert_cardinality(steps_per_epoch))

    # Model: stateful in "stateful" mode (a fixed batch of streams), logits at every step.
    keras.utils.set_random_seed(seed)
    architecture = dict(cell=cell, units=units, embedding_dim=embedding_dim, dropout=dropout)
    model = build_language_model(
        len(vocabulary), stateful=stateful, batch_size=batch_size if stateful else None,
        **architecture,
    )
    schedule = learning_rate
    if lr_schedule == "cosine":
        schedule = keras.optimizers.schedules.CosineDecay(
            learning_rate, decay_steps=epochs * steps_per_epoch, alpha=FINAL_LEARNING_RATE
        )
    model.compile(
        optimizer=_training.adam(schedule, clipnorm=clipnorm),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    callbacks = [_validation_loss_callback(validation_ids, sequence_length=sequence_length,
                                 carry_state=stateful)]
    if stateful:
        callbacks.insert(0, StatefulResets())
    started = time.perf_counter()
    result = _training.fit_resumable(
        model, train_data, validation_data=None, epochs=epochs, state_dir=state_dir,
        config=config, seed=seed, patience=patience, callbacks=callbacks, verbose=verbose,
    )
    seconds = time.perf_counter() - started

    # The saved model is never stateful: the same weights in a model for any batch size.
    saved = build_language_model(len(vocabulary), **architecture)
    saved.set_weights(model.get_weights())
    window = validation_loss(saved, validation_ids, sequence_length, carry_state=False)
    carried = validation_loss(saved, validation_ids, sequence_length, carry_state=True)
    best = result.history[result.best_epoch - 1]
    metrics = {
        "validation_loss": result.best_value,
        "validation_bits_per_char": result.best_value / LN2,
        "validation_perplexity": math.exp(result.best_value),
        "validation_context": "carried state" if stateful else f"windows of {sequence_length}",
        "validation_loss_windows": window,
        "validation_loss_carried_state": carried,
        "train_loss": best["loss"],
        "best_epoch": result.best_epoch,
        "epochs_trained": len(result.history),
        "stopped_early": result.stopped_early,
        "training_seconds": seconds,
        "training_characters": len(train_text),
        "validation_characters": len(validation_text),
        "validation_unknown_characters": int((validation_ids == OOV_ID).sum()),
        "vocabulary_size": len(vocabulary),
    }
    generated = _generate(saved, vocabulary, prompt, sample_length, temperature, top_k, seed)
    run_path = _artifacts.write_run(
        run_dir, model=saved, config={**config, "data": path}, metrics=metrics,
        history=result.history,
        figures={"training_curves.png": _plots.training_curves(result.history, title=RECIPE)},
        files={VOCABULARY_FILE: vocabulary, "sample.txt": prompt + generated + "\n"},
    )
    print(f"validation loss {metrics['validation_loss']:.4f} nats/char "
          f"({metrics['validation_bits_per_char']:.4f} bits/char, "
          f"{metrics['validation_context']}); run written to {run_path}")
    print(prompt + generated)
    return CharLMResult(run_path, metrics, result.history, generated)


train = run  # every recipe's training entry point is `train`; `run` is kept as its alias


def _generate(model, vocabulary, prompt, length, temperature, top_k, seed):
    from seqrecipes.datasets.vocab import OOV_ID, PAD_ID
    from seqrecipes.models.stepping import sample_ids

    ids = [vocabulary.index(char) for char in prompt]
    generated = sample_ids(
        model, ids, length=length, temperature=temperature, top_k=top_k,
        forbidden=(PAD_ID, OOV_ID), seed=seed,
    )
    return "".join(vocabulary[token] for token in generated)


def load_vocabulary(run):
    """Returns the character vocabulary saved with a loaded char-lm run (id i -> character)."""
    if run.config.get("recipe") != RECIPE:
        raise RunDirectoryError(
            f"{str(run.path)!r} holds a {run.config.get('recipe')!r} run, not a char-lm one."
        )
    return json.loads((run.path / VOCABULARY_FILE).read_text(encoding="utf-8"))


def sample(run_dir, *, prompt="\n", length=500, temperature=1.0, top_k=None, seed=None):
    """Generates text from a trained char-lm run, character by character.

    Args:
        run_dir: path of a run directory written by `run`.
        prompt: str. Text to start from (every character must be in the vocabulary).
        length: int. Characters to generate after the prompt. Defaults to 500.
        temperature: float > 0. Below 1 picks likelier characters, above 1 takes risks.
        top_k: int or None. Sample only among the `top_k` likeliest characters.
        seed: int or None. The same seed gives the same text.

    Returns:
        The generated text (without the prompt), a str.
    """
    _validation.check_positive_int("length", length)
    _validation.check_positive_float("temperature", temperature)
    _validation.check_positive_int("top_k", top_k, allow_none=True)
    if seed is not None:
        _validation.check_seed("seed", seed)
    loaded = _artifacts.load_run(run_dir)
    vocabulary = load_vocabulary(loaded)
    check_prompt(prompt, vocabulary)
    return _generate(loaded.model, vocabulary, prompt, length, temperature, top_k, seed)


def export(run_dir, export_dir, *, overwrite=False, format="savedmodel"):
    """Exports one step of the run's model, its states as inputs and outputs.

    Generation feeds one character at a time and carries the recurrent states, so what is
    exported, in every format, is the step model (`stepping.build_step_model`): inputs
    `token_ids` int32 `(batch, 1)` and one float32 `(batch, units)` input per state
    (`gru_1_h`, `lstm_1_h`, `lstm_1_c`, ...: `state_names` in `seqrecipes.json` or the
    SavedModel's signature), outputs `[logits (batch, vocabulary_size), the new states in
    the same order]`. The full model would restart from a zero state on every call, so
    generating n characters from it would cost n^2 steps; the step model costs n. Measured
    with TF 2.21: a recurrent layer over a free number of steps does not convert to LiteRT
    without TensorFlow list operations, one unrolled step does.

    "savedmodel" writes a TensorFlow SavedModel of the step model, with
    `assets.extra/seqrecipes.json` (the vocabulary and state names); "onnx" and "litert"
    write `model.onnx` or `model.tflite` and `seqrecipes.json`, served by
    `seqrecipes.portable.load(DIR)` (`step`, `sample`) without TensorFlow.

    Args:
        run_dir: path of a run directory written by `run`.
        export_dir: str or path-like. A new or empty directory, or an export to replace
            with `overwrite=True`.
        overwrite: bool. Replace an export already in `export_dir`.
        format: str. "savedmodel", "onnx" or "litert". Defaults to "savedmodel".

    Returns:
        The `pathlib.Path` written.
    """
    from seqrecipes.models.stepping import build_step_model, state_names
    from seqrecipes.recipes.engine import portable_export

    _validation.check_bool("overwrite", overwrite)
    portable_export.check_format(format)
    loaded = _artifacts.load_run(run_dir)
    vocabulary = load_vocabulary(loaded)
    step = build_step_model(loaded.model)
    description = {
        "recipe": RECIPE, "format": format, "vocabulary": vocabulary,
        "state_names": [name.replace("/", "_") for name in state_names(loaded.model)],
        "outputs_order": ["logits"] + [name.replace("/", "_")
                                       for name in state_names(loaded.model)],
    }
    if format == "savedmodel":
        def describe(staging):  # where a SavedModel keeps files of its own (as sentiment)
            extra = pathlib.Path(staging, "assets.extra")
            extra.mkdir(exist_ok=True)
            portable_export.write_description(extra, description)

        path = _artifacts.export_saved_model(step, export_dir, overwrite=overwrite,
                                             describe=describe)
    else:
        import tensorflow as tf

        signature = [[tf.TensorSpec(tensor.shape, tensor.dtype, name=tensor.name)
                      for tensor in step.inputs]]

        def fill(staging):
            graph = portable_export.export_graph(step, staging, format,
                                                 input_signature=signature)
            portable_export.write_description(staging, {**description, "graph": graph.name})

        path = _artifacts.write_export(export_dir, fill, overwrite=overwrite)
    print(f"{format} export of one step written to {path}: token_ids (batch, 1) and states "
          f"{description['state_names']} -> logits (batch, {len(vocabulary)}) and the new "
          "states")
    return path


def add_parser(subparsers):
    """Declares `seqrecipes char-lm train | sample | export`."""
    parser = subparsers.add_parser(
        "char-lm", help="character language model: train on a text, sample from it",
        description=__doc__.split("\n\n")[0],
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    train = commands.add_parser("train", help="train on a text file",
                                description=run.__doc__.split("\n\n")[0])
    group = train.add_argument_group("data and model")
    group.add_argument("--data", default=None,
                       help="UTF-8 text file (default: the embedded sample play)")
    group.add_argument("--validation-fraction", type=float, default=0.1,
                       help="the last part of the text that validates")
    group.add_argument("--mode", default="windows", choices=MODES,
                       help="fixed windows, or stateful truncated BPTT over streams")
    group.add_argument("--cell", default="gru", choices=wiring.CELLS)
    group.add_argument("--units", type=int, nargs="+", default=[256, 256],
                       help="one recurrent layer per value")
    group.add_argument("--embedding-dim", type=int, default=64)
    group.add_argument("--dropout", type=float, default=0.0,
                       help="dropout after each recurrent layer")
    group.add_argument("--sequence-length", type=int, default=100,
                       help="characters per window / per truncated-BPTT chunk")
    group.add_argument("--lr-schedule", default="cosine", choices=SCHEDULES)
    group.add_argument("--prompt", default="\n",
                       help="start of the sample written after training (default: %(default)r)")
    group.add_argument("--sample-length", type=int, default=300)
    group.add_argument("--temperature", type=float, default=0.8)
    group.add_argument("--top-k", type=int, default=None, help="sample among the k likeliest")
    _cli.add_training_flags(train, default_run_dir="runs/char-lm", epochs=20, batch_size=16,
                            learning_rate=0.002, backend=_cli.DEFAULT_BACKENDS["char-lm"])
    train.set_defaults(clipnorm=5.0)

    _cli.bind(train, run)

    generate = commands.add_parser("sample", help="generate text from a trained run",
                                   description=sample.__doc__.split("\n\n")[0])
    _cli.add_run_dir_argument(generate)
    generate.add_argument("--prompt", default="\n",
                          help="text to start from (default: %(default)r); in bash, "
                               "$'ROMEO:\\n' puts a line break in it")
    generate.add_argument("--length", type=int, default=500, help="characters to generate")
    generate.add_argument("--temperature", type=float, default=1.0,
                          help="below 1: likelier characters; above 1: more surprise")
    generate.add_argument("--top-k", type=int, default=None,
                          help="sample only among the k likeliest characters")
    generate.add_argument("--seed", type=int, default=None, help="same seed, same text")

    def sample_handler(args):
        kwargs = _cli.keyword_arguments(args)
        print(kwargs["prompt"] + sample(kwargs.pop("run_dir"), **kwargs))
        return 0

    generate.set_defaults(func=sample_handler)

    exporter = commands.add_parser(
        "export", help="write one step of the model (states in and out) for serving",
        description=export.__doc__.split("\n\n")[0])
    _cli.add_export_arguments(exporter)
    _cli.bind(exporter, export)
    return parser
