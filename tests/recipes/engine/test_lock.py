"""`engine.lock`: one holder per folder, across real processes; a dead holder's lock is
taken over."""

import os
import pathlib
import signal
import subprocess
import sys
import textwrap

import pytest

from seqrecipes.recipes.engine import lock as _lock

pytestmark = pytest.mark.skipif(_lock.fcntl is None, reason="needs fcntl (POSIX)")

REPO = pathlib.Path(__file__).resolve().parents[3]
TIMEOUT = 60  # seconds a helper process may take to report that it holds the lock


def holder_process(folder, *, raw=False):
    """A Python process that takes the lock of `folder` (with `engine.lock`, or a bare flock
    when `raw`), prints "held" and waits until killed."""
    if raw:
        code = f"""
            import fcntl, os
            handle = os.open({str(_lock.lock_path(folder))!r}, os.O_RDWR | os.O_CREAT)
            fcntl.flock(handle, fcntl.LOCK_EX)
        """
    else:
        code = f"""
            from seqrecipes.recipes.engine import lock
            lock.acquire({str(folder)!r})
        """
    code = textwrap.dedent(code) + "print('held', flush=True)\nimport time\ntime.sleep(600)\n"
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    process = subprocess.Popen([sys.executable, "-c", code, "train", "--run-dir", "x"],
                               stdout=subprocess.PIPE, env=environment)
    line = process.stdout.readline()
    assert line == b"held\n", line
    return process


@pytest.fixture
def other_process():
    processes = []

    def start(folder, **kwargs):
        processes.append(holder_process(folder, **kwargs))
        return processes[-1]

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(TIMEOUT)


def test_acquire_and_release_leave_no_file(tmp_path):
    folder = tmp_path / "run"
    _lock.acquire(folder)
    assert _lock.is_held(folder) and _lock.lock_path(folder).is_file()
    _lock.acquire(folder)  # a process holds a lock once: no-op
    _lock.release(folder)
    assert not _lock.is_held(folder) and not _lock.lock_path(folder).exists()
    assert not folder.exists()  # the lock lives beside the folder


def test_held_releases_only_what_it_took(tmp_path):
    folder = tmp_path / "run"
    with _lock.held(folder):
        with _lock.held(folder):
            pass
        assert _lock.is_held(folder)
    assert not _lock.is_held(folder)


def test_releases_locks_releases_on_return_and_on_raise(tmp_path):
    before = tmp_path / "before"
    _lock.acquire(before)

    @_lock.releases_locks
    def train(run_dir, fail):
        _lock.acquire(run_dir)
        if fail:
            raise ValueError("bad data")
        return "done"

    assert train(tmp_path / "a", False) == "done"
    with pytest.raises(ValueError):
        train(tmp_path / "b", True)
    assert not _lock.is_held(tmp_path / "a") and not _lock.is_held(tmp_path / "b")
    assert _lock.is_held(before)  # taken before the call: not the call's to release
    _lock.release(before)


def test_a_second_process_is_refused_naming_the_holder(tmp_path, other_process):
    folder = tmp_path / "run"
    process = other_process(folder)
    with pytest.raises(_lock.FolderLockedError) as info:
        _lock.acquire(folder, flag="run_dir")
    message = str(info.value)
    assert f"is in use by process {process.pid} on " in message
    assert "train --run-dir x" in message and "`run_dir`" in message
    assert not _lock.is_held(folder)


def test_a_lock_whose_holder_wrote_nothing_still_refuses(tmp_path, other_process):
    other_process(tmp_path / "run", raw=True)
    with pytest.raises(_lock.FolderLockedError, match="is in use by another process"):
        _lock.acquire(tmp_path / "run")


def test_the_lock_of_a_killed_process_is_taken_over(tmp_path, other_process):
    folder = tmp_path / "run"
    process = other_process(folder)
    process.send_signal(signal.SIGKILL)
    process.wait(TIMEOUT)
    assert _lock.lock_path(folder).exists()  # kill -9 left the file; the kernel the lock
    _lock.acquire(folder)
    assert str(os.getpid()) in _lock.lock_path(folder).read_text()
    _lock.release(folder)
    assert not _lock.lock_path(folder).exists()
