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
import hashlib
import json
import pathlib
import platform

from seqrecipes.errors import RunDirectoryError
from seqrecipes.recipes.engine import folders as _folders

MANIFEST = "run.json"
MODEL_FILE = "model.keras"
TRAINING_STATE_DIR = ".training"
# Bump when the layout or the meaning of a file changes; `load_run` reads every format from
# `OLDEST_READABLE_FORMAT` up to this one and refuses newer ones, naming both versions.
RUN_FORMAT = 1
OLDEST_READABLE_FORMAT = 1


def package_versions():
    """Returns the versions that matter for reproducing a run."""
    import keras
    import numpy
    import tensorflow

    import seqrecipes

    return {
        "seqrecipes": seqrecipes.__version__,
        "keras": keras.__version__,
        "tensorflow": tensorflow.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
    }


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
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_run(run_dir, *, model, config, metrics, history=None, figures=None, files=None):
    """Writes a complete run directory atomically and returns its path.

    Args:
        run_dir: path. The run directory; replaced as a whole if it exists.
        model: a Keras model, saved as `model.keras`.
        config: dict. Every setting of the run; how training was distributed (`--strategy`)
            and the package versions are added.
        metrics: dict. Evaluation figures (JSON-serialisable).
        history: list of dicts or a DataFrame, one row per epoch, or None.
        figures: dict of file name -> matplotlib Figure (saved as PNG and closed).
        files: dict of file name -> str / bytes / JSON-serialisable object, for anything else.

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

    model.save(staging / MODEL_FILE)
    from seqrecipes.recipes.engine.strategy import describe_current

    _write_json(staging / "config.json", {
        **config, "distribution": describe_current(),
        "versions": package_versions(),
    })
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
        if isinstance(content, bytes):
            target.write_bytes(content)
        elif isinstance(content, str):
            target.write_text(content)
        else:
            _write_json(target, content)
    manifest = {
        "format": RUN_FORMAT,
        "versions": package_versions(),
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
            listed = json.loads((folder / MANIFEST).read_text()).get("files", {})
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
    try:
        manifest = json.loads(manifest_path.read_text())
        run_format = manifest["format"]
    except (ValueError, KeyError) as error:
        raise RunDirectoryError(f"{manifest_path} is damaged ({error}).") from None
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
    for name, entry in manifest.get("files", {}).items():
        path = run_dir / name
        if not path.is_file() or path.stat().st_size != entry["bytes"]:
            raise RunDirectoryError(
                f"{str(run_dir)!r} is damaged: {name} is missing or has changed since the run "
                "was written. Retrain, or restore the file."
            )
    return manifest


def _versions_note(written):
    """Which package versions differ between the writer of a run and this installation."""
    now = package_versions()
    changed = [f"{name} {written.get(name, '?')} then, {version} now"
               for name, version in now.items() if written.get(name) != version]
    return "written with " + ("; ".join(changed) if changed else "the same package versions")


def load_run(run_dir, *, compile=False, verify_checksums=False):
    """Loads a complete run directory: its model (with `safe_mode=True`), config and metrics.

    Args:
        run_dir: path of the run directory.
        compile: bool. Also restore the training configuration. Defaults to False.
        verify_checksums: bool. Check every file's SHA-256 against the manifest (slower).

    Raises:
        RunDirectoryError: the directory is missing, incomplete, damaged, or written in a
            run format this version cannot read (both versions are named).
    """
    import keras

    run_dir = pathlib.Path(run_dir)
    manifest = read_manifest(run_dir)
    if verify_checksums:
        for name, entry in manifest["files"].items():
            if _sha256(run_dir / name) != entry["sha256"]:
                raise RunDirectoryError(f"{str(run_dir)!r} is damaged: {name} has changed.")
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
        raise RunDirectoryError(
            f"Could not load {model_path} ({_versions_note(manifest.get('versions', {}))}): "
            f"{error}"
        ) from error
    config = json.loads((run_dir / "config.json").read_text())
    metrics_path = run_dir / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    return Run(path=run_dir, model=model, config=config, metrics=metrics, manifest=manifest)


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
            listed = json.loads(manifest.read_text()).get("files", {})
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
