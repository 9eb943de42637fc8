"""Seq2seq recipe: an encoder-decoder learns a generated string task, decoded greedily.

    seqrecipes seq2seq train --task reverse                 # "4071" -> "1704"
    seqrecipes seq2seq train --task addition --units 128    # "123+45" -> "168"
    seqrecipes seq2seq train --task dates --bidirectional --encoder-layers 2
    seqrecipes seq2seq predict runs/seq2seq 4071 123        # no SOURCE: standard input

The encoder's final `return_state` states initialise the decoder (`build_seq2seq`); training
uses teacher forcing; the test split, whose sources never occur in training, is decoded
greedily step by step and scored by exact match. The run directory holds the
teacher-forcing model (`model.keras`; `seqrecipes.models.inference_models` rewires it for
decoding), `predictions.tsv` and `accuracy.png` (exact match by input length, token accuracy
by output position) beside the usual files.
"""

import dataclasses
import pathlib

from seqrecipes import _validation
from seqrecipes.datasets import seq2seq_tasks
from seqrecipes.errors import RunDirectoryError
from seqrecipes.models import wiring
from seqrecipes.recipes.engine import artifacts as _artifacts
from seqrecipes.recipes.engine import flags as _cli
from seqrecipes.recipes.engine import plots as _plots
from seqrecipes.recipes.engine import training as _training

RECIPE = "seq2seq"


@dataclasses.dataclass
class Seq2seqResult:
    """What `run` produced."""

    run_dir: pathlib.Path
    metrics: dict
    history: list
    examples: list  # (source, target, prediction) of the first test examples


def _check(task, cell, units, encoder_layers, bidirectional, embedding_dim, dropout, sizes,
           overwrite, epochs, batch_size, learning_rate, clipnorm, patience, seed, verbose):
    _validation.check_choice("task", task, seq2seq_tasks.TASKS)
    _validation.check_choice("cell", cell, wiring.CELLS)
    for name, value in (("units", units), ("encoder_layers", encoder_layers),
                        ("embedding_dim", embedding_dim), *sizes.items()):
        _validation.check_positive_int(name, value)
    _validation.check_bool("bidirectional", bidirectional)
    _validation.check_fraction("dropout", dropout)
    _cli.check_training_arguments(
        overwrite=overwrite, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
        clipnorm=clipnorm, patience=patience, seed=seed, verbose=verbose,
    )


def _arrays(table, pairs, target_length):
    from seqrecipes.recipes.engine import decoding as _decoding

    sources = [source for source, _ in pairs]
    targets = [target for _, target in pairs]
    decoder_input, decoder_target = _decoding.teacher_forcing(table, targets, target_length)
    return (table.encode(sources), decoder_input), decoder_target


