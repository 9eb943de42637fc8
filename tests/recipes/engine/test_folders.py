"""`folders.write_folder`: staged, swapped in, guarded; tested on a folder kind of its own
(a manifest `made.json` listing its files), so no model is needed."""

import errno
import json
import os

import pytest

from seqrecipes.errors import RunDirectoryError
from seqrecipes.recipes.engine import folders as _folders
from seqrecipes.recipes.engine import os_errors as _os_errors

MANIFEST = "made.json"


def owned(folder):
    if not (folder / MANIFEST).is_file():
        return None
    return {MANIFEST, *json.loads((folder / MANIFEST).read_text())["files"]}


def complete(folder):
    return (folder / MANIFEST).is_file()


def filler(content):
    """A fill that writes `content` ({relative name: text}) and the manifest listing it."""

    def fill(staging):
        for name, text in content.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_text(text)
        (staging / MANIFEST).write_text(json.dumps({"files": sorted(content)}))

    return fill


def write(target, content=None, *, overwrite=False, fill=None):
    return _folders.write_folder(
        target, fill or filler(content or {"a.txt": "new"}), overwrite=overwrite,
        owned=owned, complete=complete, kind="thing", flag="thing_dir",
    )


def siblings(tmp_path):
    return sorted(path.name for path in tmp_path.iterdir() if path.name.startswith("."))


def test_a_new_folder_is_written_whole_and_nothing_is_left_beside_it(tmp_path):
    target = write(tmp_path / "out", {"a.txt": "1", "sub/b.txt": "2"})
    assert target == (tmp_path / "out").resolve()
    assert (target / "sub" / "b.txt").read_text() == "2"
    assert siblings(tmp_path) == []  # no staging copy, and the lock file is removed


def test_an_empty_directory_is_written(tmp_path):
    (tmp_path / "out").mkdir()
    assert (write(tmp_path / "out") / "a.txt").read_text() == "new"


def test_a_folder_of_ours_needs_overwrite_and_is_kept_until_then(tmp_path):
    write(tmp_path / "out", {"a.txt": "old"})
    with pytest.raises(RunDirectoryError, match=r"`thing_dir`: .* already holds a thing.*"
                                                r"overwrite=True"):
        write(tmp_path / "out", {"a.txt": "new"})
    assert (tmp_path / "out" / "a.txt").read_text() == "old"
    write(tmp_path / "out", {"b.txt": "new"}, overwrite=True)
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["b.txt", MANIFEST]


@pytest.mark.parametrize("foreign", ["NOTES.txt", "other_model/w.bin", "sub/extra.txt",
                                     ".hidden"])
def test_a_folder_of_ours_with_a_foreign_file_is_never_replaced(tmp_path, foreign):
    target = write(tmp_path / "out", {"a.txt": "old", "sub/b.txt": "old"})
    (target / foreign).parent.mkdir(parents=True, exist_ok=True)
    (target / foreign).write_text("mine")
    with pytest.raises(RunDirectoryError, match=rf"files that seqrecipes did not write "
                                                rf"\({foreign}\).*never replaced"):
        write(target, overwrite=True)
    assert (target / foreign).read_text() == "mine" and (target / "a.txt").read_text() == "old"
    assert siblings(tmp_path) == []


def test_a_foreign_folder_is_refused_naming_what_it_holds(tmp_path):
    (tmp_path / "out").mkdir()
    for index in range(10):
        (tmp_path / "out" / f"f{index}.txt").write_text("mine")
    with pytest.raises(RunDirectoryError) as info:
        write(tmp_path / "out", overwrite=True)
    assert "is not a seqrecipes thing (it holds f0.txt, f1.txt" in str(info.value)
    assert "and 2 more" in str(info.value)  # eight are named
    assert len(list((tmp_path / "out").iterdir())) == 10


def test_a_file_at_the_target_is_refused(tmp_path):
    (tmp_path / "out").write_text("mine")
    with pytest.raises(RunDirectoryError, match="is a file, not a directory"):
        write(tmp_path / "out", overwrite=True)
    assert (tmp_path / "out").read_text() == "mine"


def test_a_failing_fill_leaves_the_previous_folder_and_no_staging(tmp_path):
    write(tmp_path / "out", {"a.txt": "old"})

    def fill(staging):
        (staging / "half.txt").write_text("half")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        write(tmp_path / "out", overwrite=True, fill=fill)
    assert (tmp_path / "out" / "a.txt").read_text() == "old"
    assert siblings(tmp_path) == []


@pytest.mark.parametrize("number, fragment", [
    (errno.ENOSPC, "no space left on the device"),
    (errno.EROFS, "read-only file system"),
    (errno.EACCES, "permission denied"),
])
def test_an_os_error_while_filling_is_explained_and_the_previous_folder_kept(
        tmp_path, number, fragment):
    write(tmp_path / "out", {"a.txt": "old"})

    def fill(staging):
        (staging / "half.txt").write_text("half")
        raise OSError(number, os.strerror(number))

    with pytest.raises(_os_errors.OutputError) as info:
        write(tmp_path / "out", overwrite=True, fill=fill)
    assert fragment in str(info.value) and "`thing_dir`" in str(info.value)
    assert str(tmp_path / "out") in str(info.value)
    assert (tmp_path / "out" / "a.txt").read_text() == "old"
    assert siblings(tmp_path) == []


