"""Keeps TensorFlow's start-up lines off the terminal, unless the user asks for them.

Importing TensorFlow 2.21 writes, from C++, straight to file descriptor 2 and before
`TF_CPP_MIN_LOG_LEVEL` is read: "WARNING: All log messages before absl::InitializeLog() is
called are written to STDERR", then the oneDNN and "Could not find cuda drivers" notices, all
of it twice (two libraries start absl each), and at the first use of a device "failed call to
cuInit ... CUDA error" on a machine without a GPU. Python's `sys.stderr` never sees these
lines, so no Python-side filter can catch them.

`quiet_tensorflow_startup()` therefore points file descriptor 2 at a pipe while TensorFlow is
imported and its devices are first listed, and copies everything that comes through to the
real standard error except absl's log lines below FATAL (``I0000 12:00:00.000000 123 file.cc:1]
...``) and that "WARNING: All log messages" line: Python warnings, our own messages and a
fatal error still reach the user, as they are written. Later lines (TensorFlow's own
warnings during training) are left alone.

The command line calls it unless `--verbose 2` is given or `SEQRECIPES_TF_LOGS=1` is set
(`seqrecipes --help` says so).
"""

import contextlib
import importlib.abc
import importlib.util
import os
import re
import sys
import threading

ENVIRONMENT_VARIABLE = "SEQRECIPES_TF_LOGS"
# absl's prefix: severity (Info, Warning, Error; Fatal is kept), MMDD, time, thread id, file:line.
_ABSL_LINE = re.compile(rb"^[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^ \]]+:\d+\] ")
_ABSL_PREAMBLE = b"WARNING: All log messages before absl::InitializeLog() is called"
# The second line of cpu_feature_guard's notice (shown when TF_CPP_MIN_LOG_LEVEL is 0).
_CONTINUATION = b"To enable the following instructions: "


def is_startup_noise(line):
    """True for a line (bytes) of TensorFlow's C++ start-up logging that is hidden.

    >>> is_startup_noise(b"I0000 00:00:1796485619.127140   12387 port.cc:153] oneDNN ...")
    True
    >>> is_startup_noise(b"F0000 00:00:1796485619.127140   12387 port.cc:1] Check failed")
    False
    >>> is_startup_noise(b"UserWarning: something the user should see")
    False
    """
    return line.startswith((_ABSL_PREAMBLE, _CONTINUATION)) or bool(_ABSL_LINE.match(line))


def requested(environ=None):
    """True when `SEQRECIPES_TF_LOGS` asks for TensorFlow's start-up lines (1, true, yes)."""
    value = (os.environ if environ is None else environ).get(ENVIRONMENT_VARIABLE, "")
    return value.strip().lower() in ("1", "true", "yes")


def _copy_lines(read_fd, write_fd):
    pending = b""
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        while chunk := pipe.read(65536):
            *lines, pending = (pending + chunk).split(b"\n")
            kept = b"".join(line + b"\n" for line in lines if not is_startup_noise(line))
            if kept:
                os.write(write_fd, kept)
    if pending and not is_startup_noise(pending):
        os.write(write_fd, pending)


@contextlib.contextmanager
def filtered_stderr():
    """Within it, file descriptor 2 drops TensorFlow's start-up lines and keeps the rest."""
    sys.stderr.flush()
    saved = os.dup(2)
    read_fd, write_fd = os.pipe()
    copier = threading.Thread(target=_copy_lines, args=(read_fd, saved), daemon=True)
    copier.start()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe's last write end: the copier reads to the end
        copier.join(timeout=10)
        os.close(saved)


class _QuietImport(importlib.abc.MetaPathFinder):
    """Imports `tensorflow`, the first time, inside `filtered_stderr`."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)  # once; and the search below must not find us
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module = spec.loader.exec_module

        def quiet_exec_module(module):
            with filtered_stderr():
                exec_module(module)
                # The first look at the devices is where CUDA is probed ("failed call to
                # cuInit" without a GPU): do it here, inside the filter. Physical devices only:
                # the runtime is not started, so a multi-worker strategy can still be made.
                # Should the probe itself fail, the first real use of a device reports it.
                with contextlib.suppress(Exception):
                    module.config.list_physical_devices()

        spec.loader.exec_module = quiet_exec_module
        return spec


@contextlib.contextmanager
def quiet_tensorflow_startup():
    """Within it, a first import of TensorFlow keeps its start-up lines off standard error.

    A no-op when TensorFlow is already imported.
    """
    if "tensorflow" in sys.modules:
        yield
        return
    hook = _QuietImport()
    sys.meta_path.insert(0, hook)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(hook)  # TensorFlow was not imported after all
