"""The run directory: one place that writes and reads what a recipe produced.

A finished run directory holds::

    model.keras            the trained model, vocabulary layers inside (raw strings go in)
    config.json            every setting of the run, the seed, the distribution strategy and
                           the package versions
    metrics.json           the evaluation figures
    history.csv            one row per epoch (loss and metrics, train and validation)
    *.png                  figures (training curves, confusion matrix, ...)
    run.json               the manifest, written last: format version, versions, files + sizes

Writes are atomic at the level of the whole directory (`folders.write_folder`, which every
export uses too): everything is written into a hidden staging directory beside the run, the
manifest last, and only then swapped in with two renames. A crash at any point leaves either
the previous complete run or the new one; if it falls between the two renames, `load_run`
finds the previous run under its hidden name and puts it back. A directory without a valid
manifest is never loaded as a run, and a run directory that holds files the manifest does
not list is never replaced (they would be lost).

While training, the resumable state lives in ``RUN/.training/`` (see `recipes/_training.py`);
a previous complete run in ``RUN`` stays loadable until the new one replaces it.
"""

import dataclasses
import json
import pathlib
import platform
import zipfile

from seqrecipes.errors import RunDirectoryError
from seqrecipes.recipes.engine import fingerprint as _fingerprint
from seqrecipes.recipes.engine import folders as _folders

MANIFEST = "run.json"
MODEL_FILE = "model.keras"
TRAINING_STATE_DIR = ".training"
# Bump when the layout or the meaning of a file changes; `load_run` reads every format from
# `OLDEST_READABLE_FORMAT` up to this one and refuses newer ones, naming both versions.
RUN_FORMAT = 1
OLDEST_READABLE_FORMAT = 1


def package_versions(*, framework=True):
    """Returns the versions that matter for reproducing a run.

    `framework=False` leaves Keras and TensorFlow out, for a run without a Keras model
    (`vectors`), which then never imports them (about 5 s here).
    """
    import numpy

    import seqrecipes

    versions = {"seqrecipes": seqrecipes.__version__}
    if framework:
        import keras
        import tensorflow

        versions.update(keras=keras.__version__, tensorflow=tensorflow.__version__)
        if keras.backend.backend() == "jax":
            import jax

            versions["jax"] = jax.__version__
    return {**versions, "numpy": numpy.__version__, "python": platform.python_version()}


@dataclasses.dataclass(frozen=True)
class Run:
    """A loaded run directory."""

    path: pathlib.Path
    model: object
    config: dict
    metrics: dict
    manifest: dict

    def history(self):
        """Returns `history.csv` as a pandas DataFrame (empty if the run has none)."""
        import pandas

        path = self.path / "history.csv"
        return pandas.read_csv(path) if path.exists() else pandas.DataFrame()


def _write_json(path, data):
    text = json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"
    path.write_text(text, encoding="utf-8")  # UTF-8 whatever the platform's encoding


_sha256 = _fingerprint.sha256


def write_run(run_dir, *, model, config, metrics, history=None, figures=None, files=None):
    """Writes a complete run directory atomically and returns its path.

    Args:
        run_dir: path. The run directory; replaced as a whole if it exists.
        model: a Keras model, saved as `model.keras`, or None for a run without one
            (`vectors`: gensim's files, given in `files`).
        config: dict. Every setting of the run; for a Keras model, the Keras backend it
            trained on ("backend") and how training was distributed (`--strategy`), and the
            package versions are added.
        metrics: dict. Evaluation figures (JSON-serialisable).
        history: list of dicts or a DataFrame, one row per epoch, or None.
        figures: dict of file name -> matplotlib Figure (saved as PNG and closed).
        files: dict of file name -> str / bytes / JSON-serialisable object, for anything else,
            or a function of the file's path that writes it (a file too large to hold twice).

    Returns:
        The `pathlib.Path` of the run directory.

    Raises:
        RunDirectoryError: `run_dir` holds files that seqrecipes did not write (named), or is
            not a run directory.
        OutputError: the file system refused the write (full, read-only, ...); the previous
            run is kept.
    """

    def fill(staging):
        _fill_run(staging, model=model, config=config, metrics=metrics, history=history,
                  figures=figures, files=files)

    return _folders.write_folder(
        run_dir, fill, overwrite=True, owned=run_files, complete=is_complete_run,
        kind="run directory", flag="run_dir",
    )


