"""Each recipe's defaults on real data, trained on each Keras backend, in one run.

For every data set and backend this runs exactly what a user would run, in a child process,

    seqrecipes RECIPE train <the data set's files> --backend BACKEND --run-dir ... --verbose 2

and prints, per row: epochs trained, the first epoch's seconds (JAX and TensorFlow both compile
their step then, so it is listed apart), the median of the later epochs' seconds, the seconds
of all epochs (`epoch_seconds` in the run's history.csv: training plus the recipe's per-epoch
validation), the wall and CPU seconds of the whole command (reading, vocabularies, the
sentiment baseline, training, scoring, saving), and the final metric from metrics.json. Then,
per data set, the ratios TensorFlow / JAX. Backends alternate within a data set, so both see
the same state of the machine; pin the whole bench to one core (`taskset -c 0`) for figures
comparable with the README's.

Data sets (../shared/data, or `--data-dir`):

- `imdb`: `sentiment train` on train.csv.gz, scored on test.csv.gz: test accuracy.
- `nsmc`: the same with `--language ko`: test accuracy.
- `conll2003`: `ner train --train train.txt --dev valid.txt --test test.txt`: test entity F1.
  The run's wall time against `--target-f1` (0.862, issue 21's time-to-accuracy target) is
  printed: a run whose final test F1 reaches it reached it in at most that time.
- `tinyshakespeare`: `char-lm train --data input.txt` (fixed windows, the default mode; the
  stateful mode needs TensorFlow): validation bits per character.

    python bench/backends.py                                   # everything (hours)
    python bench/backends.py --data imdb nsmc --epochs 2       # a quicker comparison
    python bench/backends.py --data conll2003 --backends jax
    python bench/backends.py --data imdb -- --model cnn        # flags after -- go to train
    python bench/backends.py --data conll2003 --conll-megabytes 1   # below NER's 3-MB threshold

Writes every figure to bench/results/backends.json (or `--results`).
"""

import argparse
import json
import os
import pathlib
import shlex
import statistics
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
SHARED = REPO.parent / "shared" / "data"

from children import Child  # noqa: E402

BACKENDS = ("tensorflow", "jax")
# name: (recipe, files relative to the data set's folder as train flags, metric, its name)
DATASETS = {
    "imdb": ("sentiment", "imdb", ["--data", "train.csv.gz", "--test", "test.csv.gz"],
             ("test", "accuracy"), "test accuracy"),
    "nsmc": ("sentiment", "nsmc", ["--data", "ratings_train.txt.gz", "--test",
                                   "ratings_test.txt.gz", "--language", "ko"],
             ("test", "accuracy"), "test accuracy"),
    "conll2003": ("ner", "conll2003", ["--train", "train.txt", "--dev", "valid.txt",
                                       "--test", "test.txt"],
                  ("test", "f1"), "test entity F1"),
    "tinyshakespeare": ("char-lm", "tinyshakespeare", ["--data", "input.txt"],
                        ("validation_bits_per_char",), "validation bits/char"),
}
FILE_FLAGS = ("--data", "--test", "--train", "--dev")


def train_command(name, backend, data_dir, run_dir, epochs, extra):
    """The `seqrecipes RECIPE train` command line of a data set on a backend."""
    recipe, folder, flags, _, _ = DATASETS[name]
    flags = [str(data_dir / folder / flag) if i and flags[i - 1] in FILE_FLAGS else flag
             for i, flag in enumerate(flags)]
    if epochs is not None:
        if "--epochs" in flags:
            flags[flags.index("--epochs") + 1] = str(epochs)
        else:
            flags += ["--epochs", str(epochs)]
    return [sys.executable, "-m", "seqrecipes", recipe, "train", *flags, "--backend", backend,
            "--run-dir", str(run_dir), "--verbose", "2", *extra]


def epoch_seconds(run_dir):
    """Each epoch's seconds, from the run's history.csv (`fit_resumable` times every epoch)."""
    import pandas as pd

    history = pd.read_csv(run_dir / "history.csv")
    return [float(value) for value in history["epoch_seconds"]]


