"""One-to-many recipe: a decoder generates a digit string from one feature vector.

    seqrecipes generate-from-vector train --max-digits 6 --noise 0.2

The image-captioning shape without the images: each example's vector is a noisy random
projection of its digit string's one-hot code (`seq2seq_tasks.digit_code_splits`), `Dense`
layers turn it into the decoder's initial states (`build_vector_decoder`), and the decoder is
trained with teacher forcing and decoded greedily. Test strings never occur in training, so
exact match measures generation for new vectors, not recall. The run directory holds
`model.keras`, `predictions.tsv` and `accuracy.png` (exact match by string length, token
accuracy by output position) beside the usual files.
"""

import dataclasses
import pathlib

from seqrecipes import _validation
from seqrecipes.datasets import seq2seq_tasks
from seqrecipes.models import wiring
from seqrecipes.recipes.engine import artifacts as _artifacts
from seqrecipes.recipes.engine import flags as _cli
from seqrecipes.recipes.engine import plots as _plots
from seqrecipes.recipes.engine import training as _training

RECIPE = "generate-from-vector"


@dataclasses.dataclass
class VectorDecoderResult:
    """What `run` produced."""

    run_dir: pathlib.Path
    metrics: dict
    history: list
    examples: list  # (target, prediction) of the first test examples


@_training.releases_locks
def run(
    *,
    max_digits=6,
    feature_dim=64,
    noise=0.2,
    cell="lstm",
    units=64,
    embedding_dim=16,
    dropout=0.0,
    train_size=20000,
    validation_size=500,
    test_size=1000,
    run_dir="runs/generate-from-vector",
    overwrite=False,
    epochs=30,
    batch_size=64,
    learning_rate=0.003,
    clipnorm=None,
    patience=3,
    seed=1234,
    verbose=1,
):
    """Generates vector -> digit-string data, trains a one-to-many decoder, writes the run.

    Args:
        max_digits: int. Longest digit string. Defaults to 6.
        feature_dim: int. Width of each feature vector. Defaults to 64.
        noise: float. Standard deviation of the Gaussian noise on the vectors (each clean
            feature has variance 1). Defaults to 0.2.
        cell, units, embedding_dim, dropout: the decoder, as in `build_vector_decoder`.
        train_size, validation_size, test_size: int. Distinct strings per split.
        run_dir, overwrite, epochs, batch_size, learning_rate, clipnorm, patience, seed,
            verbose: training, as every recipe has them (`fit_resumable`).

    Returns:
        A `VectorDecoderResult`.
    """
    import keras

    from seqrecipes.models.seq2seq import build_vector_decoder
    from seqrecipes.recipes.engine import decoding as _decoding

    _validation.check_choice("cell", cell, wiring.CELLS)
    for name, value in (("max_digits", max_digits), ("feature_dim", feature_dim),
                        ("units", units), ("embedding_dim", embedding_dim),
                        ("train_size", train_size), ("validation_size", validation_size),
                        ("test_size", test_size)):
        _validation.check_positive_int(name, value)
    _validation.check_non_negative_float("noise", noise)
    _validation.check_fraction("dropout", dropout)
    _cli.check_training_arguments(
        overwrite=overwrite, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
        clipnorm=clipnorm, patience=patience, seed=seed, verbose=verbose,
    )
    config = {
        "recipe": RECIPE, "max_digits": max_digits, "feature_dim": feature_dim, "noise": noise,
        "cell": cell, "units": units, "embedding_dim": embedding_dim, "dropout": dropout,
        "train_size": train_size, "validation_size": validation_size, "test_size": test_size,
        "epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate,
        "clipnorm": clipnorm, "patience": patience, "seed": seed, "verbose": verbose,
        "overwrite": overwrite, "alphabet": seq2seq_tasks.DIGITS,
    }
    state_dir = _training.prepare_run_dir(run_dir, config, overwrite=overwrite)

    # Data: (vector, digit string) pairs; no string in two splits.
    splits = seq2seq_tasks.digit_code_splits(
        max_digits=max_digits, feature_dim=feature_dim, noise=noise, train_size=train_size,
        validation_size=validation_size, test_size=test_size, seed=seed,
    )
    table = seq2seq_tasks.CharacterTable(config["alphabet"])
    target_length = max_digits + 1  # + the end token

    def arrays(split):
        vectors, strings = split
        decoder_input, decoder_target = _decoding.teacher_forcing(table, strings, target_length)
        return (vectors, decoder_input), decoder_target

    train_inputs, train_target = arrays(splits.train)
    validation_inputs, validation_target = arrays(splits.validation)
    test_inputs, test_target = arrays(splits.test)

    # Model and training (teacher forcing).
    keras.utils.set_random_seed(seed)
    model = build_vector_decoder(
        feature_dim, table.size, cell=cell, units=units, embedding_dim=embedding_dim,
        dropout=dropout,
    )
    _decoding.compile_decoder(model, learning_rate=learning_rate, clipnorm=clipnorm)
    exact_match = _decoding.ValidationExactMatch(
        table, validation_inputs[0], splits.validation[1], max_length=target_length
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

    # Evaluation: teacher-forced loss and accuracy, then greedy generation for the test split.
    forced = model.evaluate(
        _decoding.evaluation_batches(test_inputs, test_target, batch_size=batch_size),
        verbose=0, return_dict=True,
    )
    targets = splits.test[1]
    evaluation = _decoding.evaluate_greedy(
        model, table, test_inputs[0], targets, max_length=target_length,
        lengths=[len(target) for target in targets],
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
            "training_curves.png": _plots.training_curves(result.history,
                                                          title="generate from vector"),
            "accuracy.png": _decoding.accuracy_figure(
                metrics, length_label="string length (digits)", title="generate from vector"
            ),
        },
        files={"predictions.tsv": _decoding.predictions_table({
            "target": targets, "prediction": evaluation.predictions,
            "correct": evaluation.correct,
        })},
    )
    examples = list(zip(targets, evaluation.predictions))[:5]
    for target, prediction in examples:
        print(f"vector of {target!r} -> {prediction!r}")
    print(f"test exact match {metrics['exact_match']:.4f}, token accuracy "
          f"{metrics['token_accuracy']:.4f} ({len(targets)} held-out strings); "
          f"run written to {path}")
    return VectorDecoderResult(path, metrics, result.history, examples)