def _fill_run(staging, *, model, config, metrics, history, figures, files):
    import pandas

    framework = model is not None
    if framework:
        import keras

        from seqrecipes.recipes.engine.strategy import describe_current

        model.save(staging / MODEL_FILE)
        config = {**config, "backend": keras.backend.backend(),
                  "distribution": describe_current()}
    versions = package_versions(framework=framework)
    _write_json(staging / "config.json", {**config, "versions": versions})
    _write_json(staging / "metrics.json", metrics)
    if history is not None:
        pandas.DataFrame(history).to_csv(staging / "history.csv", index=False)
    for name, figure in (figures or {}).items():
        import matplotlib.pyplot as plt

        try:
            figure.savefig(staging / name, dpi=120, bbox_inches="tight")
        finally:
            plt.close(figure)
    for name, content in (files or {}).items():
        target = staging / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if callable(content):
            content(target)
        elif isinstance(content, bytes):
            target.write_bytes(content)
        elif isinstance(content, str):
            target.write_text(content, encoding="utf-8")
        else:
            _write_json(target, content)
    manifest = {
        "format": RUN_FORMAT,
        "versions": versions,
        "recipe": config.get("recipe"),
        "files": {
            str(path.relative_to(staging)): {"bytes": path.stat().st_size,
                                             "sha256": _sha256(path)}
            for path in sorted(staging.rglob("*"))
            if path.is_file()
        },
    }
    _write_json(staging / MANIFEST, manifest)


def is_complete_run(folder):
    """True when `folder` holds a run's manifest (it is whole: the manifest is written last)."""
    return (pathlib.Path(folder) / MANIFEST).is_file()


def run_files(folder):
    """The files of `folder` that seqrecipes wrote as a run directory (`folders.check_target`):
    what its manifest lists, the manifest, and the training state; None if it has neither."""
    folder = pathlib.Path(folder)
    owned = set()
    state = folder / TRAINING_STATE_DIR
    if state.is_dir():
        owned |= {f"{TRAINING_STATE_DIR}/{path.relative_to(state).as_posix()}"
                  for path in state.rglob("*")}
    if (folder / MANIFEST).is_file():
        owned.add(MANIFEST)
        try:
            listed = json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("files", {})
            owned |= {pathlib.PurePath(name).as_posix() for name in listed}
        except (OSError, ValueError, AttributeError, TypeError):
            pass  # a damaged manifest vouches for itself only
    elif not state.is_dir():
        return None
    return owned


def _recover_interrupted_swap(run_dir):
    """Puts back a complete previous run if a crash fell between the two renames."""
    _folders.recover(run_dir, complete=is_complete_run)


