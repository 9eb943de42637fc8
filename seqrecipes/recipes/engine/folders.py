"""One way to write an output folder: staged beside it, synced, swapped in, guarded.

Run directories (`artifacts.write_run`) and every export (`artifacts.write_export`) are
written here, so they refuse and recover the same way:

* the content is written by `fill(staging)` into a hidden sibling ``.NAME.staging-XXXXXXXX``,
  every file and directory of it is fsynced, and it is swapped in with two renames (the
  previous folder goes to ``.NAME.previous-XXXXXXXX`` first and is removed last): a crash at
  any point leaves the previous complete folder or the new one, and `recover` puts the
  previous one back when a crash fell between the two renames;
* an existing target is replaced only with `overwrite`, and only when it holds nothing but
  what seqrecipes wrote there (what its manifest lists): a folder with any other file is
  never replaced, and the message names what is there (``--overwrite`` once deleted a user's
  ``NOTES.txt`` beside an export);
* a target whose name leaves no room for its staging sibling under the file system's
  NAME_MAX is refused before any work (`check_name`), not after training;
* the target's lock (`engine.lock`) is held while writing, so the hidden siblings that a
  killed write left behind (staging copies, and previous copies once a complete folder is in
  place) can be removed by the next write without touching a live one.

OS errors while writing (a full disk, a read-only file system, ...) become `OutputError`s
that name the path (`os_errors.explained`); the staging copy is removed and the previous
folder stays as it was.
"""

import glob
import os
import pathlib
import shutil
import sys
import uuid

from seqrecipes.errors import RunDirectoryError
from seqrecipes.recipes.engine import lock as _lock
from seqrecipes.recipes.engine import os_errors as _os_errors

STAGING = "staging"
PREVIOUS = "previous"
# Earlier versions moved a replaced export to ``.NAME.old-*``: recovered and cleaned alike.
_ASIDE = (PREVIOUS, "old")
# The longest sibling name is ".NAME.previous-" + 8 hex digits: 19 bytes beyond NAME.
SIBLING_EXTRA_BYTES = len(f"..{PREVIOUS}-") + 8
_LISTED_AT_MOST = 8  # foreign files named in a message


def sibling(target, kind):
    """A new hidden sibling path of `target` for `kind` ("staging" or "previous")."""
    return target.parent / f".{target.name}.{kind}-{uuid.uuid4().hex[:8]}"


def _siblings(target, kinds):
    for kind in kinds:  # escaped: a run named "a[1]" is a name, not a pattern
        yield from sorted(target.parent.glob(f".{glob.escape(target.name)}.{kind}-*"))


def check_name(target, *, flag, kind):
    """Refuses a `target` whose hidden siblings would not fit the file system's NAME_MAX.

    Call it before any work: a run directory named too long used to train to the end and
    then fail on its staging sibling ("File name too long").
    """
    target = pathlib.Path(target).resolve()
    size = len(os.fsencode(target.name))
    limit = _os_errors.name_max(target.parent)
    if size + SIBLING_EXTRA_BYTES > limit:
        raise _os_errors.OutputError(
            f"`{flag}`: the {kind} name {_shorten(target.name)!r} is {size} bytes long; "
            f"seqrecipes writes it through a hidden sibling named "
            f"'.NAME.{PREVIOUS}-XXXXXXXX' ({SIBLING_EXTRA_BYTES} bytes more), and this "
            f"file system allows names of {limit} bytes (NAME_MAX). Choose a name of at "
            f"most {limit - SIBLING_EXTRA_BYTES} bytes."
        )


def _shorten(name, keep=40):
    return name if len(name) <= 2 * keep else f"{name[:keep]}...{name[-keep:]}"


def _files_in(folder):
    """Every file (and symbolic link) under `folder`, as paths relative to it."""
    found = set()
    for path in folder.rglob("*"):
        if path.is_symlink() or not path.is_dir():
            found.add(path.relative_to(folder).as_posix())
    return found


def check_target(target, *, overwrite, owned, complete, kind, flag):
    """Refuses a `target` that a write with `overwrite` must not replace; returns nothing.

    Args:
        target: pathlib.Path. The folder to write.
        overwrite: bool. Whether a folder of ours may be replaced.
        owned: a function of the existing folder that returns the set of its files that
            seqrecipes wrote (relative POSIX paths, from its manifest), or None when the
            folder holds no manifest of ours.
        complete: a function of a folder: True when it is a whole folder of this kind (one
            that `overwrite` must allow replacing; a partial one of ours is replaced).
        kind: str. What the folder is, in messages ("run directory", "export").
        flag: str. The argument that named it (`run_dir`, `export_dir`).

    Raises:
        RunDirectoryError: `target` is a file; holds files seqrecipes did not write (named);
            or holds a `kind` and `overwrite` is False.
    """
    if target.exists() and not target.is_dir():
        raise RunDirectoryError(
            f"`{flag}`: {str(target)!r} is a file, not a directory. Choose another path.")
    if not target.is_dir():
        return
    present = _files_in(target)
    if not present:
        return  # an empty directory: nothing to lose
    ours = owned(target)
    foreign = sorted(present - (ours or set()))
    if foreign:
        named = ", ".join(foreign[:_LISTED_AT_MOST])
        if len(foreign) > _LISTED_AT_MOST:
            named += f" and {len(foreign) - _LISTED_AT_MOST} more"
        if ours is None:
            raise RunDirectoryError(
                f"`{flag}`: {str(target)!r} is not a seqrecipes {kind} (it holds {named}), "
                f"so it is never replaced. Choose a new or empty `{flag}`."
            )
        raise RunDirectoryError(
            f"`{flag}`: {str(target)!r} holds {_article(kind)} {kind} and files that "
            f"seqrecipes did not "
            f"write ({named}), so it is never replaced: they would be lost. Move them out, "
            f"or choose a new or empty `{flag}`."
        )
    if not overwrite and complete(target):
        raise RunDirectoryError(
            f"`{flag}`: {str(target)!r} already holds {_article(kind)} {kind}. Choose "
            f"another `{flag}`, or "
            f"pass overwrite=True to replace it (it stays as it is until the new one is "
            f"complete)."
        )