def metric(metrics, path):
    for key in path:
        metrics = metrics[key]
    return float(metrics)


def first_documents(source, target, limit):
    """Writes the first whole documents (-DOCSTART- to -DOCSTART-) of CoNLL file `source`
    holding at least `limit` bytes to `target`; returns (bytes, sentences) written."""
    text = source.read_text(encoding="utf-8")
    kept, size = [], 0
    for document in text.split("-DOCSTART-")[1:]:
        kept.append("-DOCSTART-" + document)
        size += len(kept[-1].encode("utf-8"))
        if size >= limit:
            break
    written = "".join(kept)
    target.write_text(written, encoding="utf-8")
    sentences = sum(1 for block in written.split("\n\n")
                    if block.strip() and not block.lstrip().startswith("-DOCSTART-"))
    return len(written.encode("utf-8")), sentences


def conll_subset(data_dir, scratch, megabytes):
    """A data folder whose conll2003/ holds the first `megabytes` MB of train.txt (whole
    documents), the first quarter as much of valid.txt, and all of test.txt."""
    source, folder = data_dir / "conll2003", scratch / "subset" / "conll2003"
    folder.mkdir(parents=True, exist_ok=True)
    for name, limit in (("train.txt", megabytes * 1e6), ("valid.txt", megabytes * 0.25e6)):
        size, sentences = first_documents(source / name, folder / name, limit)
        print(f"{name}: the first {size:,} bytes, {sentences:,} sentences", flush=True)
    (folder / "test.txt").write_bytes((source / "test.txt").read_bytes())
    return folder.parent


def run_one(name, backend, data_dir, scratch, epochs, extra, cap_seconds):
    run_dir = pathlib.Path(tempfile.mkdtemp(prefix=f"{name}_{backend}_", dir=scratch)) / "run"
    command = train_command(name, backend, data_dir, run_dir, epochs, extra)
    children = [Child(command, prefix=f"[{name} {backend}]", cap_seconds=cap_seconds).run()]
    if children[0].capped:  # the run resumes its last finished epoch and scores it
        state = run_dir / ".training" / "state.json"
        done = json.loads(state.read_text())["epochs_done"] if state.is_file() else 0
        if done:
            resumed = train_command(name, backend, data_dir, run_dir, done, extra)
            children.append(Child(resumed, prefix=f"[{name} {backend}]", cap_seconds=None).run())
    child = children[-1]
    row = {"data": name, "backend": backend, "command": shlex.join(command),
           "seconds": round(sum(c.seconds for c in children), 1),
           "cpu_seconds": round(sum(c.cpu_seconds for c in children), 1),
           "capped": children[0].capped}
    if child.returncode or not (run_dir / "metrics.json").is_file():
        row["error"] = (f"exit status {child.returncode}; last line: "
                        + (child.lines[-1][1] if child.lines else "(none)"))
        return row
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    seconds = epoch_seconds(run_dir)
    row.update({
        "epochs": len(seconds), "best_epoch": metrics.get("best_epoch"),
        "first_epoch_seconds": round(seconds[0], 1),
        "later_epoch_seconds": round(statistics.median(seconds[1:]), 2) if seconds[1:] else None,
        "epoch_seconds_total": round(sum(seconds), 1),
        "metric": round(metric(metrics, DATASETS[name][3]), 4),
        "metric_name": DATASETS[name][4],
    })
    return row


