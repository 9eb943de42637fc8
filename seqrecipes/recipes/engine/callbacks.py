"""The Keras callbacks of the resumable training loop (`training.fit_resumable`).

`EpochCommit` commits the training state at the end of every epoch and `EpochTimer` logs each
epoch's seconds.

Kept apart from `training` because defining them imports Keras, and `training` is imported by
every recipe module that the command line reads for `--help`.
"""

import json
import math
import os
import time

import keras

from seqrecipes._seeding import epoch_variable, reseed
from seqrecipes.errors import SeqrecipesError


def _replace_atomically(path, write):
    temporary = path.with_name(f".tmp-{path.name}")  # keeps the suffix Keras checks
    write(temporary)
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, path)


class EpochCommit(keras.callbacks.Callback):
    """Re-seeds each epoch, stops on NaN, tracks the best epoch and commits the state.

    The state is `state_dir / state_file`, replaced atomically after the weights it names
    are on disk (`training.fit_resumable` explains the commit).
    """

    def __init__(self, state_dir, state, *, state_file, seed, monitor, mode, patience):
        super().__init__()
        self.state_dir, self.state, self.state_file = state_dir, state, state_file
        self.seed, self.monitor, self.mode, self.patience = seed, monitor, mode, patience
        self.diverged = None
        self._epoch = self._first_batch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        epoch_variable().assign(epoch)
        reseed(self.model, self.seed, epoch)

    def on_train_batch_begin(self, batch, logs=None):
        self._first_batch = batch

    def on_train_batch_end(self, batch, logs=None):
        # `batch` is the last of the block of batches just run (one block: one call of the
        # train function); the loss logged is the epoch's running mean, so a non-finite
        # batch anywhere in the block shows here.
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            steps = self.params.get("steps")  # the epoch's last block may be short
            last = batch if steps is None else min(batch, steps - 1)
            self.diverged = (self._epoch + 1, (self._first_batch + 1, last + 1), float(loss))
            self.model.stop_training = True

    def _improved(self, value):
        best = self.state["best_value"]
        if best is None:
            return True
        return value < best if self.mode == "min" else value > best

    def on_epoch_end(self, epoch, logs=None):
        logs = {key: float(value) for key, value in (logs or {}).items()}
        if self.diverged is None:
            bad = [key for key, value in logs.items() if not math.isfinite(value)]
            if bad:
                self.diverged = (epoch + 1, None, logs[bad[0]])
        if self.diverged is not None:
            return
        if self.monitor not in logs:
            raise SeqrecipesError(
                f"The early-stopping figure {self.monitor!r} is not among this epoch's logs "
                f"({sorted(logs)}); it needs validation data."
            )
        state = self.state
        state["history"].append({"epoch": epoch + 1, **logs})
        value = logs[self.monitor]
        if self._improved(value):
            state["best_value"], state["best_epoch"], state["wait"] = value, epoch + 1, 0
            best_file = f"best-{epoch + 1:04d}.weights.h5"
            _replace_atomically(self.state_dir / best_file, self.model.save_weights)
            state["best_weights"] = best_file
        elif any(row[self.monitor] != state["history"][0][self.monitor]
                 for row in state["history"]):
            state["wait"] += 1
        # else: the figure has not moved at all since the first epoch (an entity F1 that is
        # still exactly 0 because nothing is predicted yet, on a small data set): the model
        # is still warming up, so patience does not run out before it has learnt anything.
        # `epochs` still bounds the run.
        last_file = f"epoch-{epoch + 1:04d}.weights.h5"
        _replace_atomically(self.state_dir / last_file, self.model.save_weights)
        state["epochs_done"], state["last_weights"] = epoch + 1, last_file
        state["stopped_early"] = state["wait"] >= self.patience
        # The commit point: everything above is on disk before the state names it.
        _replace_atomically(
            self.state_dir / self.state_file,
            lambda path: path.write_text(json.dumps(state, indent=1)),
        )
        keep = {self.state_file, state["best_weights"], last_file}
        for path in self.state_dir.iterdir():
            if path.name not in keep and path.name.endswith(".weights.h5"):
                path.unlink()
        if state["stopped_early"]:
            self.model.stop_training = True


class EpochTimer(keras.callbacks.Callback):
    """Logs each epoch's seconds as `epoch_seconds` (pass it after the callbacks whose work
    should count, such as a dev-set evaluation)."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start