def test_a_file_added_while_filling_stops_the_swap(tmp_path):
    target = write(tmp_path / "out", {"a.txt": "old"})

    def fill(staging):  # as if the user saved a file into the run while it trained
        (target / "NOTES.txt").write_text("mine")
        filler({"a.txt": "new"})(staging)

    with pytest.raises(RunDirectoryError, match=r"\(NOTES.txt\)"):
        write(target, overwrite=True, fill=fill)
    assert (target / "a.txt").read_text() == "old" and (target / "NOTES.txt").exists()
    assert siblings(tmp_path) == []


def test_leftovers_of_killed_writes_are_removed_by_the_next_write(tmp_path):
    write(tmp_path / "out", {"a.txt": "old"})
    for name in (".out.staging-0badf00d", ".out.previous-0badf00d", ".out.old-0badf00d"):
        (tmp_path / name).mkdir()
        (tmp_path / name / MANIFEST).write_text('{"files": []}')
    (tmp_path / ".other.staging-12345678").mkdir()  # another target's: not ours to remove
    write(tmp_path / "out", overwrite=True)
    assert siblings(tmp_path) == [".other.staging-12345678"]


def test_a_name_with_glob_characters_is_a_name(tmp_path):
    write(tmp_path / "r[1]", {"a.txt": "old"})
    (tmp_path / ".r[1].staging-0badf00d").mkdir()
    (tmp_path / ".r1.staging-0badf00d").mkdir()  # what the unescaped pattern would match
    write(tmp_path / "r[1]", overwrite=True)
    assert siblings(tmp_path) == [".r1.staging-0badf00d"]


def test_the_only_complete_copy_aside_is_put_back_not_removed(tmp_path):
    write(tmp_path / "out", {"a.txt": "old"})
    os.rename(tmp_path / "out", tmp_path / ".out.previous-0badf00d")  # killed between renames
    (tmp_path / ".out.staging-12345678").mkdir()  # the new copy, half written
    with pytest.raises(RunDirectoryError, match="already holds a thing"):
        write(tmp_path / "out", {"a.txt": "new"})
    assert (tmp_path / "out" / "a.txt").read_text() == "old"
    assert siblings(tmp_path) == []


def test_a_crash_between_the_two_renames_is_recovered(tmp_path, monkeypatch):
    write(tmp_path / "out", {"a.txt": "old"})
    real_rename = os.rename
    calls = []

    def rename(source, target):
        calls.append(target)
        if len(calls) == 2:  # the new folder's rename: the machine "dies" here
            raise KeyboardInterrupt
        real_rename(source, target)

    monkeypatch.setattr(_folders.os, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        write(tmp_path / "out", overwrite=True)
    monkeypatch.setattr(_folders.os, "rename", real_rename)
    assert not (tmp_path / "out").exists()
    _folders.recover((tmp_path / "out").resolve(), complete=complete)
    assert (tmp_path / "out" / "a.txt").read_text() == "old"


@pytest.mark.parametrize("extra, refused", [(0, False), (1, True), (40, True)])
def test_a_name_too_long_for_its_staging_sibling_is_refused_before_any_work(
        tmp_path, extra, refused):
    limit = _os_errors.name_max(tmp_path)
    name = "r" * (limit - _folders.SIBLING_EXTRA_BYTES + extra)
    filled = []

    def fill(staging):
        filled.append(staging)
        filler({"a.txt": "1"})(staging)

    if not refused:
        write(tmp_path / name, fill=fill)
        assert (tmp_path / name / "a.txt").is_file()
        return
    with pytest.raises(_os_errors.OutputError) as info:
        write(tmp_path / name, fill=fill)
    message = str(info.value)
    assert f"{len(name)} bytes long" in message and f"allows names of {limit} bytes" in message
    assert f"at most {limit - _folders.SIBLING_EXTRA_BYTES} bytes" in message
    assert filled == [] and list(tmp_path.iterdir()) == []


def test_a_name_counts_in_bytes_not_characters(tmp_path):
    limit = _os_errors.name_max(tmp_path)
    name = "가" * ((limit - _folders.SIBLING_EXTRA_BYTES) // 3 + 1)  # 3 bytes each in UTF-8
    assert len(name) < limit - _folders.SIBLING_EXTRA_BYTES
    with pytest.raises(_os_errors.OutputError, match="NAME_MAX"):
        _folders.check_name(tmp_path / name, flag="run_dir", kind="run directory")


def test_a_parent_that_is_a_file_is_explained(tmp_path):
    (tmp_path / "file").write_text("mine")
    with pytest.raises(_os_errors.OutputError) as info:
        write(tmp_path / "file" / "out")
    assert f"{str(tmp_path / 'file')!r} is a file" in str(info.value)
    assert (tmp_path / "file").read_text() == "mine"


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permission bits")
def test_a_read_only_parent_is_explained(tmp_path):
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        with pytest.raises(_os_errors.OutputError, match="permission denied"):
            write(parent / "out")
    finally:
        parent.chmod(0o700)


def test_no_recovery_while_a_live_write_holds_the_lock(tmp_path):
    import subprocess
    import sys

    write(tmp_path / "out", {"a.txt": "old"})
    os.rename(tmp_path / "out", tmp_path / ".out.previous-0badf00d")  # a write mid-swap
    code = ("from seqrecipes.recipes.engine import lock; import sys, time; "
            f"lock.acquire({str((tmp_path / 'out').resolve())!r}); print('held', flush=True); "
            "sys.stdin.read()")
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        assert holder.stdout.readline() == b"held\n"
        _folders.recover((tmp_path / "out").resolve(), complete=complete)
        assert not (tmp_path / "out").exists()  # the writer's own rename comes next
    finally:
        holder.communicate(b"", timeout=60)
    _folders.recover((tmp_path / "out").resolve(), complete=complete)  # the writer died
    assert (tmp_path / "out" / "a.txt").read_text() == "old"
