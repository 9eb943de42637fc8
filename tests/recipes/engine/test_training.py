import json
import os
import signal
import threading
import time

import numpy as np
import pytest
import tensorflow as tf

import keras

from seqrecipes.errors import RunDirectoryError
from seqrecipes.recipes.engine import training as _training

SEED = 7
X = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
Y = (X[:, 0] + X[:, 1] > 0).astype("float32")


def dataset():
    """Shuffled per epoch from (seed, epoch) only, by the shared pipeline tail."""
    from seqrecipes._seeding import shuffled

    batches = shuffled(tf.data.Dataset.from_tensor_slices((X, Y)), len(X), SEED).batch(8)
    return batches.apply(tf.data.experimental.assert_cardinality(len(X) // 8))


def model(ema_momentum=None):
    keras.utils.set_random_seed(SEED)
    net = keras.Sequential([
        keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dropout(0.5),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    net.compile(_training.adam(0.01, ema_momentum=ema_momentum), "binary_crossentropy",
                metrics=["accuracy"])
    return net


def train(run_dir, epochs=4, callbacks=(), config=None, steps_per_execution=1,
          ema_momentum=None):
    config = config or {"epochs": epochs, "units": 8}
    state_dir = _training.prepare_run_dir(run_dir, config)
    net = model(ema_momentum)
    validation = tf.data.Dataset.from_tensor_slices((X[:16], Y[:16])).batch(8)
    result = _training.fit_resumable(
        net, dataset(), validation_data=validation, epochs=epochs, state_dir=state_dir,
        config=config, seed=SEED, patience=10, callbacks=callbacks, verbose=0,
        steps_per_execution=steps_per_execution,
    )
    return net, result


class Interrupt(keras.callbacks.Callback):
    """Stands in for Ctrl-C in the middle of an epoch."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at = (epoch, batch)
        self.epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt


def figures(history):
    """The history without its wall-clock seconds, which differ from run to run."""
    return [{key: value for key, value in row.items() if key != "epoch_seconds"}
            for row in history]


def test_every_epoch_records_its_seconds(tmp_path):
    _, result = train(tmp_path / "a")
    assert [row["epoch"] for row in result.history] == list(range(1, len(result.history) + 1))
    assert all(row["epoch_seconds"] > 0 for row in result.history)


def test_same_seed_same_result(tmp_path):
    first, result_1 = train(tmp_path / "a")
    second, result_2 = train(tmp_path / "b")
    assert figures(result_1.history) == figures(result_2.history)
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_several_batches_per_call_train_exactly_as_one(tmp_path):
    one, result_1 = train(tmp_path / "a")
    for steps in (3, _training.STEPS_PER_EXECUTION):  # 3: the epoch's last call is short
        several, result = train(tmp_path / f"s{steps}", steps_per_execution=steps)
        assert figures(result.history) == figures(result_1.history)
        for a, b in zip(one.get_weights(), several.get_weights()):
            np.testing.assert_array_equal(a, b)
        assert several.steps_per_execution == 1  # as compiled, for predict and evaluate


def test_interrupted_mid_epoch_resumes_and_matches_an_uninterrupted_run(tmp_path):
    reference, expected = train(tmp_path / "reference")
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "run", callbacks=[Interrupt(epoch=2, batch=4)], steps_per_execution=2)
    state = json.loads((tmp_path / "run" / ".training" / "state.json").read_text())
    assert state["epochs_done"] == 2
    resumed, result = train(tmp_path / "run")
    assert result.resumed_from_epoch == 2
    assert [row["epoch"] for row in result.history] == [1, 2, 3, 4]
    np.testing.assert_allclose(
        [row["val_loss"] for row in result.history],
        [row["val_loss"] for row in expected.history], rtol=1e-6,
    )
    for a, b in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.backends
def test_averaged_weights_are_what_is_scored_kept_and_resumed(tmp_path):
    plain_net, plain = train(tmp_path / "plain")
    net, result = train(tmp_path / "ema", ema_momentum=0.9)
    assert [row["val_loss"] for row in result.history] != [
        row["val_loss"] for row in plain.history]
    # The kept weights are the ones the best epoch's validation figure scored: the averages.
    best = min(result.history, key=lambda row: row["val_loss"])
    validation = net.evaluate(X[:16], Y[:16], verbose=0, return_dict=True)
    assert validation["loss"] == pytest.approx(best["val_loss"], rel=1e-5)
    assert any(not np.allclose(a, b) for a, b in zip(net.get_weights(), plain_net.get_weights()))
    # Interrupted and resumed, it trains exactly as without the interruption.
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "run", callbacks=[Interrupt(epoch=2, batch=4)], ema_momentum=0.9)
    resumed, again = train(tmp_path / "run", ema_momentum=0.9)
    assert again.resumed_from_epoch == 2
    np.testing.assert_allclose([row["val_loss"] for row in again.history],
                               [row["val_loss"] for row in result.history], rtol=1e-6)
    for a, b in zip(resumed.get_weights(), net.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


class PredictAtEpochEnd(keras.callbacks.Callback):
    """Scores every epoch with the model's compiled predict, as the NER recipe's dev entity F1
    does (on JAX that call takes over the weights' buffers and hands back new ones)."""

    def on_epoch_end(self, epoch, logs=None):
        self.model.predict_on_batch(X[:8])


@pytest.mark.backends
def test_averaged_weights_are_committed_when_the_run_reaches_its_last_epoch(tmp_path):
    """Keras's own callback sets the averages to the weights after the last epoch; on JAX by
    sharing one buffer, which the next compiled predict deleted, so the last epoch's commit
    failed ("Array has been deleted", CoNLL-2003 with --ema-momentum, 50 epochs of 50)."""
    net, result = train(tmp_path / "ema", ema_momentum=0.9, callbacks=[PredictAtEpochEnd()])
    assert [row["epoch"] for row in result.history] == [1, 2, 3, 4]  # the cap: the last epoch
    state = json.loads((tmp_path / "ema" / ".training" / "state.json").read_text())
    assert state["epochs_done"] == 4
    # The kept model holds the averages the best epoch scored.
    best = min(result.history, key=lambda row: row["val_loss"])
    assert net.evaluate(X[:16], Y[:16], verbose=0, return_dict=True)["loss"] == pytest.approx(
        best["val_loss"], rel=1e-5)


@pytest.mark.backends
def test_a_finished_averaged_run_given_more_epochs_trains_on_as_an_uninterrupted_one(tmp_path):
    """`--epochs` may be raised on resume: the run that stopped at its cap goes on from the
    trained weights, not from their average (what Keras's last-epoch step would have left)."""
    longer, expected = train(tmp_path / "longer", epochs=6, ema_momentum=0.9)
    train(tmp_path / "run", epochs=4, ema_momentum=0.9)
    resumed, again = train(tmp_path / "run", epochs=6, ema_momentum=0.9)
    assert again.resumed_from_epoch == 4
    np.testing.assert_allclose([row["val_loss"] for row in again.history],
                               [row["val_loss"] for row in expected.history], rtol=1e-6)
    for a, b in zip(resumed.get_weights(), longer.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_resuming_with_other_settings_is_refused(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "run", callbacks=[Interrupt(epoch=1, batch=0)])
    with pytest.raises(RunDirectoryError, match="`units`: 8 then, 16 now"):
        _training.prepare_run_dir(tmp_path / "run", {"epochs": 4, "units": 16})


def test_best_epoch_weights_are_kept(tmp_path):
    net, result = train(tmp_path / "run", epochs=5)
    best = min(result.history, key=lambda row: row["val_loss"])
    assert result.best_epoch == best["epoch"]
    validation = net.evaluate(X[:16], Y[:16], verbose=0, return_dict=True)
    assert validation["loss"] == pytest.approx(best["val_loss"], rel=1e-5)


def test_nan_loss_stops_with_the_epoch_and_keeps_the_last_good_weights(tmp_path):
    class Poison(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                self.model.optimizer.learning_rate.assign(float("inf"))

    with pytest.raises(_training.TrainingDivergedError, match=r"epoch 3.*clipnorm=1.0") as info:
        train(tmp_path / "run", callbacks=[Poison()])
    # One batch per call: the batch is named (the first batch's loss is still finite; its
    # update with an infinite rate makes the weights, and the second batch's loss, NaN).
    assert ", batch 2." in str(info.value)
    assert "weights after epoch 2 are kept" in str(info.value)
    with pytest.raises(_training.TrainingDivergedError) as info:
        train(tmp_path / "blocks", callbacks=[Poison()], steps_per_execution=3)
    assert ", batches 1-3." in str(info.value)  # three per call: the block is named
    state = json.loads((tmp_path / "run" / ".training" / "state.json").read_text())
    assert state["epochs_done"] == 2


def test_a_complete_run_is_not_overwritten_by_accident(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "run.json").write_text("{}")
    with pytest.raises(RunDirectoryError, match="overwrite=True"):
        _training.prepare_run_dir(run_dir, {})
    assert _training.prepare_run_dir(run_dir, {}, overwrite=True) == run_dir / ".training"


def test_a_foreign_directory_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RunDirectoryError, match="not a seqrecipes run directory"):
        _training.prepare_run_dir(tmp_path, {})


class ScriptedFigure(keras.callbacks.Callback):
    """Logs `val_score` from a script: an F1 that stays 0 while nothing is predicted yet."""

    def __init__(self, values):
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        logs["val_score"] = self.values[epoch]


def scripted_run(run_dir, values, patience):
    config = {"epochs": len(values), "units": 8}
    state_dir = _training.prepare_run_dir(run_dir, config)
    validation = tf.data.Dataset.from_tensor_slices((X[:16], Y[:16])).batch(8)
    return _training.fit_resumable(
        model(), dataset(), validation_data=validation, epochs=len(values),
        state_dir=state_dir, config=config, seed=SEED, monitor="val_score", mode="max",
        patience=patience, callbacks=[ScriptedFigure(values)], verbose=0,
    )


def test_patience_waits_until_the_figure_first_moves(tmp_path):
    values = [0.0, 0.0, 0.0, 0.0, 0.5, 0.4, 0.3, 0.2, 0.1]
    result = scripted_run(tmp_path / "warm", values, patience=2)
    assert result.best_epoch == 5
    assert result.stopped_early and len(result.history) == 7  # 2 worse epochs after the best
    # A figure that moves from the start is not waited for: epochs 2-3 are worse than 1.
    result = scripted_run(tmp_path / "moving", [0.3, 0.2, 0.1, 0.6], patience=2)
    assert result.best_epoch == 1 and len(result.history) == 3


def test_a_setting_the_recipe_depends_on_cannot_change_on_resumption(tmp_path):
    state_dir = _training.prepare_run_dir(tmp_path / "run", {"epochs": 18, "units": 8})
    state_dir.mkdir(parents=True, exist_ok=True)
    state = {"config": {"epochs": 18, "units": 8}, "history": [], "epochs_done": 0,
             "best_value": None, "best_epoch": None, "best_weights": None,
             "last_weights": None, "wait": 0, "stopped_early": False}
    (state_dir / _training.STATE_FILE).write_text(json.dumps(state))
    # By default the number of epochs may change when an interrupted run resumes...
    assert _training.prepare_run_dir(tmp_path / "run", {"epochs": 10, "units": 8}) == state_dir
    # ...but not for a recipe whose learning-rate schedule spans the epochs.
    with pytest.raises(RunDirectoryError, match="`epochs`: 18 then, 10 now"):
        _training.prepare_run_dir(
            tmp_path / "run", {"epochs": 10, "units": 8},
            resumable=_training.RESUMABLE_DIFFERENCES - {"epochs"},
        )


def test_path_objects_in_the_config_are_kept_as_strings_and_resume(tmp_path):
    import pathlib

    config = {"epochs": 4, "units": 8, "data": pathlib.Path("shards") / "train.tsv"}
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "run", callbacks=[Interrupt(epoch=1, batch=0)], config=dict(config))
    saved = json.loads((tmp_path / "run" / ".training" / "state.json").read_text())
    assert saved["config"]["data"] == str(pathlib.Path("shards") / "train.tsv")
    # The same settings, given as a Path again, resume the run instead of being refused.
    _, result = train(tmp_path / "run", config=dict(config))
    assert result.resumed_from_epoch == 1


def test_a_run_with_changed_input_files_does_not_resume_until_they_are_back(tmp_path):
    data = tmp_path / "data.txt"
    data.write_text("the data\n")
    config = {"epochs": 4, "units": 8, "data": str(data)}
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "run", callbacks=[Interrupt(epoch=1, batch=0)], config=dict(config))
    state_path = tmp_path / "run" / ".training" / "state.json"
    state = json.loads(state_path.read_text())
    assert state["inputs"]["data"][str(data)]["bytes"] == 9
    assert set(state["checksums"]) == {state["last_weights"], state["best_weights"]}
    data.write_text("THE DATA\n")
    before = state_path.read_bytes()
    with pytest.raises(RunDirectoryError, match=r"`data` file .*data.txt.*same size, 9 bytes"):
        _training.prepare_run_dir(tmp_path / "run", dict(config))
    assert state_path.read_bytes() == before
    data.write_text("the data\n")
    _, result = train(tmp_path / "run", config=dict(config))
    assert result.resumed_from_epoch == 1


def test_overwrite_discards_an_interrupted_state_even_a_damaged_one(tmp_path, capsys):
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "run", callbacks=[Interrupt(epoch=1, batch=0)])
    state_dir = tmp_path / "run" / ".training"
    (state_dir / _training.STATE_FILE).write_text("[1, 2")
    with pytest.raises(RunDirectoryError, match="state.json' is damaged.*overwrite=True"):
        _training.prepare_run_dir(tmp_path / "run", {"epochs": 4, "units": 8})
    assert (state_dir / _training.STATE_FILE).read_text() == "[1, 2"
    assert _training.prepare_run_dir(
        tmp_path / "run", {"epochs": 4, "units": 8}, overwrite=True) == state_dir
    assert not state_dir.exists()
    assert "Discarded the training state" in capsys.readouterr().out


def test_an_interrupted_run_moved_elsewhere_resumes_there(tmp_path):
    config = {"epochs": 4, "units": 8, "run_dir": str(tmp_path / "run")}
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "run", callbacks=[Interrupt(epoch=1, batch=0)], config=dict(config))
    (tmp_path / "run").rename(tmp_path / "moved")
    _, result = train(tmp_path / "moved", config={**config, "run_dir": str(tmp_path / "moved")})
    assert result.resumed_from_epoch == 1


# Ctrl-C for real: SIGINT sent to this process while `fit_resumable` trains (engine/interrupt).

@pytest.fixture
def python_sigint_handler():
    """Python's own SIGINT handler in place, as in a command started from a terminal."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers can be set from the main thread only")
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


class CtrlC(keras.callbacks.Callback):
    """Sends SIGINT to this process at the start of a batch, `times` times, inside a
    `try/except KeyboardInterrupt: pass`, as library code that swallows it would (a
    `__del__`, a callback called from C++); `reached` says whether the code after it ran."""

    def __init__(self, epoch, batch, times=1):
        super().__init__()
        self.at, self.times = (epoch, batch), times
        self.epoch, self.reached, self.batches_after = None, False, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if self.reached:
            self.batches_after += 1
        if (self.epoch, batch) != self.at:
            return
        try:
            for _ in range(self.times):
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.05)  # the interpreter runs the handler meanwhile
            self.reached = True
        except KeyboardInterrupt:
            pass


def test_ctrl_c_swallowed_by_library_code_still_stops_at_the_end_of_the_batches(
        tmp_path, python_sigint_handler, capsys):
    ctrl_c = CtrlC(epoch=1, batch=2)  # blocks of 2 batches begin at 0, 2, 4
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "run", callbacks=[ctrl_c], steps_per_execution=2)
    # Python's handler would have raised inside the `try` and been swallowed there, and
    # training gone on; here the interrupt was noted and raised at the end of the block.
    assert ctrl_c.reached and ctrl_c.batches_after == 0
    state = json.loads((tmp_path / "run" / ".training" / "state.json").read_text())
    assert state["epochs_done"] == 1
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert "Ctrl-C again to stop at once" in capsys.readouterr().err
    _, result = train(tmp_path / "run")
    assert result.resumed_from_epoch == 1


def test_a_second_ctrl_c_stops_at_once(tmp_path, python_sigint_handler):
    ctrl_c = CtrlC(epoch=1, batch=2, times=2)
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "run", callbacks=[ctrl_c], steps_per_execution=2)
    assert not ctrl_c.reached  # the second SIGINT raised inside the callback
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_during_an_epochs_last_callbacks_keeps_that_epoch(tmp_path, python_sigint_handler):
    class DevPass(keras.callbacks.Callback):  # as a recipe's dev-set scoring at epoch end
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.05)

    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "run", callbacks=[DevPass()])
    state = json.loads((tmp_path / "run" / ".training" / "state.json").read_text())
    assert state["epochs_done"] == 2


def test_a_sigint_handler_the_caller_installed_is_left_alone(tmp_path, python_sigint_handler):
    received = []
    signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    ctrl_c = CtrlC(epoch=1, batch=1)
    _, result = train(tmp_path / "run", callbacks=[ctrl_c])
    assert received == [signal.SIGINT] and ctrl_c.reached
    assert len(result.history) == 4  # the caller's handler decides; it did not stop
    assert signal.getsignal(signal.SIGINT) not in (signal.default_int_handler,
                                                   signal.SIG_DFL, signal.SIG_IGN)


def test_fit_gets_its_datasets_without_tf_datas_autotuning_thread(tmp_path, monkeypatch):
    """Any recipe's own dataset too (tf.data's default tunes): see datasets.options."""
    seen = []
    fit = keras.Model.fit

    def spy(self, x=None, *args, validation_data=None, **kwargs):
        seen.extend(data.options().autotune.enabled is not False  # unset (None): on
                    for data in (x, validation_data))
        return fit(self, x, *args, validation_data=validation_data, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", spy)
    train(tmp_path / "run", epochs=1)  # gives it tf.data's defaults
    assert seen == [False, False]
