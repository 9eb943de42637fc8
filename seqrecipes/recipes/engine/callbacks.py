"""The Keras callbacks of the resumable training loop (`training.fit_resumable`).

`EpochCommit` commits the training state at the end of every epoch, `AveragedWeights` puts
the weights' moving average in the model for scoring and keeping (optimizers with
`use_ema=True`), `EpochTimer` logs each epoch's seconds, and `ProgressBar` is Keras's progress bar made honest for blocks of batches:
`training.run_batches` runs 16 batches per call of the compiled train function, and Keras's
own bar then counts the last batch index of each block against the epoch's total
(``128/118 ... -1s``) and, since `keras.utils.Progbar` redraws with ANSI codes and
carriage returns whenever it runs on a POSIX system, writes those into log files too.

Kept apart from `training` because defining them imports Keras, and `training` is imported by
every recipe module that the command line reads for `--help`.
"""

import json
import math
import os
import sys
import time

import keras

from seqrecipes._seeding import epoch_variable, reseed
from seqrecipes.errors import SeqrecipesError
from seqrecipes.recipes.engine import fingerprint as _fingerprint
from seqrecipes.recipes.engine import os_errors as _os_errors


def _replace_atomically(path, write):
    temporary = path.with_name(f".tmp-{path.name}")  # keeps the suffix Keras checks
    write(temporary)
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, path)


# Room kept free beyond the weights files of a commit: the state file and file-system slack.
_COMMIT_MARGIN_BYTES = 1 << 20
# HDF5's headers per variable in a `.weights.h5` file, rounded up: measured 1.05 to 1.2 KiB
# on LSTM models of 20 to 38 variables (data 0.2 to 16 MB; Keras 3.15, h5py 3).
_HDF5_BYTES_PER_VARIABLE = 4096


def _weights_file_bytes(model):
    """An upper estimate of the bytes of `model.save_weights` (model and optimizer
    variables): their data plus HDF5's headers, at most `_HDF5_BYTES_PER_VARIABLE` each."""
    import numpy as np

    variables = list(model.weights)
    if model.optimizer is not None:
        variables += list(model.optimizer.variables)
    return sum(
        math.prod(variable.shape)
        * np.dtype(keras.backend.standardize_dtype(variable.dtype)).itemsize
        + _HDF5_BYTES_PER_VARIABLE
        for variable in variables
    )


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

    def _check_room(self):
        """Refuses a commit that the disk has no room for, before HDF5 writes a byte.

        h5py crashes the process (segmentation fault, exit 139) when the disk fills while
        Keras writes a `.weights.h5`: HDF5's writes fail with ENOSPC, and closing the file
        (`File.close` -> `_close_open_objects`, or h5py's clean-up after the OSError) then
        dies inside HDF5. Measured with Keras 3.15, h5py 3.14, HDF5 1.14.6: 5 of 8
        `sentiment train --overwrite` runs on a nearly full 6 MB tmpfs, and 6 of 6 bare
        `model.save_weights` of 2.4 MB into a 1 MB tmpfs. No Python code can catch that, so
        the commit does not start a write the disk cannot hold; a disk filled by another
        process between this check and the write can still hit it. A commit writes at most
        two weights files.
        """
        existing = [path.stat().st_size for path in self.state_dir.glob("*.weights.h5")]
        weights = max([_weights_file_bytes(self.model), *existing])
        _os_errors.check_free_space(
            self.state_dir, 2 * weights + _COMMIT_MARGIN_BYTES, path=self.state_dir.parent,
            what="the training state", flag="run_dir",
        )

    def _replace(self, name, write):
        with _os_errors.explained(self.state_dir.parent, what="the training state",
                                  flag="run_dir"):
            _replace_atomically(self.state_dir / name, write)

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
        self._check_room()
        state = self.state
        # SHA-256 of the weights files the state names, checked before a run resumes
        # (`resume.check`): a truncated or zeroed file is named, not loaded. Measured on 192 MB
        # of weights and Adam moments (a 2M x 8 embedding): 150-310 ms beside save_weights'
        # 350-770 ms, per epoch.
        checksums = state.setdefault("checksums", {})
        state["history"].append({"epoch": epoch + 1, **logs})
        value = logs[self.monitor]
        if self._improved(value):
            state["best_value"], state["best_epoch"], state["wait"] = value, epoch + 1, 0
            best_file = f"best-{epoch + 1:04d}.weights.h5"
            self._replace(best_file, self.model.save_weights)
            state["best_weights"] = best_file
            checksums[best_file] = _fingerprint.sha256(self.state_dir / best_file)
        elif any(row[self.monitor] != state["history"][0][self.monitor]
                 for row in state["history"]):
            state["wait"] += 1
        # else: the figure has not moved at all since the first epoch (an entity F1 that is
        # still exactly 0 because nothing is predicted yet, on a small data set): the model
        # is still warming up, so patience does not run out before it has learnt anything.
        # `epochs` still bounds the run.
        last_file = f"epoch-{epoch + 1:04d}.weights.h5"
        self._replace(last_file, self.model.save_weights)
        checksums[last_file] = _fingerprint.sha256(self.state_dir / last_file)
        state["epochs_done"], state["last_weights"] = epoch + 1, last_file
        state["checksums"] = {name: digest for name, digest in checksums.items()
                              if name in (state["best_weights"], last_file)}
        state["stopped_early"] = state["wait"] >= self.patience
        # The commit point: everything above is on disk before the state names it.
        self._replace(self.state_file, lambda path: path.write_text(json.dumps(state, indent=1)))
        keep = {self.state_file, state["best_weights"], last_file}
        for path in self.state_dir.iterdir():
            if path.name not in keep and path.name.endswith(".weights.h5"):
                path.unlink()
        if state["stopped_early"]:
            self.model.stop_training = True


