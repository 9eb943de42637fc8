"""How fast the command line answers `--help`: `seqrecipes --help` and every `RECIPE --help`.

Each command runs as a fresh process (`python -m seqrecipes ... --help`, as a user types it)
several times; the median wall time is printed, beside Python's own start-up (`python -c
pass`) for scale. The target is under 1 s: building the parser imports no TensorFlow, Keras,
pandas or matplotlib (`tests/test_cli_startup.py` checks the imports; this script only
measures).

    python bench/cli_speed.py              # 5 runs per command
    python bench/cli_speed.py --runs 11
"""

import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from seqrecipes import cli  # noqa: E402  (TensorFlow-free, like the command itself)

TARGET_SECONDS = 1.0


def wall_time(args, runs):
    """Median seconds of `python ARGS` over `runs` fresh processes."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL,
                       env=environment, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def recipes():
    """The subcommand names, in the order `seqrecipes --help` lists them."""
    parser = cli.build_parser()
    (subparsers,) = [action for action in parser._actions
                     if isinstance(action, argparse._SubParsersAction)]
    return list(subparsers.choices)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per command")
    runs = parser.parse_args().runs
    rows = [("python -c pass", ["-c", "pass"])]
    rows.append(("seqrecipes --help", ["-m", "seqrecipes", "--help"]))
    rows += [(f"seqrecipes {name} --help", ["-m", "seqrecipes", name, "--help"])
             for name in recipes()]
    print(f"median wall time of {runs} runs each (Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cores)")
    slowest = 0.0
    for label, args in rows:
        seconds = wall_time(args, runs)
        if label != "python -c pass":
            slowest = max(slowest, seconds)
        print(f"  {label:<45} {seconds:6.3f} s")
    verdict = "under" if slowest < TARGET_SECONDS else "OVER"
    print(f"slowest help: {slowest:.3f} s, {verdict} the {TARGET_SECONDS:.0f} s target")


if __name__ == "__main__":
    main()