@_training.releases_locks
def run(
    *,
    task="reverse",
    max_digits=None,
    cell="lstm",
    units=128,
    encoder_layers=1,
    bidirectional=False,
    embedding_dim=32,
    dropout=0.0,
    train_size=20000,
    validation_size=1000,
    test_size=1000,
    run_dir="runs/seq2seq",
    overwrite=False,
    epochs=30,
    batch_size=64,
    learning_rate=0.003,
    clipnorm=None,
    patience=3,
    seed=1234,
    verbose=1,
):
    """Generates `task`, trains an encoder-decoder on it and writes the run directory.

    Args:
        task: str. "reverse", "addition" or "dates" (see `seqrecipes.datasets.seq2seq_tasks`).
        max_digits: int or None. Longest string (reverse) or number (addition); None for the
            task's default (8 and 3); leave it None for "dates".
        cell, units, encoder_layers, bidirectional, embedding_dim, dropout: the model, as in
            `build_seq2seq` (a bidirectional encoder gives a decoder of `2 * units`).
        train_size, validation_size, test_size: int. Distinct generated examples per split.
        run_dir, overwrite, epochs, batch_size, learning_rate, clipnorm, patience, seed,
            verbose: training, as every recipe has them (`fit_resumable`).

    Returns:
        A `Seq2seqResult`.
    """
    import keras

    from seqrecipes.models.seq2seq import build_seq2seq
    from seqrecipes.recipes.engine import decoding as _decoding

    sizes = {"train_size": train_size, "validation_size": validation_size,
             "test_size": test_size}
    _check(task, cell, units, encoder_layers, bidirectional, embedding_dim, dropout, sizes,
           overwrite, epochs, batch_size, learning_rate, clipnorm, patience, seed, verbose)
    max_digits = seq2seq_tasks.check_max_digits(task, max_digits)
    config = {
        "recipe": RECIPE, "task": task, "max_digits": max_digits, "cell": cell, "units": units,
        "encoder_layers": encoder_layers, "bidirectional": bidirectional,
        "embedding_dim": embedding_dim, "dropout": dropout, "train_size": train_size,
        "validation_size": validation_size, "test_size": test_size, "epochs": epochs,
        "batch_size": batch_size, "learning_rate": learning_rate, "clipnorm": clipnorm,
        "patience": patience, "seed": seed, "verbose": verbose, "overwrite": overwrite,
        "alphabet": seq2seq_tasks.task_alphabet(task),
    }
    state_dir = _training.prepare_run_dir(run_dir, config, overwrite=overwrite)

    # Data: distinct generated pairs, as token ids (0 padding, 1 start, 2 end, characters).
    splits = seq2seq_tasks.generate_splits(
        task, max_digits=max_digits, train_size=train_size, validation_size=validation_size,
        test_size=test_size, seed=seed,
    )
    table = seq2seq_tasks.CharacterTable(config["alphabet"])
    target_length = seq2seq_tasks.max_target_length(task, max_digits) + 1  # + the end token
    train_inputs, train_target = _arrays(table, splits.train, target_length)
    validation_inputs, validation_target = _arrays(table, splits.validation, target_length)
    test_inputs, test_target = _arrays(table, splits.test, target_length)

    # Model and training (teacher forcing).
    keras.utils.set_random_seed(seed)
    model = build_seq2seq(
        table.size, table.size, cell=cell, units=units, encoder_layers=encoder_layers,
        bidirectional=bidirectional, embedding_dim=embedding_dim, dropout=dropout,
    )
    _decoding.compile_decoder(model, learning_rate=learning_rate, clipnorm=clipnorm)
    exact_match = _decoding.ValidationExactMatch(
        table, validation_inputs[0], [target for _, target in splits.validation],
        max_length=target_length,
    )
    result = _training.fit_resumable(
        model,
        _decoding.training_batches(train_inputs, train_target, batch_size=batch_size,
                                   seed=seed),
        validation_data=_decoding.evaluation_batches(
            validation_inputs, validation_target, batch_size=batch_size
        ),
        epochs=epochs, state_dir=state_dir, config=config, seed=seed,
        monitor=_decoding.MONITOR, mode="max", patience=patience, callbacks=[exact_match],
        verbose=verbose,
    )

    # Evaluation: teacher-forced loss and accuracy, then greedy decoding of the test split.
    forced = model.evaluate(
        _decoding.evaluation_batches(test_inputs, test_target, batch_size=batch_size),
        verbose=0, return_dict=True,
    )
    sources = [source for source, _ in splits.test]
    targets = [target for _, target in splits.test]
    evaluation = _decoding.evaluate_greedy(
        model, table, test_inputs[0], targets, max_length=target_length,
        lengths=[len(source) for source in sources],
    )
    metrics = {
        **evaluation.metrics,
        "teacher_forced_token_accuracy": forced["accuracy"],
        "test_loss": forced["loss"],
        "best_epoch": result.best_epoch,
        "epochs_trained": len(result.history),
        "stopped_early": result.stopped_early,
    }
    path = _artifacts.write_run(
        run_dir, model=model, config=config, metrics=metrics, history=result.history,
        figures={
            "training_curves.png": _plots.training_curves(result.history, title="seq2seq"),
            "accuracy.png": _decoding.accuracy_figure(
                metrics, length_label="source length (characters)", title=f"seq2seq {task}"
            ),
        },
        files={"predictions.tsv": _decoding.predictions_table({
            "source": sources, "target": targets, "prediction": evaluation.predictions,
            "correct": evaluation.correct,
        })},
    )
    examples = list(zip(sources, targets, evaluation.predictions))[:5]
    for source, target, prediction in examples:
        print(f"{source!r} -> {prediction!r} (expected {target!r})")
    print(f"test exact match {metrics['exact_match']:.4f}, token accuracy "
          f"{metrics['token_accuracy']:.4f} ({len(targets)} held-out examples); "
          f"run written to {path}")
    return Seq2seqResult(path, metrics, result.history, examples)


