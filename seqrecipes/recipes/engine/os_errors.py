"""What the file system said, in the user's words: one message per reason a write fails.

Every command that writes (a run directory, an export, an ``--output``, ``--html`` or
``--png`` file) writes inside `explained(path, what=..., flag=...)`. An `OSError` whose
reason the user can fix (a full disk, a read-only file system, no permission, a name too
long, a parent that is a file or is missing, a directory where a file goes) leaves it as
an `OutputError` that names the path, the argument and what to do; TensorFlow reports the same reasons through its own error classes
while writing a SavedModel (`ResourceExhaustedError` for a full disk,
`FailedPreconditionError` for a parent that is a file, `PermissionDeniedError`), and those
are read the same way. Anything else propagates unchanged.
"""

import contextlib
import errno
import os
import pathlib
import shutil

from seqrecipes.errors import SeqrecipesError

# Reasons by errno; each maps to what happened and what to do about it.
_NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_READ_ONLY = {errno.EROFS}
_NO_PERMISSION = {errno.EACCES, errno.EPERM}
_NAME_TOO_LONG = {errno.ENAMETOOLONG}
_NOT_A_DIRECTORY = {errno.ENOTDIR, errno.EEXIST}
_IS_A_DIRECTORY = {errno.EISDIR}
_NO_SUCH_DIRECTORY = {errno.ENOENT}


class OutputError(SeqrecipesError, OSError):
    """The file system refused a write: no space, read-only, no permission, a name too long
    or a parent that is a file. The message names the path and what to do."""


def _reason(error):
    """The errno that `error` stands for, or None when it is none we explain."""
    if isinstance(error, OSError) and not isinstance(error, SeqrecipesError):
        return error.errno
    kind = type(error).__name__
    if not type(error).__module__.startswith("tensorflow"):
        return None
    text = str(error)
    if kind == "ResourceExhaustedError" and ("space" in text.lower() or "ENOSPC" in text):
        return errno.ENOSPC
    if kind == "FailedPreconditionError" and "directory" in text.lower():
        return errno.ENOTDIR
    if kind == "PermissionDeniedError":
        return errno.EROFS if "read-only" in text.lower() else errno.EACCES
    return None


def _file_in_the_way(path):
    """The nearest ancestor of `path` (or `path`) that exists and is not a directory."""
    for candidate in [path, *path.parents]:
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None


def message(path, reason, *, what, flag):
    """The message for a write of `what` at `path` that failed with errno `reason`."""
    path = pathlib.Path(path)
    where = f"`{flag}`: " if flag else ""
    choose = f"choose another `{flag}`" if flag else "choose another path"
    if reason in _NO_SPACE:
        return (f"{where}no space left on the device that holds {str(path)!r} while "
                f"writing {what}. Free some space (or {choose} on another disk) and run the "
                "command again; what was there before is unchanged.")
    if reason in _READ_ONLY:
        return (f"{where}{str(path)!r} is on a read-only file system, so {what} cannot be "
                f"written there. {choose[0].upper() + choose[1:]} on a writable one.")
    if reason in _NO_PERMISSION:
        return (f"{where}permission denied writing {what} at {str(path)!r}. "
                f"{choose[0].upper() + choose[1:]} that you can write to, or change the "
                "permissions of its directory.")
    if reason in _NAME_TOO_LONG:
        return (f"{where}the name {str(path)!r} is too long for its file system "
                f"(names are limited to {name_max(path.parent)} bytes). Choose a shorter one.")
    if reason in _IS_A_DIRECTORY:
        return (f"{where}{str(path)!r} is a directory, so {what} cannot be written there as "
                f"a file. Name a file (e.g. one inside it).")
    if reason in _NO_SUCH_DIRECTORY and not path.parent.exists():
        return (f"{where}the directory {str(path.parent)!r} does not exist, so {what} cannot "
                f"be written at {str(path)!r}. Create it first, or {choose}.")
    if reason in _NOT_A_DIRECTORY:
        blocker = _file_in_the_way(path.parent)
        if blocker is None:
            blocker = _file_in_the_way(path)
        if blocker is not None:
            return (f"{where}{str(blocker)!r} is a file, so {what} cannot be written at "
                    f"{str(path)!r} (a directory is needed there). {choose[0].upper()}"
                    f"{choose[1:]}, or move the file.")
    return None


def name_max(directory):
    """NAME_MAX of the file system that holds `directory` (or its nearest existing parent)."""
    directory = pathlib.Path(directory)
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent
    try:
        return os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # not POSIX, or a parent that is a file
        return 255


@contextlib.contextmanager
def explained(path, *, what, flag=None):
    """Within it, an OS error of writing `what` at `path` becomes an `OutputError`.

    Args:
        path: str or path-like. What is being written (the folder or file the user named).
        what: str. What is written, in messages ("the run directory", "the HTML page").
        flag: str or None. The argument that named `path` (`run_dir`, `html`).
    """
    try:
        yield
    except Exception as error:
        reason = _reason(error)
        text = None if reason is None else message(os.fspath(path), reason, what=what,
                                                   flag=flag)
        if text is None:
            raise
        raise OutputError(text) from error


def check_free_space(directory, needed, *, path, what, flag=None):
    """Raises the no-space `OutputError` when `directory`'s file system has under `needed`
    bytes free (for writers that must not start a write they cannot finish)."""
    free = shutil.disk_usage(directory).free
    if free < needed:
        raise OutputError(
            message(path, errno.ENOSPC, what=what, flag=flag)
            + f" ({free:,} bytes free; writing {what} needs about {needed:,}.)"
        )


def write_text_file(path, text, *, what, flag):
    """Writes `text` (UTF-8) to the file `path`, OS errors explained (`explained`)."""
    with explained(path, what=what, flag=flag):
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    return path