def _article(noun):
    return "an" if noun[:1] in "aeiou" else "a"


def recover(target, *, complete):
    """Puts back a complete previous folder if a crash fell between the two renames.

    Nothing is done while another process holds the folder's lock: that write is alive,
    and its second rename is about to put the new folder in place.

    Args:
        target: pathlib.Path (absolute).
        complete: a function of a folder: True when it holds a whole folder of this kind.
    """
    if target.exists() or target.is_symlink():
        return
    candidates = [path for path in _siblings(target, _ASIDE) if complete(path)]
    if not candidates:
        return
    try:
        with _lock.held(target):
            if target.exists():
                return
            os.rename(candidates[0], target)
    except _lock.FolderLockedError:
        return  # a live write is between its two renames: its new folder lands next
    except OSError:
        return  # a read-only place: the run is read as it is (a writer says why it cannot)
    _fsync_directory(target.parent)
    print(f"seqrecipes: restored the complete {target} that an interrupted write had moved "
          "aside", file=sys.stderr)


def remove_leftovers(target, *, complete):
    """Removes the hidden siblings that killed writes of `target` left behind.

    Staging copies are never whole; a previous copy is removed only once `target` is a
    complete folder (else `recover` puts it back first). Call it holding the target's lock.
    """
    recover(target, complete=complete)
    for leftover in _siblings(target, (STAGING,)):
        shutil.rmtree(leftover, ignore_errors=True)
    if target.is_dir() and complete(target):
        for leftover in _siblings(target, _ASIDE):
            shutil.rmtree(leftover, ignore_errors=True)


def _fsync_directory(directory):
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:  # not every platform opens directories
        return
    try:
        os.fsync(handle)
    except OSError:  # e.g. a file system that does not sync directories
        pass
    finally:
        os.close(handle)


def fsync_tree(folder):
    """fsyncs every file and directory under `folder` (and `folder` itself)."""
    for path in sorted(folder.rglob("*"), key=lambda path: -len(path.parts)):
        if path.is_symlink():
            continue
        if path.is_dir():
            _fsync_directory(path)
        else:
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    _fsync_directory(folder)


def write_folder(target, fill, *, overwrite, owned, complete, kind, flag):
    """Writes the folder `target` atomically: `fill(staging)` writes its content.

    Args:
        target: str or path-like. The folder to write.
        fill: a function of the staging folder (a `pathlib.Path`, existing and empty) that
            writes the whole content, its manifest included.
        overwrite: bool. Replace a folder of ours already at `target` (`check_target`).
        owned: a function of a folder: the set of its files that are ours, or None
            (`check_target`).
        complete: a function of a folder: True when it is a whole folder of this kind (used
            to recover from a crash between the renames).
        kind: str. What the folder is, in messages.
        flag: str. The argument that named `target`, in messages.

    Returns:
        The absolute `pathlib.Path` of `target`.

    Raises:
        RunDirectoryError: `check_target` refused the target.
        OutputError: the file system refused a write (full, read-only, ...); the staging
            copy is removed and the previous folder is kept.
    """
    target = pathlib.Path(target).resolve()
    check_name(target, flag=flag, kind=kind)
    with _os_errors.explained(target, what=f"the {kind}", flag=flag), \
            _lock.held(target, flag=flag):
        remove_leftovers(target, complete=complete)
        check_target(target, overwrite=overwrite, owned=owned, complete=complete, kind=kind,
                     flag=flag)
        staging = sibling(target, STAGING)
        staging.mkdir()
        try:
            fill(staging)
            fsync_tree(staging)
            # Checked again at the last moment: a file may have been added while training.
            check_target(target, overwrite=True, owned=owned, complete=complete, kind=kind,
                         flag=flag)
            previous = None
            if target.exists():
                previous = sibling(target, PREVIOUS)
                os.rename(target, previous)
            os.rename(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _fsync_directory(target.parent)
        if previous is not None:
            shutil.rmtree(previous, ignore_errors=True)
    return target
