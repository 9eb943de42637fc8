"""Whether an interrupted run may resume: its state file, its weights, its settings and inputs.

`training.prepare_run_dir` calls `check` before any data is read, so that a rerun of a command
whose data file or settings changed since the run was interrupted stops at once, saying what
changed, instead of resuming on other data (silently when the vocabulary comes out the same) or
failing inside Keras when the weights no longer fit the model ("A total of 2 objects could not
be loaded", followed by the tensors). A damaged state (a truncated `state.json`, a missing or
truncated weights file) is named the same way. Every message offers the same two ways out:
`overwrite=True`, which discards the training state and starts afresh, or another `run_dir`;
the interrupted run is left as it is, to resume once its inputs are back as they were.
"""

import json
import pathlib
import re

from seqrecipes.errors import RunDirectoryError
from seqrecipes.recipes.engine import fingerprint as _fingerprint

STATE_FILE = "state.json"
# What the state file holds (`callbacks.EpochCommit` writes it), and each value's type.
STATE_KEYS = {
    "config": dict, "history": list, "epochs_done": int, "best_value": (int, float, type(None)),
    "best_epoch": (int, type(None)), "best_weights": (str, type(None)),
    "last_weights": (str, type(None)), "wait": int, "stopped_early": bool,
}


def _ways_out(state_dir):
    return (f"Pass overwrite=True to discard its training state ({str(state_dir)!r}) and start "
            "afresh, or choose another `run_dir` to keep it as it is.")


def _is_file_record(record):
    """Whether `record` has the shape of a `fingerprint.file_record`."""
    return (isinstance(record, dict) and isinstance(record.get("sha256"), str)
            and isinstance(record.get("bytes"), int))


def read_state(state_dir):
    """The training state in `state_dir`, checked for shape; `RunDirectoryError` if damaged."""
    state_dir = pathlib.Path(state_dir)
    run_dir, path = state_dir.parent, state_dir / STATE_FILE

    def damaged(what):
        return RunDirectoryError(
            f"{str(run_dir)!r} holds an interrupted run whose training state {str(path)!r} is "
            f"damaged ({what}), so it cannot resume. {_ways_out(state_dir)}"
        )

    try:
        state = json.loads(path.read_bytes())
    except ValueError as error:  # JSONDecodeError, or bytes that are not UTF-8
        raise damaged(f"not JSON: {error}") from None
    if not isinstance(state, dict):
        raise damaged(f"a JSON {type(state).__name__} where an object is expected")
    missing = [key for key in STATE_KEYS if key not in state]
    if missing:
        raise damaged(f"no {', '.join(missing)}")
    wrong = [key for key, kind in STATE_KEYS.items()
             if not isinstance(state[key], kind)
             or (kind is int and isinstance(state[key], bool))]
    if wrong:
        raise damaged(", ".join(f"{key}={state[key]!r}" for key in wrong))
    if state["epochs_done"] > 0 and state["last_weights"] is None:
        raise damaged(f"epochs_done={state['epochs_done']} but no weights are named")
    inputs, checksums = state.get("inputs", {}), state.get("checksums", {})
    if not (isinstance(inputs, dict) and all(
        isinstance(files, dict) and all(_is_file_record(record) for record in files.values())
        for files in inputs.values()
    )):
        raise damaged(f"inputs={inputs!r}")
    if not (isinstance(checksums, dict)
            and all(isinstance(digest, str) for digest in checksums.values())):
        raise damaged(f"checksums={checksums!r}")
    return state


def check(state_dir, config, *, resumable):
    """Raises `RunDirectoryError` unless the run interrupted in `state_dir` can resume with
    `config`: the same settings (except `resumable` ones), the same input files by content
    (`fingerprint.differences`) and its weights files whole.

    A state written before input files were fingerprinted (no "inputs") is resumed on its
    settings alone; a state without "checksums" has its weights checked when they are loaded.
    """
    state_dir = pathlib.Path(state_dir)
    run_dir = state_dir.parent
    state = read_state(state_dir)
    started = state["config"]
    if "backend" in config and "backend" not in started:
        # Written before runs recorded their Keras backend: TensorFlow, the only one then.
        started = {**started, "backend": "tensorflow"}
    changed = [key for key in sorted(set(started) | set(config))
               if key not in resumable and started.get(key) != config.get(key)]
    changes = [f"`{key}`: {started.get(key)!r} then, {config.get(key)!r} now"
               for key in changed]
    if "inputs" in state:  # the files of a changed setting are not named a second time
        then, now = ({key: files for key, files in fingerprint.items() if key not in changed}
                     for fingerprint in (state["inputs"], _fingerprint.fingerprint(config)))
        changes += _fingerprint.differences(then, now)
    if changes:
        raise RunDirectoryError(
            f"{str(run_dir)!r} holds an interrupted run started on other data or settings, so "
            f"it cannot resume with these: {'; '.join(changes)}. To resume it, run it with the "
            f"settings and files it started with. {_ways_out(state_dir)}"
        )
    checksums = state.get("checksums", {})
    for name in dict.fromkeys((state["last_weights"], state["best_weights"])):
        if name is None:
            continue
        path = state_dir / name
        if not path.is_file():
            what = "is missing"
        elif name in checksums and _fingerprint.sha256(path) != checksums[name]:
            what = "has changed since it was written (its SHA-256 differs)"
        else:
            continue
        raise RunDirectoryError(
            f"{str(run_dir)!r} holds an interrupted run whose weights file {str(path)!r} "
            f"{what}, so it cannot resume. {_ways_out(state_dir)}"
        )
    return state


# Keras's message when a weights file's variables do not fit the model's (`saving_lib`).
_SHAPES = re.compile(r"variable\.shape=(\([^)]*\)), Received: value\.shape=(\([^)]*\))")
_VARIABLE = re.compile(r"Target variable: <Variable path=([^,]+),")


def load_weights(model, state_dir, name):
    """`model.load_weights(state_dir / name)`, a file that does not fit the model (another
    shape, a truncated file) raising `RunDirectoryError` instead of Keras's tensor dump."""
    state_dir = pathlib.Path(state_dir)
    path = state_dir / name
    try:
        model.load_weights(path)
    except (ValueError, OSError, KeyError) as error:  # h5py: OSError; Keras: ValueError
        text = str(error)
        shapes, variable = _SHAPES.search(text), _VARIABLE.search(text)
        if shapes:
            where = f" {variable.group(1)}" if variable else ""
            reason = (f"the model's variable{where} has shape {shapes.group(1)}, the file's "
                      f"{shapes.group(2)}: the run was started with another model or "
                      "vocabulary")
        else:
            reason = text.splitlines()[0] if text else type(error).__name__
        raise RunDirectoryError(
            f"The weights file {str(path)!r} of the interrupted run in "
            f"{str(state_dir.parent)!r} does not fit the model this run builds ({reason}). "
            f"{_ways_out(state_dir)}"
        ) from None
