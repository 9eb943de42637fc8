"""Resumable, reproducible training: one `model.fit` that survives Ctrl-C and kill -9.

`fit_resumable` trains with early stopping on a monitored validation figure and commits the
whole training state at the end of every epoch into ``RUN/.training/``: the weights *with the
optimizer's state*, the history so far, the best figure, its epoch and weights, and the
patience counter. Run the same command again and training continues from the last finished
epoch and reaches the same result as an uninterrupted run; a command whose settings or input
files differ (by content) is refused before any work, saying what changed (`resume`).

Why not `keras.callbacks.BackupAndRestore` + `EarlyStopping`: BackupAndRestore writes the
weights and then the epoch number as two separate files (a kill between them resumes the wrong
epoch), and neither it nor EarlyStopping restores the early-stopping state, the history, the
data order or the dropout random state, so a resumed run drifts from an uninterrupted one (and
EarlyStopping restores the best weights only when it stops early). Here one JSON file, replaced
atomically after the weights are on disk, is the commit point, and every epoch's randomness is
a function of (seed, epoch) only:

* data order: the input pipelines shuffle with `seqrecipes._seeding.shuffled`, whose order
  for a pass is seeded by (seed, epoch), the epoch read from `epoch_variable()` when the pass
  starts;
* dropout: every `SeedGenerator` of the model is re-seeded from (seed, epoch, index) at the
  start of each epoch.

Ctrl-C stops training at the end of the current block of batches, on every backend
(`interrupt`: Python's own handler could raise inside library code that swallowed it); a
second Ctrl-C stops at once.

A NaN or infinite loss stops training at once with a message naming the epoch and batch, and
the weights of the last good epoch are kept.

Batches run `STEPS_PER_EXECUTION` at a time inside one call of Keras's compiled train function
(Keras's `steps_per_execution`), which saves each batch the Python and dispatch cost of a call;
callbacks then see every block of batches rather than every batch, and the progress bar
(`callbacks.ProgressBar`) counts the batches really run.

Keras and TensorFlow are imported by the functions that train, not by this module: the command
line imports the recipes, and so this module, to build its `--help`.
"""

import contextlib
import dataclasses
import os
import pathlib
import shutil
import warnings

from seqrecipes.errors import RunDirectoryError, SeqrecipesError
from seqrecipes.recipes.engine import artifacts as _artifacts
from seqrecipes.recipes.engine import fingerprint as _fingerprint
from seqrecipes.recipes.engine import folders as _folders
from seqrecipes.recipes.engine import interrupt as _interrupt
from seqrecipes.recipes.engine import lock as _lock
from seqrecipes.recipes.engine import os_errors as _os_errors
from seqrecipes.recipes.engine import resume as _resume
from seqrecipes.recipes.engine import strategy as _strategy
# Every recipe's `train` is decorated with it: the run directory's lock, taken by
# `prepare_run_dir`, is released when `train` returns or raises.
from seqrecipes.recipes.engine.lock import releases_locks  # noqa: F401

STATE_FILE = _resume.STATE_FILE
# Settings that may change between an interrupted run and its resumption without changing
# what is computed (`run_dir`: an interrupted run moved elsewhere, or named another way).
RESUMABLE_DIFFERENCES = frozenset({"epochs", "verbose", "overwrite", "run_dir"})
# Batches per call of the compiled train function. A call costs about 1 ms of Python and
# dispatch on a 2-core CPU, a large share of a short step (a CNN step over 20 tokens takes
# about 8 ms). Measured on 20k NSMC reviews with the sentiment recipe's Korean CNN, one epoch:
# 6.7 s with 1, 5.5 s with 8, 5.3 s with 32 (bench/speed.py prints the gain in every run).
STEPS_PER_EXECUTION = 16


class TrainingDivergedError(SeqrecipesError):
    """The loss became NaN or infinite."""


@dataclasses.dataclass
class TrainingResult:
    """What `fit_resumable` did."""

    history: list
    best_epoch: int
    best_value: float
    stopped_early: bool
    resumed_from_epoch: int


