"""`os_errors.explained`: one message per reason a write fails, naming the path and the
argument; everything else propagates unchanged."""

import collections
import errno
import os

import pytest
import tensorflow as tf

from seqrecipes.errors import SeqrecipesError
from seqrecipes.recipes.engine import os_errors as _os_errors


def explain(path, error):
    with pytest.raises(_os_errors.OutputError) as info:
        with _os_errors.explained(path, what="the thing", flag="thing_dir"):
            raise error
    assert info.value.__cause__ is error
    return str(info.value)


@pytest.mark.parametrize("number, fragments", [
    (errno.ENOSPC, ["no space left on the device that holds", "Free some space"]),
    (errno.EDQUOT, ["no space left on the device that holds"]),
    (errno.EROFS, ["is on a read-only file system", "on a writable one"]),
    (errno.EACCES, ["permission denied writing the thing", "change the permissions"]),
    (errno.EPERM, ["permission denied writing the thing"]),
    (errno.ENAMETOOLONG, ["is too long for its file system", "Choose a shorter one"]),
])
def test_each_reason_has_its_message_naming_path_and_flag(tmp_path, number, fragments):
    message = explain(tmp_path / "out", OSError(number, os.strerror(number)))
    assert message.startswith("`thing_dir`: ")
    assert str(tmp_path / "out") in message
    for fragment in fragments:
        assert fragment in message


def test_the_error_is_ours_and_an_os_error():
    assert issubclass(_os_errors.OutputError, SeqrecipesError)
    assert issubclass(_os_errors.OutputError, OSError)


@pytest.mark.parametrize("error", [OSError(errno.EIO, "I/O error"), ValueError("x"),
                                   FileNotFoundError(errno.ENOENT, "gone")])
def test_other_errors_propagate_unchanged(tmp_path, error):
    # ENOENT is explained only when the parent directory is missing; here it exists
    with pytest.raises(type(error)) as info:
        with _os_errors.explained(tmp_path / "out", what="the thing"):
            raise error
    assert info.value is error


@pytest.mark.parametrize("make, fragment", [
    (lambda: tf.errors.ResourceExhaustedError(
        None, None, "could not write: No space left on device"), "no space left"),
    (lambda: tf.errors.FailedPreconditionError(
        None, None, "/x/file/out is not a directory"), "is a file, so the thing"),
    (lambda: tf.errors.PermissionDeniedError(
        None, None, "/x: Read-only file system"), "read-only file system"),
    (lambda: tf.errors.PermissionDeniedError(None, None, "/x: Permission denied"),
     "permission denied"),
])
def test_tensorflow_errors_of_a_savedmodel_write_are_read_the_same_way(tmp_path, make,
                                                                        fragment):
    (tmp_path / "file").write_text("mine")
    assert fragment in explain(tmp_path / "file" / "out", make())


def test_out_of_memory_is_not_a_full_disk(tmp_path):
    error = tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")
    with pytest.raises(tf.errors.ResourceExhaustedError):
        with _os_errors.explained(tmp_path, what="the thing"):
            raise error


def test_nested_contexts_explain_once(tmp_path):
    with pytest.raises(_os_errors.OutputError) as info:
        with _os_errors.explained(tmp_path / "outer", what="the outer", flag="outer"):
            with _os_errors.explained(tmp_path / "inner", what="the inner", flag="inner"):
                raise OSError(errno.ENOSPC, "full")
    assert str(info.value).startswith("`inner`: ")


# Real failures of the file system, as root too (permission bits aside).
def test_writing_into_a_file_as_if_it_were_a_directory(tmp_path):
    (tmp_path / "file").write_text("mine")
    with pytest.raises(_os_errors.OutputError) as info:
        _os_errors.write_text_file(tmp_path / "file" / "x.html", "<p>", what="the HTML page",
                                   flag="html")
    assert f"`html`: {str(tmp_path / 'file')!r} is a file" in str(info.value)
    assert (tmp_path / "file").read_text() == "mine"


def test_writing_a_file_where_a_directory_is(tmp_path):
    with pytest.raises(_os_errors.OutputError, match="is a directory, so the HTML page"):
        _os_errors.write_text_file(tmp_path, "<p>", what="the HTML page", flag="html")


def test_writing_into_a_missing_directory(tmp_path):
    with pytest.raises(_os_errors.OutputError, match=r"the directory .*missing' does not "
                                                     r"exist.*Create it first"):
        _os_errors.write_text_file(tmp_path / "missing" / "x.html", "<p>",
                                   what="the HTML page", flag="html")


def test_a_name_too_long(tmp_path):
    name = "x" * (_os_errors.name_max(tmp_path) + 1)
    with pytest.raises(_os_errors.OutputError, match=r"too long for its file system \(names"
                                                     r" are limited to \d+ bytes\)"):
        _os_errors.write_text_file(tmp_path / name, "<p>", what="the HTML page", flag="html")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permission bits")
def test_a_directory_without_write_permission(tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(_os_errors.OutputError, match="permission denied"):
            _os_errors.write_text_file(tmp_path / "x.html", "<p>", what="the page", flag="html")
    finally:
        tmp_path.chmod(0o700)


def test_check_free_space_names_both_figures(tmp_path, monkeypatch):
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(_os_errors.shutil, "disk_usage", lambda path: usage(10, 9, 1000))
    _os_errors.check_free_space(tmp_path, 1000, path=tmp_path, what="the state")
    with pytest.raises(_os_errors.OutputError, match=r"1,000 bytes free; writing the state "
                                                     r"needs about 5,000"):
        _os_errors.check_free_space(tmp_path, 5000, path=tmp_path, what="the state")