def read_manifest(run_dir):
    """Returns the manifest of a complete run, or raises `RunDirectoryError` saying why not."""
    run_dir = pathlib.Path(run_dir)
    _recover_interrupted_swap(run_dir.resolve())
    if not run_dir.exists():
        raise RunDirectoryError(f"No run directory at {str(run_dir)!r}. Train one first.")
    if not run_dir.is_dir():
        raise RunDirectoryError(f"{str(run_dir)!r} is a file, not a run directory.")
    manifest_path = run_dir / MANIFEST
    if not manifest_path.is_file():
        hint = (
            "training was interrupted before it finished; run the same train command again "
            "to resume it"
            if (run_dir / TRAINING_STATE_DIR).is_dir()
            else "it was not written by seqrecipes, or a write did not finish"
        )
        raise RunDirectoryError(f"{str(run_dir)!r} is not a complete run directory ({hint}).")
    manifest = _checked_manifest(manifest_path)
    run_format = manifest["format"]
    written_by = manifest.get("versions", {}).get("seqrecipes", "an unknown version")
    if not isinstance(run_format, int) or run_format > RUN_FORMAT:
        from seqrecipes import __version__

        raise RunDirectoryError(
            f"{str(run_dir)!r} was written by seqrecipes {written_by} in run format "
            f"{run_format!r}; this is seqrecipes {__version__}, which reads formats "
            f"{OLDEST_READABLE_FORMAT} to {RUN_FORMAT}. Upgrade seqrecipes to load it."
        )
    if run_format < OLDEST_READABLE_FORMAT:
        from seqrecipes import __version__

        raise RunDirectoryError(
            f"{str(run_dir)!r} was written by seqrecipes {written_by} in run format "
            f"{run_format}, which seqrecipes {__version__} no longer reads (oldest: "
            f"{OLDEST_READABLE_FORMAT}). Retrain it with this version."
        )
    for name, entry in manifest["files"].items():
        what = _changed(run_dir / name, entry)
        if what:
            raise RunDirectoryError(
                f"{str(run_dir)!r} is damaged: {name} {what} (run.json records each file's "
                "size and SHA-256). Restore the file from a copy of the run, or train the run "
                "again."
            )
    return manifest


def _checked_manifest(path):
    """The manifest at `path` as a dict whose "format" and "files" have the right shape, or
    `RunDirectoryError` naming what is wrong with it."""
    try:
        manifest = json.loads(path.read_bytes())
    except ValueError as error:  # not JSON (truncated, zeroed), or not UTF-8
        problem = f"it is not JSON: {error}"
    else:
        files = manifest.get("files", {}) if isinstance(manifest, dict) else None
        if not isinstance(manifest, dict):
            problem = f"a JSON {type(manifest).__name__} where an object is expected"
        elif "format" not in manifest:
            problem = "it names no run format"
        elif not isinstance(manifest.get("versions", {}), dict):
            problem = f"versions={manifest['versions']!r}"
        elif not isinstance(files, dict) or not all(
            isinstance(entry, dict) and isinstance(entry.get("bytes"), int)
            and isinstance(entry.get("sha256", ""), str) for entry in files.values()
        ):
            problem = f"its files are not a table of sizes and SHA-256 sums: files={files!r}"
        else:
            return {**manifest, "files": files}
    raise RunDirectoryError(
        f"{str(path)!r} is damaged ({problem}), so the run cannot be checked or loaded. "
        "Restore the run directory from a copy, or train the run again."
    )


def _changed(path, entry):
    """How the file at `path` differs from its manifest `entry`, or None when it does not.

    Checked by content: a file zeroed at the same size (as after a power cut) keeps its size.
    An entry without "sha256" (none is written without one; a hand-made manifest) is checked
    by size only. Hashing costs little beside loading: for a 64 MB run (a 2M x 8 embedding, as
    large as an NBSVM over IMDB's n-grams) the sizes and SHA-256 took 55-84 ms of load_run's
    460-880 ms, once per load (a loaded run predicts many times without it).
    """
    if not path.is_file():
        return "is missing"
    size = path.stat().st_size
    if size != entry["bytes"]:
        return (f"has changed since the run was written ({entry['bytes']:,} bytes then, "
                f"{size:,} now)")
    if "sha256" in entry and _fingerprint.sha256(path) != entry["sha256"]:
        return ("has changed since the run was written (the same size, "
                f"{size:,} bytes, but another SHA-256)")
    return None


def _versions_note(written):
    """Which package versions differ between the writer of a run and this installation."""
    now = package_versions()
    changed = [f"{name} {written.get(name, '?')} then, {version} now"
               for name, version in now.items() if written.get(name) != version]
    return "written with " + ("; ".join(changed) if changed else "the same package versions")


