"""What the end-to-end backend tests share (tests/recipes/**/test_*_backends.py).

Each of those tests trains a tiny run in-process on whichever Keras backend the process has
(`@pytest.mark.backends`: CI runs them in the normal run, on TensorFlow, and again with
`KERAS_BACKEND=jax python -m pytest -m backends`), checks that config.json records it, then
serves the run: `evaluate` / `predict` / `sample` / `export` run on TensorFlow (a saved model
splits raw strings with TensorFlow's string ops), in-process on TensorFlow and, in a JAX
process, through the command line in a new process whose KERAS_BACKEND=jax the command line
overrides. One file per recipe, so that pytest-xdist's two workers share them.
"""

import json
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np

from seqrecipes.recipes.engine import artifacts as _artifacts
from seqrecipes.recipes.engine import backend as _backend
from tests.cli_runner import run_main

BACKEND = keras.backend.backend()
OTHER_BACKEND = "jax" if BACKEND == "tensorflow" else "tensorflow"
ROOT = str(pathlib.Path(__file__).resolve().parents[1])


def environment(**extra):
    """The environment of a child `python -m seqrecipes`: this checkout first, TF quiet."""
    return dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3", **extra)


def seqrecipes(*argv, **extra_environment):
    """`python -m seqrecipes ARGV` in a new process: its CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "seqrecipes", *map(str, argv)], capture_output=True, text=True,
        env=environment(**extra_environment), cwd=ROOT, timeout=300,
    )


def serve(*argv):
    """`seqrecipes ARGV` for a serving verb: (status, stdout, stderr), in-process on
    TensorFlow, else in a new process (Keras here is loaded on another backend)."""
    if BACKEND == _backend.SERVING_BACKEND:
        return run_main(*argv)
    done = seqrecipes(*argv, KERAS_BACKEND=BACKEND)
    return done.returncode, done.stdout, done.stderr


def train(*argv):
    """`seqrecipes ARGV --verbose 0` in-process; asserts it succeeded; its standard output."""
    status, out, err = run_main(*argv, "--verbose", "0")
    assert status == 0, err
    return out


def config_of(run_dir):
    return json.loads((run_dir / "config.json").read_text(encoding="utf-8"))


def loads_and_runs(run_dir):
    """The run's model.keras loads on this process's backend and runs on a batch of ones
    (3 steps where the length is free), one array per named input."""
    model = _artifacts.load_run(run_dir).model
    inputs = {layer.name: np.ones((2, *(size or 3 for size in layer.shape[1:])), layer.dtype)
              for layer in model.inputs}
    outputs = keras.tree.flatten(model(inputs))
    assert outputs and all(np.isfinite(keras.ops.convert_to_numpy(output)).all()
                           for output in outputs)
