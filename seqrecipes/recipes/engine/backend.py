"""`--backend tensorflow|jax`: which Keras backend a command runs on, chosen before Keras loads.

Keras reads its backend once, from the `KERAS_BACKEND` environment variable, when it is first
imported; it cannot change afterwards. The command line therefore chooses it here, after the
flags are parsed and before anything imports Keras (building the parser imports none):

* a `train` subcommand (`add_training_flags`) runs on its `--backend`; without the flag, on
  `KERAS_BACKEND` when the environment sets it, else on the recipe's default backend
  (`flags.DEFAULT_BACKENDS`, one line per recipe, so each default can follow its measurements:
  a name, or a `PreferJax` rule: JAX where it is installed and wins, for NER only on training
  data large enough to repay its compiles);
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

import dataclasses
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


@dataclasses.dataclass(frozen=True)
class PreferJax:
    """A recipe's default backend where JAX wins it end to end (measured): JAX when it is
    installed (`installed`), and, with `data`, only when the file that flag (its dest) names
    holds at least `min_bytes`; TensorFlow otherwise, and whatever the data for what only
    TensorFlow trains: `--strategy multi-worker`, and each (dest, value) of `unless` (a
    stateful model, say).

    Why a size: JAX compiles its training step once per batch shape, a fixed cost of seconds
    to minutes a run, and then takes fewer seconds per epoch than TensorFlow; where a recipe
    makes many shapes (NER's buckets and character widths), small data (the embedded sample)
    ends sooner on TensorFlow and large data on JAX. The size is the file's, read before Keras
    is imported (the backend cannot change afterwards); no file, or one that cannot be read,
    counts as small, and the recipe then says what is wrong with it.
    """

    data: str = None
    min_bytes: int = 0
    unless: tuple = ()

    def _tensorflow_only(self):
        return (("strategy", "multi-worker"), *self.unless)

    def __call__(self, args):
        if any(getattr(args, dest, None) == value for dest, value in self._tensorflow_only()):
            return "tensorflow"
        if self.data is None:
            return "jax"
        path = getattr(args, self.data, None)
        try:
            size = os.path.getsize(path) if path else 0
        except (OSError, TypeError, ValueError):
            size = 0
        return "jax" if size >= self.min_bytes else "tensorflow"

    def _flag(self):
        return "--" + self.data.replace("_", "-")

    def _size(self):
        return f"{self._flag()} is a file of at least {self.min_bytes / 1e6:g} MB"

    def describe(self):
        """How the default is chosen, for `--help`."""
        but = ", ".join(f"--{dest.replace('_', '-')} {value}"
                        for dest, value in self._tensorflow_only())
        size = f" and {self._size()}" if self.data is not None else ""
        return (f"jax when installed{size}, where it trains faster (measured); tensorflow "
                f"otherwise, and with {but}")

    def announce(self):
        """The line a command prints when this rule chose JAX."""
        why = (f"the default for a {self._flag()} file of {self.min_bytes / 1e6:g} MB or more"
               if self.data is not None else "this recipe's default where JAX is installed")
        return (f"Training on JAX, {why} (it trains faster there, measured); "
                "--backend tensorflow trains on TensorFlow.")


def describe(default):
    """How a recipe's default backend is chosen, in words for `--help`."""
    if isinstance(default, PreferJax):
        return default.describe()
    return f"{default}{' when installed, tensorflow otherwise' if default == 'jax' else ''}"


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
    `train`, None when not given) with `default_backend` (a name, or a `PreferJax` rule
    applied to `args`), or `serving_backend` (the verbs that
    load a saved model). A subcommand with neither leaves Keras its own choice.
    """
    serving = getattr(args, "serving_backend", None)
    if serving is not None:
        return choose(serving)
    if not hasattr(args, "backend"):
        return None
    default = args.default_backend
    by_rule = args.backend is None and callable(default) and not os.environ.get(VARIABLE)
    if callable(default):
        default = default(args)
    chosen = choose(args.backend, default=default)
    if by_rule and chosen == "jax" and not getattr(args, "quiet", False):
        print(args.default_backend.announce())
    return chosen