train = run  # every recipe's training entry point is `train`; `run` is kept as its alias


def add_parser(subparsers):
    """Declares `seqrecipes generate-from-vector train`."""
    parser = subparsers.add_parser(
        "generate-from-vector",
        help="one-to-many: generate a digit string from one feature vector",
        description=__doc__.split("\n\n")[0],
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    train_parser = commands.add_parser("train", help="generate the data, train, evaluate",
                                       description=run.__doc__.split("\n\n")[0])
    group = train_parser.add_argument_group("data and model")
    group.add_argument("--max-digits", type=int, default=6, help="longest digit string")
    group.add_argument("--feature-dim", type=int, default=64, help="width of each vector")
    group.add_argument("--noise", type=float, default=0.2,
                       help="standard deviation of the noise on the vectors")
    group.add_argument("--cell", default="lstm", choices=wiring.CELLS)
    group.add_argument("--units", type=int, default=64)
    group.add_argument("--embedding-dim", type=int, default=16)
    group.add_argument("--dropout", type=float, default=0.0)
    group.add_argument("--train-size", type=int, default=20000)
    group.add_argument("--validation-size", type=int, default=500)
    group.add_argument("--test-size", type=int, default=1000)
    _cli.add_training_flags(train_parser, default_run_dir="runs/generate-from-vector",
                            epochs=30, batch_size=64, learning_rate=0.003,
                            backend=_cli.DEFAULT_BACKENDS["generate-from-vector"])
    _cli.bind(train_parser, run)
    return parser