def adam(learning_rate, *, clipnorm=None, ema_momentum=None):
    """The optimizer every recipe trains with: Adam, as `models.LazyAdam` (sparse and exact
    updates of embedding rows: faster, and a token used twice in a batch counts once).

    `ema_momentum`: keep an exponential moving average of the weights, updated every step
    with this momentum (Keras's `use_ema`); `fit_resumable` then scores, keeps and returns
    the averaged weights (`callbacks.AveragedWeights`). None: no average."""
    from seqrecipes.models import LazyAdam

    if ema_momentum is None:
        return LazyAdam(learning_rate, clipnorm=clipnorm)
    return LazyAdam(learning_rate, clipnorm=clipnorm, use_ema=True, ema_momentum=ema_momentum)


def plain_paths(settings):
    """`settings` with every path object (`pathlib.Path`, any `os.PathLike`) as its string,
    as JSON keeps it."""
    return {key: os.fspath(value) if isinstance(value, os.PathLike) else value
            for key, value in settings.items()}


def prepare_run_dir(run_dir, config, *, overwrite=False, resumable=RESUMABLE_DIFFERENCES,
                    framework=True):
    """Checks that `run_dir` can receive this training run; returns the training-state path.

    Call it at the top of a recipe's `train`, before any data is read. Path objects among
    `config`'s values are replaced by their strings (`plain_paths`), in place: the config is
    written as JSON, and compared with the JSON of an interrupted run. An interrupted run
    resumes only with the same settings, the same input files by content and its state whole
    (`resume.check`); `overwrite=True` discards its state and starts afresh.

    Args:
        run_dir: path of the run directory.
        config: dict. The run's settings.
        overwrite: bool. Replace a complete run; discard the training state of an
            interrupted one (resumable or not) and start afresh.
        resumable: the settings an interrupted run may be resumed with changed. A recipe whose
            computation depends on one of them (a learning-rate schedule over `epochs`)
            passes a smaller set.
        framework: bool. The run trains a Keras model: `config["backend"]` is set to the
            Keras backend of this process. An interrupted run resumes on the backend it
            started on only: another one draws other dropout masks from the same seeds, so
            the resumed run would not be the uninterrupted one (`resume.check` names the
            change). False for a run without Keras (`vectors`).

    It takes the run directory's lock (`engine.lock`) for this process; the recipe's
    `train` releases it when it returns or raises (`lock.releases_locks`).

    Raises:
        RunDirectoryError: `run_dir` holds a complete run and `overwrite` is False, is not a
            run directory, holds files seqrecipes did not write (named), or (without
            `overwrite`) holds an interrupted run started with other settings or input
            files, or whose training state is damaged.
        FolderLockedError: another process is training or writing `run_dir` (named).
        OutputError: `run_dir` cannot be written (its name is too long for the file system,
            a parent is a file, the file system is read-only, ...).
    """
    config.update(plain_paths(config))
    if framework:
        import keras

        config["backend"] = keras.backend.backend()
    run_dir = pathlib.Path(run_dir)
    state_dir = run_dir / _artifacts.TRAINING_STATE_DIR
    _hold(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirectoryError(f"`run_dir` {str(run_dir)!r} is a file, not a directory.")
    interrupted = (state_dir / STATE_FILE).is_file()
    _folders.check_target(
        run_dir, overwrite=overwrite or interrupted,
        owned=_artifacts.run_files, complete=_artifacts.is_complete_run,
        kind="run directory", flag="run_dir",
    )
    if interrupted:
        if not overwrite:
            _resume.check(state_dir, config, resumable=resumable)
            return state_dir
        # overwrite=True is the way out of a run that cannot resume (other data or settings,
        # a damaged state), and it means the same for one that could: start afresh.
        shutil.rmtree(state_dir)
        print(f"Discarded the training state of an interrupted run in {state_dir} "
              "(overwrite): training starts afresh.")
    if state_dir.exists():
        shutil.rmtree(state_dir)  # a state directory without its commit file holds nothing
    return state_dir


def _hold(run_dir):
    """Refuses a run directory name too long for its staging sibling, and takes the run
    directory's lock (`engine.lock`) for this process: a second `train` on it stops here."""
    _folders.check_name(run_dir, flag="run_dir", kind="run directory")
    with _os_errors.explained(run_dir, what="the run directory", flag="run_dir"):
        _lock.acquire(run_dir)


@contextlib.contextmanager
def run_batches(model, steps_per_execution=STEPS_PER_EXECUTION):
    """Within it, `model.fit` / `evaluate` run `steps_per_execution` batches per call of the
    model's compiled function (Keras's `steps_per_execution`); restored afterwards.

    One batch per call under a multi-worker strategy: Keras's loop over several batches is not
    tested there (`tests/test_distribute.py` trains two workers with one).
    """
    import tensorflow as tf

    if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
        steps_per_execution = 1
    before = model.steps_per_execution
    model.steps_per_execution = steps_per_execution
    model.train_function = model.test_function = None  # traced again for the new setting
    try:
        yield model
    finally:
        model.steps_per_execution = before
        model.train_function = model.test_function = None


def fit_resumable(
    model,
    train_data,
    *,
    validation_data,
    epochs,
    state_dir,
    config,
    seed,
    monitor="val_loss",
    mode="min",
    patience=3,
    callbacks=(),
    verbose=1,
    steps_per_execution=STEPS_PER_EXECUTION,
    class_weight=None,
):
    """Trains `model` with early stopping, resuming from `state_dir` if a run was interrupted.

    The model must be built and compiled. At the end it holds the weights of the best epoch:
    with an optimizer that keeps a moving average of the weights (`adam(ema_momentum=)`),
    the average's, which are also what each epoch's validation figures score.

    Args:
        model: a built, compiled Keras model.
        train_data: a `tf.data.Dataset` whose shuffle reads `epoch_variable()`.
        validation_data: a `tf.data.Dataset` (or anything `fit` accepts).
        epochs: int. The maximum number of epochs.
        state_dir: path from `prepare_run_dir`.
        config: dict. The run's settings; a resumed run must have been started with the same.
        seed: int. Seeds every epoch's data order and dropout.
        monitor: str. The logged figure early stopping watches (e.g. "val_loss" or a figure
            an earlier callback adds, such as "val_entity_f1").
        mode: str. "min" or "max".
        patience: int. Epochs without improvement before stopping; epochs in which the
            figure has not changed at all since the first epoch (an F1 still exactly 0)
            do not count.
        callbacks: extra callbacks, run before the state is committed each epoch. An
            `EpochTimer` is added after them unless one is given: the history has each
            epoch's `epoch_seconds`.
        verbose: int. Keras's progress display (1 = progress bar, 2 = one line per epoch).
        steps_per_execution: int. Batches per call of the compiled train function (see
            `run_batches`); the results do not depend on it.
        class_weight: dict of class id -> weight, or None. Keras's `fit(class_weight=)`:
            each example's loss is scaled by its class's weight.

    Raises:
        TrainingDivergedError: the loss became NaN or infinite (the last good weights are kept).
    """
    from seqrecipes._seeding import release_epoch
    from seqrecipes.datasets.options import without_autotuner
    from seqrecipes.recipes.engine import callbacks as _callbacks

    state_dir = pathlib.Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    state_path = state_dir / STATE_FILE
    if state_path.is_file():
        state = _resume.read_state(state_dir)  # `prepare_run_dir` checked it can resume
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        if state["last_weights"] is not None:
            _resume.load_weights(model, state_dir, state["last_weights"])
        print(f"Resuming after epoch {state['epochs_done']} from {state_dir}")
    else:
        state = {
            "config": config, "history": [], "epochs_done": 0, "best_value": None,
            "best_epoch": None, "best_weights": None, "last_weights": None, "wait": 0,
            "stopped_early": False,
            # What the run reads, by content, for `resume.check`: taken here, after the recipe
            # read its data, and before the first epoch can be committed.
            "inputs": _fingerprint.fingerprint(config),
            # SHA-256 of each weights file the state names (`callbacks.EpochCommit`).
            "checksums": {},
        }
    resumed_from = state["epochs_done"]
    # Under a multi-worker strategy each worker keeps its share of the batches (no-op otherwise),
    # and no dataset pays tf.data's autotuner at the end of each pass (`datasets.options`).
    train_data = without_autotuner(_strategy.shard_by_data(train_data))
    validation_data = without_autotuner(_strategy.shard_by_data(validation_data))
    _strategy.prepare_model(model, train_data)
    if getattr(model.optimizer, "use_ema", False):
        # First: the recipe's scoring, the commit and early stopping see the averages.
        callbacks = [_callbacks.AveragedWeights(in_model=resumed_from > 0), *callbacks]
    commit = _callbacks.EpochCommit(
        state_dir, state, state_file=STATE_FILE, seed=seed, monitor=monitor, mode=mode,
        patience=patience,
    )
    # Keras adds its own bar only when no `ProgbarLogger` is given: this one replaces it.
    progress = [_callbacks.ProgressBar()] if verbose else []
    # Every run's history has each epoch's seconds (after the recipe's own callbacks, such as
    # a dev-set evaluation, so their work counts), which the benches compare across backends.
    if not any(isinstance(callback, _callbacks.EpochTimer) for callback in callbacks):
        callbacks = [*callbacks, _callbacks.EpochTimer()]
    if not state["stopped_early"] and state["epochs_done"] < epochs:
        try:
            with warnings.catch_warnings(), run_batches(model, steps_per_execution), \
                    _interrupt.deferred() as noted, \
                    _strategy.data_parallel(model, (train_data, validation_data),
                                            class_weight) as ((train_data, validation_data),
                                                              class_weight):
                # A stream's number of batches is unknown until its first pass ends, and Keras
                # then warns "Your input ran out of data; interrupting training" at the end of
                # every epoch (epoch_iterator.py), although the epoch simply ended there.
                warnings.filterwarnings("ignore", message="Your input ran out of data")
                model.fit(
                    train_data,
                    validation_data=validation_data,
                    epochs=epochs,
                    initial_epoch=state["epochs_done"],
                    # After the commit: Ctrl-C stops at the end of a block of batches or
                    # of an epoch, the epochs finished so far kept (`interrupt`).
                    callbacks=[*callbacks, commit, _interrupt.stop_on_interrupt(noted),
                               *progress],
                    class_weight=class_weight,
                    verbose=verbose,
                    shuffle=False,  # the pipeline shuffles, per epoch, from (seed, epoch)
                )
        finally:
            release_epoch()
    if commit.diverged is not None:
        epoch, batches, value = commit.diverged
        where = f"epoch {epoch}"
        if batches:
            first, last = batches
            where += f", batch {first}" if first == last else f", batches {first}-{last}"
        kept = state["last_weights"]
        if kept:
            _resume.load_weights(model, state_dir, kept)
        raise TrainingDivergedError(
            f"The loss became {value} in {where}. Training stopped; "
            + (f"the weights after epoch {state['epochs_done']} are kept in {state_dir}. "
               if kept else "no epoch had finished, so no weights were kept. ")
            + "Try a lower `learning_rate` or gradient clipping (clipnorm=1.0)"
            + (f"; a run with other settings starts afresh: delete {state_dir} or choose "
               "another `run_dir`." if kept else ".")
        )
    if state["best_weights"] is None:
        raise SeqrecipesError("No epoch finished, so there is nothing to keep (epochs=0?).")
    _resume.load_weights(model, state_dir, state["best_weights"])
    return TrainingResult(
        history=state["history"],
        best_epoch=state["best_epoch"],
        best_value=state["best_value"],
        stopped_early=state["stopped_early"],
        resumed_from_epoch=resumed_from,
    )