class AveragedWeights(keras.callbacks.SwapEMAWeights):
    """Keras's `SwapEMAWeights(swap_on_epoch=True)`, resumable: from the end of an epoch to
    the start of the next the model holds the optimizer's moving average of its weights (and
    the optimizer's average slots the weights trained), so the dev-set figures, early
    stopping and the committed weights files are the averaged weights'; training goes on
    with the trained ones. Put it before the callbacks that score the epoch.

    A committed file holds that swapped pair, so a resumed run starts with the averages in
    the model: `in_model=True` swaps them back at the first epoch's start, and the resumed
    run trains exactly as the uninterrupted one.
    """

    def __init__(self, *, in_model):
        super().__init__(swap_on_epoch=True)
        self._ema_weights_in_model = in_model

    def _finalize_ema_values(self):
        """Nothing: the last epoch's pair stays swapped like every other epoch's.

        Keras's callback sets the average slots to the weights after the fit's last epoch. On
        JAX its `assign` makes both variables share one buffer, which the next compiled
        predict (a dev-set score) takes over and deletes, so the epoch's commit failed; and a
        run later resumed for more epochs would have trained on from the averages, not from
        the trained weights an uninterrupted run has.
        """


class EpochTimer(keras.callbacks.Callback):
    """Logs each epoch's seconds as `epoch_seconds` (pass it after the callbacks whose work
    should count, such as a dev-set evaluation)."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


def is_terminal(stream=None):
    """True when `stream` (default: standard output) is an interactive terminal."""
    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class ProgressBar(keras.callbacks.ProgbarLogger):
    """Keras's `ProgbarLogger`, counting the batches really run against the real total.

    * Count: the batches trained so far this epoch are read from the optimizer's step
      counter, not from the index Keras passes, which is the last index of a block of
      `steps_per_execution` batches and overshoots the epoch's end (``128/118``).
    * Total: the epoch's number of batches where the data knows it; for a stream whose size
      is unknown, "Unknown" during the first epoch and then the number the last epoch had.
      A total the count outgrows grows with it, so the bar never reads past its end and its
      time estimate is never negative.
    * Output: on a terminal the bar redraws in place, as Keras's does. Anywhere else (a log
      file, a pipe) it writes one plain line per epoch, with no ANSI codes and no carriage
      returns: Keras's one-line-per-epoch format (`verbose=2`).
    """

    def __init__(self):
        super().__init__()
        self._known_total = None
        self._first_step = None
        self._terminal = False

    def set_params(self, params):
        super().set_params(params)
        self._known_total = params.get("steps")
        self._terminal = is_terminal()

    def _maybe_init_progbar(self):
        if self.progbar is None:
            verbose = self.verbose if self._terminal else 2
            self.progbar = keras.utils.Progbar(
                target=self.target, verbose=verbose, unit_name="step", stateless_metrics=set()
            )

    def _steps_taken(self):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or getattr(optimizer, "iterations", None) is None:
            return None
        return int(keras.ops.convert_to_numpy(optimizer.iterations))

    def on_epoch_begin(self, epoch, logs=None):
        self._first_step = self._steps_taken()
        super().on_epoch_begin(epoch, logs)

    def on_train_batch_end(self, batch, logs=None):
        steps = self._steps_taken()
        if steps is not None and self._first_step is not None:
            batch = steps - self._first_step - 1  # the last batch really run, from 0
        self._update_progbar(batch, logs)

    def _update_progbar(self, batch, logs=None):
        self._maybe_init_progbar()
        self.seen = batch + 1
        if self.target is not None and self.seen > self.target:
            # A block's last index past the known end (evaluation, prediction): the data
            # ran out inside the block. Past an estimate (a stream's previous epoch): the
            # estimate grows.
            if self._known_total is not None:
                self.seen = self.target
            else:
                self.target = self.progbar.target = self.seen
        if self.progbar.verbose == 1:
            self.progbar.update(self.seen, list((logs or {}).items()), finalize=False)

    def _finalize_progbar(self, logs):
        self._maybe_init_progbar()
        if self._known_total is None and self.seen:
            # A stream: this epoch's real total is now known, and is the next one's estimate.
            self.target = self.progbar.target = self.seen
        elif self.target is None:
            self.target = self.progbar.target = self.seen
        self.progbar.update(self.seen, list((logs or {}).items()), finalize=True)
