"""A lock per output folder, so that two processes never train or write the same run at once.

Two `train` commands on one ``--run-dir`` used to race: one died with FileNotFoundError, or
both "resumed" and both exited 0. The lock is `fcntl.flock` on a hidden file beside the
folder, ``.NAME.lock``: the kernel releases a flock when its process ends, however it ends
(kill -9 included), so a lock left by a dead process is simply taken over, and no pid has
to be guessed alive or dead. The file records who holds it (pid, host, command, start
time) so that the refusal can name the other process.

A process holds each lock once: `acquire` of a lock it already holds is a no-op, and
`held` releases only what it acquired. A recipe's `train` takes the lock of its run
directory in `training.prepare_run_dir` (before reading any data) and releases it when it
returns or raises (`releases_locks`, around `train`); `folders.write_folder` holds the lock
of what it writes.

On a system without `fcntl` (Windows) nothing is locked.
"""

import contextlib
import datetime
import functools
import json
import os
import pathlib
import socket
import sys

from seqrecipes.errors import SeqrecipesError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

# Absolute folder path -> open file descriptor holding its lock, for this process.
_HELD = {}


class FolderLockedError(SeqrecipesError):
    """Another process is training or writing the same folder."""


def lock_path(folder):
    """The lock file of `folder`: ``.NAME.lock`` beside it."""
    folder = pathlib.Path(folder).resolve()
    return folder.parent / f".{folder.name}.lock"


def _holder(path):
    try:
        return json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # written a moment from now, or not ours
        return {}


def _describe(holder):
    if not holder:
        return "another process"
    command = holder.get("command")
    return (f"process {holder.get('pid')} on {holder.get('host')} (started "
            f"{holder.get('started')}" + (f": {command}" if command else "") + ")")


def acquire(folder, *, flag="run_dir"):
    """Takes the lock of `folder` for this process (no-op if it holds it already).

    Raises:
        FolderLockedError: another live process holds it (named in the message).
    """
    folder = pathlib.Path(folder).resolve()
    if fcntl is None or folder in _HELD:
        return
    path = lock_path(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            raise FolderLockedError(
                f"`{flag}`: {str(folder)!r} is in use by {_describe(_holder(path))}. Wait "
                f"for it to finish, stop it, or choose another `{flag}`. (The lock is "
                f"{str(path)!r}; it is released as soon as that process ends.)"
            ) from None
        except BaseException:
            os.close(handle)
            raise
        # The holder before us may have removed the file as it released it: a lock on a
        # file no longer at `path` locks nothing, so take the one that is there now.
        try:
            same = os.stat(path).st_ino == os.fstat(handle).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(handle)
    holder = {
        "pid": os.getpid(), "host": socket.gethostname(),
        "command": " ".join(["seqrecipes", *sys.argv[1:]]) if sys.argv[1:] else sys.argv[0],
        "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    os.ftruncate(handle, 0)
    os.write(handle, (json.dumps(holder) + "\n").encode())
    _HELD[folder] = handle


def release(folder):
    """Releases the lock of `folder` if this process holds it, and removes its file."""
    folder = pathlib.Path(folder).resolve()
    handle = _HELD.pop(folder, None)
    if handle is None:
        return
    with contextlib.suppress(OSError):
        os.unlink(lock_path(folder))  # while still held: see `acquire`
    os.close(handle)


def is_held(folder):
    """True when this process holds the lock of `folder`."""
    return pathlib.Path(folder).resolve() in _HELD


@contextlib.contextmanager
def held(folder, *, flag="run_dir"):
    """Holds the lock of `folder` within; releases it after only if it was taken here."""
    taken_here = not is_held(folder)
    acquire(folder, flag=flag)
    try:
        yield
    finally:
        if taken_here:
            release(folder)


def releases_locks(function):
    """Decorates a recipe's `train`: the locks it takes are released when it returns or
    raises (`training.prepare_run_dir` takes the run directory's)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        before = set(_HELD)
        try:
            return function(*args, **kwargs)
        finally:
            for folder in set(_HELD) - before:
                release(folder)

    return wrapper