def load_run(run_dir, *, compile=False):
    """Loads a complete run directory: its model (with `safe_mode=True`), config and metrics.

    Every file the manifest lists is checked against its size and SHA-256 first
    (`read_manifest`), once per load: `load`, `predict`, `evaluate` and `export` of every
    recipe come through here.

    Args:
        run_dir: path of the run directory.
        compile: bool. Also restore the training configuration. Defaults to False.

    Raises:
        RunDirectoryError: the directory is missing, incomplete, damaged (the file is named),
            or written in a run format this version cannot read (both versions are named).
    """
    import keras

    run_dir = pathlib.Path(run_dir)
    manifest = read_manifest(run_dir)
    # Registers the custom layers (masked convolutions, CRF, string lookups of characters,
    # ...) before deserialising.
    from seqrecipes import _lazy

    _lazy.import_all("seqrecipes.datasets")
    _lazy.import_all("seqrecipes.models")

    model_path = run_dir / MODEL_FILE
    try:
        model = keras.saving.load_model(model_path, compile=compile, safe_mode=True)
    except Exception as error:  # Keras raises several types for an unreadable file.
        if "safe_mode" in str(error):
            raise RunDirectoryError(
                f"{model_path} holds Python code (e.g. a Lambda layer), and seqrecipes loads "
                "models with Keras safe_mode=True, which never runs code from a file. A model "
                "written by seqrecipes holds none: retrain the run with seqrecipes (load the "
                "file with keras.saving.load_model(..., safe_mode=False) yourself only if you "
                f"trust where it came from). Keras said: {str(error).split('. ')[0]}."
            ) from error
        if model_path.is_file() and not zipfile.is_zipfile(model_path):
            # Keras says "File not found" for any file that is not a zip archive.
            raise RunDirectoryError(
                f"{str(model_path)!r} is not a readable .keras file (a zip archive): it is "
                "truncated or damaged. Restore it from a copy of the run, or train the run "
                "again."
            ) from None
        raise RunDirectoryError(
            f"Could not load {model_path} ({_versions_note(manifest.get('versions', {}))}): "
            f"{error}"
        ) from error
    config, metrics = (_read_json(run_dir / name) for name in ("config.json", "metrics.json"))
    return Run(path=run_dir, model=model, config=config, metrics=metrics, manifest=manifest)


def _read_json(path):
    """The JSON object in `path` ({} when there is no such file), or `RunDirectoryError`."""
    if not path.exists():
        return {}
    try:
        content = json.loads(path.read_bytes())
    except ValueError as error:
        content, problem = None, f"not JSON: {error}"
    else:
        problem = f"a JSON {type(content).__name__} where an object is expected"
    if isinstance(content, dict):
        return content
    raise RunDirectoryError(
        f"{str(path)!r} is damaged ({problem}). Restore it from a copy of the run, or train the "
        "run again."
    )


SAVED_MODEL_FILE = "saved_model.pb"
# What marks a folder as an export of ours, besides a SavedModel: the description every
# portable export (ONNX, LiteRT) writes beside its graph.
EXPORT_DESCRIPTION_FILE = "seqrecipes.json"
# The manifest of an export: every file the export wrote (names, sizes, SHA-256). With it,
# `overwrite=True` replaces what is ours and refuses a folder where anything else was put.
EXPORT_MANIFEST = "seqrecipes-export.json"
EXPORT_FORMAT = 1
# An export written before the manifest (seqrecipes 0.x): a SavedModel, recognised by its
# layout; anything beside these is not ours.
_SAVED_MODEL_TOP = {SAVED_MODEL_FILE, "fingerprint.pb", "keras_metadata.pb",
                    EXPORT_DESCRIPTION_FILE}


