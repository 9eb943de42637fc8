"""README.md cannot drift: every command it shows runs as printed, in order, in a fresh folder.

The quick commands (the embedded samples, seconds each) run here through `cli.main`; the
others are parsed exactly as printed here and run by `bench/readme_commands.py`, which also
runs these through a real shell. The table of which is which is that script's `WHERE`.
"""

import importlib.util
import json
import pathlib

import pytest

from seqrecipes.cli import build_parser

REPO = pathlib.Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("readme_commands", REPO / "bench" / "readme_commands.py")
readme = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(readme)

COMMANDS = readme.commands()
SHOWN = readme.shown_output()


def test_every_command_is_checked_somewhere():
    unlisted = [command for command in COMMANDS if command not in readme.WHERE]
    assert not unlisted, f"README shows commands bench/readme_commands.py does not list: {unlisted}"
    stale = [command for command in readme.WHERE if command not in COMMANDS]
    assert not stale, f"bench/readme_commands.py lists commands README no longer shows: {stale}"


def test_the_set_up_commands_are_the_two_readme_promises():
    setup = readme.readme_blocks()[:2]
    assert [len(block) for block in setup] == [1, 1]
    main_job, tests = setup[0][0], setup[1][0]
    assert main_job.endswith("pip install -q . && seqrecipes sentiment train")
    assert tests in (REPO / ".ci" / "run").read_text()  # the line CI runs


@pytest.mark.parametrize("command", [c for c in COMMANDS if readme.WHERE.get(c) == "bench"])
def test_slow_commands_parse_as_printed(command):
    argv, _ = readme.seqrecipes_part(command)
    args = build_parser().parse_args(argv)  # raises UsageError on a flag that does not exist
    assert callable(args.func)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return readme.write_user_files(tmp_path_factory.mktemp("fresh"))


@pytest.mark.parametrize(
    "block", [b for b in readme.readme_blocks() if any(readme.WHERE.get(c) == "test" for c in b)],
    ids=lambda block: block[0].split(" && ")[-1][:60],
)
def test_quick_commands_run_in_order(block, folder):
    """Runs each block's quick commands one after another in the shared fresh folder."""
    for command in block:
        if readme.WHERE[command] != "test":
            continue
        status, output = readme.run_in_process(command, folder)
        assert status == 0, f"{command}\n{output[-3000:]}"
        missing = readme.output_mismatches(SHOWN.get(command, []), output)
        assert not missing, f"README shows output that {command!r} did not print: {missing}"
        check = OUTPUT_CHECKS.get(command)
        if check is not None:
            check(output, folder)


def _sentiment_predictions(output, folder):
    rows = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert [row["text"] for row in rows] == ["What a wonderful film", "Dull."]
    assert all(0 <= row["probability"] <= 1 for row in rows)


# What a command's output must show, beyond exit status 0 (figures README quotes included).
OUTPUT_CHECKS = {
    'seqrecipes sentiment predict runs/reviews "What a wonderful film" "Dull."':
        _sentiment_predictions,
}


def _python_blocks():
    import re

    text = (REPO / "README.md").read_text()
    return [m.group(1) for m in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M)]


@pytest.mark.parametrize("block", _python_blocks())
def test_python_blocks_run_and_show_what_they_print(block):
    """Each `expression  # value` line of a README Python block evaluates to that value."""
    namespace = {}
    statements = []
    for line in block.splitlines():
        code, _, shown = line.partition("  # ")
        is_expression = shown and code.strip() and "=" not in code and not code.startswith(" ")
        if not is_expression:
            statements.append(line)
            continue
        exec("\n".join(statements), namespace)  # noqa: S102 - README's own example
        statements = []
        value = eval(code, namespace)  # noqa: S307
        expected = shown.split(":")[0].strip()
        assert repr(value) == expected, f"README: {code.strip()}  # {shown}; got {value!r}"
    exec("\n".join(statements), namespace)  # noqa: S102
