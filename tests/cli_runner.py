"""`run_main`: the command line in-process, for the tests of every recipe."""

import contextlib
import io

from seqrecipes import cli


def run_main(*argv):
    """Runs `seqrecipes ARGV` and returns (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main([str(arg) for arg in argv])
    return status, out.getvalue(), err.getvalue()