def print_table(rows, target_f1):
    print()
    header = (f"{'data':16s} {'backend':10s} {'epochs':>6s} {'1st ep s':>9s} {'later ep s':>10s} "
              f"{'epochs s':>9s} {'wall s':>8s} {'CPU s':>8s}  metric")
    print(header)
    print("-" * len(header))
    for row in rows:
        if "error" in row:
            print(f"{row['data']:16s} {row['backend']:10s} failed: {row['error']}")
            continue
        later = "-" if row["later_epoch_seconds"] is None else f"{row['later_epoch_seconds']:.2f}"
        print(f"{row['data']:16s} {row['backend']:10s} {row['epochs']:6d} "
              f"{row['first_epoch_seconds']:9.1f} {later:>10s} {row['epoch_seconds_total']:9.1f} "
              f"{row['seconds']:8.1f} {row['cpu_seconds']:8.1f}  {row['metric_name']} "
              f"{row['metric']:.4f}{' (capped)' if row['capped'] else ''}")
    for name in dict.fromkeys(row["data"] for row in rows):
        done = {row["backend"]: row for row in rows if row["data"] == name and "error" not in row}
        if {"tensorflow", "jax"} <= set(done):
            tf_row, jax_row = done["tensorflow"], done["jax"]
            ratios = [f"wall {tf_row['seconds'] / jax_row['seconds']:.2f}x",
                      f"CPU {tf_row['cpu_seconds'] / jax_row['cpu_seconds']:.2f}x"]
            if tf_row["later_epoch_seconds"] and jax_row["later_epoch_seconds"]:
                ratios.insert(0, "later epochs "
                              f"{tf_row['later_epoch_seconds'] / jax_row['later_epoch_seconds']:.2f}x")
            print(f"{name}: TensorFlow / JAX: {', '.join(ratios)}; metric "
                  f"{tf_row['metric']:.4f} vs {jax_row['metric']:.4f}")
        if name == "conll2003":
            for backend, row in done.items():
                reached = row["metric"] >= target_f1
                print(f"conll2003 {backend}: test F1 {row['metric']:.4f} "
                      f"{'>=' if reached else '<'} {target_f1} after {row['seconds'] / 60:.1f} "
                      f"min of wall time{'' if reached else ' (not reached)'}")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    # Everything after "--" goes to `RECIPE train`, whatever stands before it.
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--epochs", type=int, default=None,
                        help="at most this many epochs per run (default: the recipe's)")
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="cap each run's wall time (SIGINT; the run keeps its last epoch)")
    parser.add_argument("--target-f1", type=float, default=0.862)
    parser.add_argument("--data-dir", default=str(SHARED))
    parser.add_argument("--conll-megabytes", type=float, default=None,
                        help="train NER on the first documents of CoNLL-2003's train.txt up "
                        "to this many MB (dev: a quarter as much of valid.txt; test.txt "
                        "whole), to measure where its default backend should change")
    parser.add_argument("--results", default=str(REPO / "bench" / "results" / "backends.json"))
    parser.add_argument("--scratch", default=None, help="where the runs go (default: a "
                        "temporary directory, removed at the end)")
    args = parser.parse_args(argv)
    data_dir = pathlib.Path(args.data_dir)
    missing = [name for name in args.data if not (data_dir / DATASETS[name][1]).is_dir()]
    if missing:
        print(f"{data_dir}: no folder for {', '.join(missing)}; pass --data-dir.",
              file=sys.stderr)
        return 1
    cap = args.max_minutes * 60 if args.max_minutes else None
    rows = []
    with tempfile.TemporaryDirectory() as temporary:
        scratch = pathlib.Path(args.scratch or temporary)
        scratch.mkdir(parents=True, exist_ok=True)
        subset = (conll_subset(data_dir, scratch, args.conll_megabytes)
                  if args.conll_megabytes and "conll2003" in args.data else None)
        for name in args.data:
            folder = subset if name == "conll2003" and subset else data_dir
            for backend in args.backends:
                rows.append(run_one(name, backend, folder, scratch, args.epochs, extra, cap))
                print_table(rows, args.target_f1)
    results = pathlib.Path(args.results)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(
        {"argv": argv, "extra": extra, "cpus": len(os.sched_getaffinity(0)), "rows": rows},
        indent=1), encoding="utf-8")
    print(f"\nwritten: {results}")
    return 0 if all("error" not in row for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