train = run  # every recipe's training entry point is `train`; `run` is kept as its alias


def predict(run_dir, sources):
    """Returns the greedy outputs (strings) of the model in `run_dir` for `sources` (strings).

    Every character of a source must be in the task's alphabet (`config.json`'s
    `alphabet`).
    """
    from seqrecipes.models.seq2seq import greedy_decode, inference_models

    if isinstance(sources, str):
        sources = [sources]
    loaded = _artifacts.load_run(run_dir)
    if loaded.config.get("recipe") != RECIPE:
        raise RunDirectoryError(
            f"{str(run_dir)!r} holds a {loaded.config.get('recipe')!r} run, not a seq2seq one."
        )
    table = seq2seq_tasks.CharacterTable(loaded.config["alphabet"])
    target_length = seq2seq_tasks.max_target_length(
        loaded.config["task"], loaded.config["max_digits"]
    ) + 1
    generated = greedy_decode(
        *inference_models(loaded.model), table.encode(list(sources)), max_length=target_length
    )
    return table.decode(generated)


def add_parser(subparsers):
    """Declares `seqrecipes seq2seq train | predict`."""
    parser = subparsers.add_parser(
        "seq2seq", help="encoder-decoder on a generated task (reverse, addition, dates)",
        description=__doc__.split("\n\n")[0],
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    train_parser = commands.add_parser("train", help="generate the task, train, evaluate",
                                       description=run.__doc__.split("\n\n")[0])
    group = train_parser.add_argument_group("task and model")
    group.add_argument("--task", default="reverse", choices=seq2seq_tasks.TASKS)
    group.add_argument("--max-digits", type=int, default=None,
                       help="longest string (reverse) or number (addition); default 8 / 3")
    group.add_argument("--cell", default="lstm", choices=wiring.CELLS)
    group.add_argument("--units", type=int, default=128,
                       help="encoder width per direction (the decoder doubles it if "
                            "--bidirectional)")
    group.add_argument("--encoder-layers", type=int, default=1)
    group.add_argument("--bidirectional", action="store_true",
                       help="bidirectional encoder layers (forward and backward states are "
                            "concatenated for the decoder)")
    group.add_argument("--embedding-dim", type=int, default=32)
    group.add_argument("--dropout", type=float, default=0.0)
    group.add_argument("--train-size", type=int, default=20000)
    group.add_argument("--validation-size", type=int, default=1000)
    group.add_argument("--test-size", type=int, default=1000)
    _cli.add_training_flags(train_parser, default_run_dir="runs/seq2seq", epochs=30,
                            batch_size=64, learning_rate=0.003,
                            backend=_cli.DEFAULT_BACKENDS["seq2seq"])
    _cli.bind(train_parser, run)

    predict_parser = commands.add_parser(
        "predict", help="decode sources greedily with a trained run, one line each",
        description="Sources come from the arguments, else from --file, else from standard "
        "input, one per line. Prints one tab-separated line per source: source, output.",
    )
    _cli.add_predict_arguments(predict_parser, what="sources", metavar="SOURCE")

    def predict_handler(args):
        sources = _cli.require_texts(*_cli.read_texts(args, "sources"), "sources")
        for source, output in zip(sources, predict(args.run_dir, sources)):
            print(f"{source}\t{output}")
        return 0

    predict_parser.set_defaults(func=predict_handler)
    return parser