def is_complete_export(folder):
    """True when `folder` holds a whole export of ours (its manifest, or a SavedModel)."""
    folder = pathlib.Path(folder)
    return (folder / EXPORT_MANIFEST).is_file() or (folder / SAVED_MODEL_FILE).is_file()


def export_files(folder):
    """The files of `folder` that seqrecipes wrote as an export (`folders.check_target`), or
    None when it holds no export of ours."""
    folder = pathlib.Path(folder)
    manifest = folder / EXPORT_MANIFEST
    if manifest.is_file():
        try:
            listed = json.loads(manifest.read_text(encoding="utf-8")).get("files", {})
            return {EXPORT_MANIFEST, *(pathlib.PurePath(name).as_posix() for name in listed)}
        except (OSError, ValueError, AttributeError, TypeError):
            return {EXPORT_MANIFEST}  # a damaged manifest vouches for itself only
    if not (folder / SAVED_MODEL_FILE).is_file():
        return None
    owned = set()
    for path in folder.rglob("*"):
        name = path.relative_to(folder).as_posix()
        top = name.split("/")[0]
        if (name in _SAVED_MODEL_TOP or top == "assets"
                or name == f"assets.extra/{EXPORT_DESCRIPTION_FILE}"
                or (top == "variables" and path.name.startswith("variables."))):
            owned.add(name)
    return owned


def write_export(export_dir, fill, *, overwrite=False):
    """Writes an export folder atomically: `fill(staging)` writes its content.

    Every recipe's export goes through here, whatever the format, so they all refuse the same
    things (`folders.write_folder`): a new or empty directory is written; one that holds an
    export of ours is replaced only with `overwrite=True`, and only if it holds nothing else
    (a folder with any file seqrecipes did not write is never replaced, and the message names
    those files). What is ours is listed in the export's manifest, `seqrecipes-export.json`,
    written beside the content; a SavedModel exported before the manifest existed is
    recognised by its layout. The content is written into a hidden staging directory beside
    the target and renamed into place.

    Args:
        export_dir: str or path-like. The export directory.
        fill: a function of the staging directory (a `pathlib.Path`, existing and empty) that
            writes the export into it.
        overwrite: bool. Replace an export already in `export_dir`.

    Returns:
        The `pathlib.Path` of the export directory (absolute).

    Raises:
        RunDirectoryError: `export_dir` is a file, holds an export (without `overwrite`) or
            holds something else.
        OutputError: the file system refused the write (full, read-only, ...); the previous
            export is kept.
    """

    def fill_and_list(staging):
        fill(staging)
        _write_json(staging / EXPORT_MANIFEST, {
            "format": EXPORT_FORMAT,
            "versions": package_versions(),
            "files": {
                path.relative_to(staging).as_posix(): {"bytes": path.stat().st_size,
                                                       "sha256": _sha256(path)}
                for path in sorted(staging.rglob("*"))
                if path.is_file()
            },
        })

    return _folders.write_folder(
        export_dir, fill_and_list, overwrite=overwrite, owned=export_files,
        complete=is_complete_export, kind="export", flag="export_dir",
    )


def export_saved_model(model, export_dir, *, overwrite=False, describe=None):
    """Writes `model.export()` (a TensorFlow SavedModel) to `export_dir` (`write_export`).

    Args:
        model: a Keras model.
        export_dir: str or path-like. The SavedModel directory.
        overwrite: bool. Replace an export already in `export_dir`.
        describe: a function of the staging directory that writes files beside the
            SavedModel (e.g. ``assets.extra/seqrecipes.json``), or None.

    Returns:
        The `pathlib.Path` of the SavedModel directory (absolute).

    Raises:
        RunDirectoryError: as `write_export`.
    """

    def fill(staging):
        # model.export wants to create its directory itself.
        staging.rmdir()
        model.export(str(staging), format="tf_saved_model", verbose=False)
        if describe is not None:
            describe(staging)

    return write_export(export_dir, fill, overwrite=overwrite)
