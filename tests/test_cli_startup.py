"""The command line starts fast and quietly: `--help` without TensorFlow, no TensorFlow
start-up lines on stderr, the help for no arguments at all.

These run `seqrecipes` in fresh Python processes: what a process imports, and what TensorFlow's
C++ code writes to file descriptor 2, cannot be seen from inside the test process.
(`bench/cli_speed.py` measures the time; no test here does.)
"""

import argparse
import os
import pathlib
import subprocess
import sys

import pytest

import seqrecipes
from seqrecipes import _tf_logs, cli

ROOT = pathlib.Path(seqrecipes.__file__).resolve().parent.parent
HEAVY = ("tensorflow", "keras", "matplotlib", "pandas", "sklearn", "seqeval")
# Runs `seqrecipes ARGV` like the console script and reports what got imported.
PROBE = (
    "import sys\n"
    "from seqrecipes.cli import main\n"
    "status = main(sys.argv[1:])\n"
    f"print('IMPORTED', sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
    "sys.exit(status)\n"
)


def run_python(*args, env=None):
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    environment.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as a user's shell has it
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=environment, cwd=ROOT,
        timeout=600,
    )


def command_paths(parser=None, prefix=()):
    """Every command of the parser: (), ("sentiment",), ("sentiment", "train"), ..."""
    parser = parser or cli.build_parser()
    paths = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                paths += command_paths(subparser, (*prefix, name))
    return paths


@pytest.mark.parametrize("command", command_paths(), ids=lambda path: " ".join(path) or "top")
def test_help_imports_neither_tensorflow_nor_keras(command):
    result = run_python("-c", PROBE, *command, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: seqrecipes" in result.stdout
    assert "IMPORTED []" in result.stderr, result.stderr  # nor matplotlib, pandas, ...


def test_every_recipe_has_a_help_command_checked_above():
    recipes = {path[0] for path in command_paths() if len(path) == 1}
    assert recipes >= {"sentiment", "ner", "char-lm", "timeseries", "seq2seq", "params"}


def test_no_arguments_print_the_help():
    result = run_python("-m", "seqrecipes")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: seqrecipes")
    assert _tf_logs.ENVIRONMENT_VARIABLE in result.stdout  # the epilog says how to see TF logs
    assert result.stderr == ""


def test_no_arguments_in_process_print_the_help(capsys):
    assert cli.main([]) == 0
    assert capsys.readouterr().out.startswith("usage: seqrecipes")


def test_a_command_that_runs_tensorflow_writes_no_start_up_line():
    result = run_python(
        "-m", "seqrecipes", "params", "--model", "lstm", "--units", "4", "--embedding-dim", "4"
    )
    assert result.returncode == 0, result.stderr
    assert "144" in result.stdout  # the LSTM's count: TensorFlow did run
    lines = result.stderr.encode().splitlines()
    assert [line for line in lines if _tf_logs.is_startup_noise(line)] == []
    for text in ("absl", "oneDNN", "cuda", "cuInit"):
        assert text not in result.stderr


def test_our_own_errors_still_reach_stderr():
    result = run_python("-m", "seqrecipes", "params", "--model", "lstm", "--units", "0")
    assert result.returncode == 2
    assert "seqrecipes: error:" in result.stderr and "units" in result.stderr


@pytest.mark.parametrize("line", [
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    b"I0000 00:00:1796485619.127140   12387 port.cc:153] oneDNN custom operations are on.",
    b"I0000 00:00:1796485619.127438   12387 cudart_stub.cc:31] Could not find cuda drivers",
    b"E0000 00:00:1796485627.712071   12387 cuda_platform.cc:52] failed call to cuInit: INTERNAL",
    b"W1205 15:46:39.000001    123 some_file.cc:7] a warning",
])
def test_startup_lines_are_recognised(line):
    assert _tf_logs.is_startup_noise(line)


@pytest.mark.parametrize("line", [
    b"F0000 00:00:1796485619.127140   12387 port.cc:1] Check failed: fatal, kept",
    b"seqrecipes: error: `units` must be a positive integer.",
    b"/x/y.py:3: UserWarning: a Python warning the user should see",
    b"I0000 is not a log line",
])
def test_everything_else_is_kept(line):
    assert not _tf_logs.is_startup_noise(line)


def test_filtered_stderr_drops_only_the_startup_lines(tmp_path, monkeypatch):
    # As in a real run, Python's sys.stderr writes to descriptor 2 (under pytest's capfd it
    # would write to the capture file directly and race the copier thread mid-line).
    log = tmp_path / "stderr.txt"
    saved = os.dup(2)
    with open(log, "wb") as target:
        os.dup2(target.fileno(), 2)
    monkeypatch.setattr(sys, "stderr", open(2, "w", buffering=1, closefd=False))  # line-buffered, as sys.stderr is
    try:
        with _tf_logs.filtered_stderr():
            os.write(2, b"I0000 00:00:1796485619.127140   12387 port.cc:153] oneDNN\n")
            os.write(2, b"kept line\n")
            print("a Python warning", file=sys.stderr)
            os.write(2, b"E0000 00:00:1796485627.712071   12387 cuda_platform.cc:52] cuInit\n")
            os.write(2, b"no newline at the end")
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
    assert log.read_text() == "kept line\na Python warning\nno newline at the end"


@pytest.mark.parametrize("value, shown", [("1", True), ("true", True), ("0", False), ("", False)])
def test_the_environment_variable_asks_for_the_lines(value, shown):
    assert _tf_logs.requested({_tf_logs.ENVIRONMENT_VARIABLE: value}) is shown
