"""The progress bar of `fit_resumable` (`callbacks.ProgressBar`): real batches against the real
total, never a negative time estimate, plain lines when the output is not a terminal."""

import re

import numpy as np
import pytest
import tensorflow as tf

import keras

from seqrecipes.recipes.engine import callbacks as _callbacks
from seqrecipes.recipes.engine import training as _training
from cli_runner import run_main

BATCHES = 37  # not a multiple of the 16 batches per call: the last call is short
ANSI = re.compile(r"\x1b\[[0-9;]*m")
COUNT = re.compile(r"(?<!Epoch )\b(\d+)/(\d+|Unknown)")  # the bar, not "Epoch 1/2"


@pytest.fixture
def terminal(monkeypatch):
    """Output "on a terminal", every update drawn (Keras skips those 0.05 s apart)."""
    monkeypatch.setattr(_callbacks, "is_terminal", lambda stream=None: True)
    draw = keras.utils.Progbar.__init__
    monkeypatch.setattr(keras.utils.Progbar, "__init__",
                        lambda self, *args, **kwargs: draw(self, *args, **kwargs, interval=0))


def data(known_size):
    x = np.random.default_rng(0).normal(size=(2 * BATCHES, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(2)
    if known_size:
        return dataset
    # A stream: its number of batches is unknown until the first pass ends.
    return dataset.filter(lambda *_: True)


def fit(tmp_path, known_size, verbose=1, epochs=2):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(keras.optimizers.Adam(0.01), "binary_crossentropy")
    config = {"epochs": epochs}
    state_dir = _training.prepare_run_dir(tmp_path / "run", config)
    validation = tf.data.Dataset.from_tensor_slices((np.zeros((4, 3)), np.zeros(4))).batch(2)
    _training.fit_resumable(
        model, data(known_size), validation_data=validation, epochs=epochs,
        state_dir=state_dir, config=config, seed=1, patience=5, verbose=verbose,
    )


def shown_counts(text):
    """Every "count/total" the bar drew, ANSI codes and redraws removed."""
    plain = ANSI.sub("", text).replace("\b", "")
    return [(int(count), total) for count, total in COUNT.findall(plain)]


def check_counts(counts, epochs):
    for count, total in counts:
        assert total == "Unknown" or count <= int(total), counts
    finals = [count for count, total in counts if count == BATCHES]
    assert len(finals) >= epochs, counts  # every epoch ends on the real number of batches
    assert all(count <= BATCHES for count, _ in counts), counts


@pytest.mark.parametrize("known_size", [True, False], ids=["known-size", "stream"])
def test_terminal_bar_counts_real_batches(tmp_path, capsys, terminal, known_size):
    fit(tmp_path, known_size)
    out = capsys.readouterr().out
    counts = shown_counts(out)
    check_counts(counts, epochs=2)
    totals = {total for _, total in counts}
    assert totals <= ({str(BATCHES)} if known_size else {str(BATCHES), "Unknown"})
    assert not re.search(r" -\d+s", ANSI.sub("", out))  # no negative time left


def test_bar_writes_plain_lines_when_not_on_a_terminal(tmp_path, capsys):
    fit(tmp_path, known_size=False, epochs=3)
    out = capsys.readouterr().out
    assert "\x1b[" not in out and "\r" not in out and "\b" not in out
    bars = [line for line in out.splitlines() if COUNT.match(line)]
    assert [line.split(" ")[0] for line in bars] == [f"{BATCHES}/{BATCHES}"] * 3  # one per epoch


def test_verbose_0_writes_no_bar(tmp_path, capsys):
    fit(tmp_path, known_size=True, verbose=0)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("on_terminal", [False, True], ids=["log-file", "terminal"])
def test_a_recipe_bar_never_overshoots(tmp_path, capsys, request, on_terminal):
    """Sentiment on its embedded sample, batches of 4: about 60 batches, 16 per call."""
    if on_terminal:
        request.getfixturevalue("terminal")
    status, out, err = run_main(
        "sentiment", "train", "--run-dir", tmp_path / "run", "--baseline", "none",
        "--epochs", "2", "--batch-size", "4", "--seed", "3", "--verbose", "1",
    )
    assert status == 0, err
    counts = shown_counts(out)
    assert counts, out
    for count, total in counts:
        assert total == "Unknown" or count <= int(total), counts
    assert not re.search(r" -\d+s", ANSI.sub("", out))
    if not on_terminal:
        assert "\x1b[" not in out and "\r" not in out and "\b" not in out
