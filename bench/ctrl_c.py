"""How long Ctrl-C takes to stop a training run, per Keras backend.

For each backend and each `--at` second, runs the NER defaults on the first `--conll-megabytes`
MB of CoNLL-2003 (as `bench/backends.py --conll-megabytes` cuts them), in a child process
with Python's own SIGINT handling (as from a terminal), sends SIGINT at that second, and
prints how many seconds the command took to end after it, its exit status (130: stopped by
the interrupt; -11: a segfault) and the epochs it had committed (the same command resumes
after them). A run that ignores the signal is killed `children.SIGINT_GRACE` seconds later
(exit status -9).

    python bench/ctrl_c.py                                   # JAX, SIGINT at 170, 230, 300 s
    python bench/ctrl_c.py --backends tensorflow jax --at 60 120

Each trial costs its `--at` seconds plus the stop.
"""

import argparse
import json
import pathlib
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from backends import BACKENDS, SHARED, conll_subset, train_command  # noqa: E402
from children import Child  # noqa: E402


def epochs_committed(run_dir):
    state = run_dir / ".training" / "state.json"
    return json.loads(state.read_text())["epochs_done"] if state.is_file() else 0


def trial(backend, data_dir, scratch, at):
    run_dir = pathlib.Path(tempfile.mkdtemp(prefix=f"{backend}_{at:g}_", dir=scratch)) / "run"
    child = Child(train_command("conll2003", backend, data_dir, run_dir, None, []),
                  prefix=f"[{backend} SIGINT at {at:g} s]", cap_seconds=at).run()
    return {"backend": backend, "at": at, "capped": child.capped,
            "stopped_after": round(child.seconds - at, 1) if child.capped else None,
            "returncode": child.returncode, "epochs_committed": epochs_committed(run_dir)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", nargs="+", default=["jax"], choices=BACKENDS)
    parser.add_argument("--at", nargs="+", type=float, default=[170, 230, 300],
                        help="seconds after the start at which SIGINT is sent, one trial each")
    parser.add_argument("--conll-megabytes", type=float, default=1.0)
    parser.add_argument("--data-dir", default=str(SHARED))
    args = parser.parse_args(argv)
    data_dir = pathlib.Path(args.data_dir)
    if not (data_dir / "conll2003").is_dir():
        print(f"{data_dir}: no conll2003 folder; pass --data-dir.", file=sys.stderr)
        return 1
    rows = []
    with tempfile.TemporaryDirectory() as temporary:
        scratch = pathlib.Path(temporary)
        subset = conll_subset(data_dir, scratch, args.conll_megabytes)
        for backend in args.backends:
            for at in args.at:
                rows.append(trial(backend, subset, scratch, at))
    print(f"\n{'backend':10s} {'SIGINT at s':>11s} {'stopped after s':>15s} {'exit':>5s} "
          f"{'epochs kept':>11s}")
    for row in rows:
        after = "-" if row["stopped_after"] is None else f"{row['stopped_after']:.1f}"
        print(f"{row['backend']:10s} {row['at']:11g} {after:>15s} {row['returncode']:5d} "
              f"{row['epochs_committed']:11d}"
              + ("" if row["capped"] else "  (ended before the signal)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
