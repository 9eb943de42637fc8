"""`--backend tensorflow|jax`: which Keras backend a command runs on, chosen before Keras loads.

Keras reads its backend once, from the `KERAS_BACKEND` environment variable, when it is first
imported; it cannot change afterwards. The command line therefore chooses it here, after the
flags are parsed and before anything imports Keras (building the parser imports none):

* a `train` subcommand (`add_training_flags`) runs on its `--backend`; without the flag, on
  `KERAS_BACKEND` when the environment sets it, else on the recipe's default backend
  (`flags.DEFAULT_BACKENDS`, one line per recipe, so each default can follow its measurements);
* `evaluate`, `predict`, `export` and `explain` (`SERVING_BACKEND`) run on TensorFlow
  whatever `KERAS_BACKEND` says: a saved model takes raw strings and splits them with
  TensorFlow's string ops inside the model (`datasets.string_input`), which only TensorFlow
  runs; a `.keras` file holds no backend, so a run trained on JAX loads there the same;
* any other subcommand runs on Keras's own choice.

From Python, the backend is Keras's own (`KERAS_BACKEND`); every run records the one it was
trained on in its config.json ("backend"). In a process that has imported Keras already (a
test, a notebook calling `seqrecipes.cli.main`), the backend cannot change: a command that
asks for another one is refused, saying how to get it.
"""

import importlib.util
import os
import sys

from seqrecipes.errors import MissingDependencyError, SeqrecipesError

BACKENDS = ("tensorflow", "jax")
DEFAULT_BACKEND = "tensorflow"  # where a caller names no default (each recipe names its own)
SERVING_BACKEND = "tensorflow"
VARIABLE = "KERAS_BACKEND"


class BackendError(SeqrecipesError):
    """The Keras backend a command needs is not the one this process can run."""


def loaded():
    """The backend of the Keras already imported in this process, or None if none is."""
    config = sys.modules.get("keras.src.backend.config")
    if config is None or "keras.src.backend" not in sys.modules:
        return None
    return config.backend()


def installed(default):
    """`default`, or TensorFlow when the default is JAX and JAX is not installed: a recipe's
    default backend follows measurements (`flags.DEFAULT_BACKENDS`) and never needs an extra."""
    if default == "jax" and importlib.util.find_spec("jax") is None:
        return "tensorflow"
    return default


def choose(requested=None, *, default=DEFAULT_BACKEND, environ=None):
    """Sets the Keras backend of this process before Keras is imported; returns its name.

    Args:
        requested: str or None. The backend the command asks for (`--backend`), or None to
            take `KERAS_BACKEND` when it is set, else `default`.
        default: str. The backend when neither asks for one (TensorFlow instead of a
            default of JAX when JAX is not installed: `installed`).
        environ: the environment to read and set (default `os.environ`).

    Returns:
        The backend Keras runs on in this process.

    Raises:
        BackendError: `KERAS_BACKEND` names a backend seqrecipes does not train on, or Keras
            is already imported with another backend than the one `requested`.
        MissingDependencyError: JAX is asked for and not installed.
    """
    environ = os.environ if environ is None else environ
    current = loaded()
    if requested is None:
        if current is not None:
            return current  # Keras chose already, from the same environment
        requested = environ.get(VARIABLE) or installed(default)
        if requested not in BACKENDS:
            raise BackendError(
                f"The environment sets {VARIABLE}={requested!r}, and seqrecipes trains on "
                f"{' or '.join(BACKENDS)} only. Pass `backend`='tensorflow' or "
                f"`backend`='jax', or unset {VARIABLE}."
            )
    if current is not None and current != requested:
        raise BackendError(
            f"This process imported Keras with the {current!r} backend already, and a Keras "
            f"backend cannot change once Keras is imported; this command needs "
            f"backend={requested!r}. Run it in a new process (or set "
            f"{VARIABLE}={requested} before Keras is imported)."
        )
    if current is None and requested == "jax" and importlib.util.find_spec("jax") is None:
        raise MissingDependencyError(
            "backend='jax' needs JAX, which is not installed: pip install \"seqrecipes[jax]\" "
            "(or train on backend='tensorflow')."
        )
    environ[VARIABLE] = requested
    return requested


def for_command(args):
    """Chooses the backend of the parsed command `args` (`choose`), before it runs.

    A subcommand states what it needs through argparse defaults: `backend` (the flag of
    `train`, None when not given) with `default_backend`, or `serving_backend` (the verbs that
    load a saved model). A subcommand with neither leaves Keras its own choice.
    """
    serving = getattr(args, "serving_backend", None)
    if serving is not None:
        return choose(serving)
    if not hasattr(args, "backend"):
        return None
    return choose(args.backend, default=args.default_backend)
