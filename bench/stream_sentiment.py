"""Streaming from shards against reading into memory: accuracy, time and peak memory.

The IMDB training file is split once (stratified 10%, seed 0) into a validation file and the
rest; the rest is written as `--shards` gzip shards sorted by label (the hardest order for a
vocabulary taken from the beginning of a stream). Then two runs of the sentiment recipe's
defaults, each in its own process so that its peak resident memory is its own:

    memory:  seqrecipes sentiment train --data rest.csv --validation valid.csv --test test
    stream:  seqrecipes sentiment train --stream --data 'shards/*.csv.gz' --validation ...
             --vocabulary-sample N

Printed: test accuracy, training seconds and peak RSS of each, and the ratios.

    python bench/stream_sentiment.py
    python bench/stream_sentiment.py --shards 8 --vocabulary-sample 20000 --epochs 3

The data are read from ../shared/data beside the repository (never downloaded), or from
`--data-dir`.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


def _split(data_dir, folder, shards):
    import numpy as np
    import pandas as pd
    from sklearn.model_selection import train_test_split

    table = pd.read_csv(data_dir / "imdb" / "train.csv.gz", keep_default_na=False, dtype=str)
    rest, valid = train_test_split(table, test_size=0.1, stratify=table["label"],
                                   random_state=0)
    valid.to_csv(folder / "valid.csv", index=False)
    rest.to_csv(folder / "rest.csv", index=False)
    rest = rest.sort_values("label", kind="stable")
    (folder / "shards").mkdir()
    for i, rows in enumerate(np.array_split(np.arange(len(rest)), shards)):
        rest.iloc[rows].to_csv(folder / "shards" / f"train-{i:03d}.csv.gz", index=False,
                               compression="gzip")
    return len(rest), len(valid)


def _run(argv, log):
    """Runs `seqrecipes ARGV` in a child process; returns (metrics dict, peak RSS in MiB)."""
    code = ("import json, sys; from seqrecipes.cli import build_parser; "
            "from seqrecipes.recipes import sentiment; "
            "from seqrecipes.recipes.engine.flags import keyword_arguments; "
            "r = sentiment.train(**keyword_arguments(build_parser().parse_args(sys.argv[1:]))); "
            "print('RESULT ' + json.dumps({'test': r['metrics']['test']['accuracy'], "
            "'fit': r['seconds']['fit'], 'total': r['seconds']['total'], "
            "'epochs': r['metrics']['epochs_trained'], "
            "'vocabulary': r['metrics']['sizes']['vocabulary']}))")
    environ = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    with open(log, "w") as handle:
        process = subprocess.Popen([sys.executable, "-c", code, *argv], env=environ,
                                   stdout=handle, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    text = pathlib.Path(log).read_text()
    if status != 0:
        raise SystemExit(f"run failed ({status}):\n{text[-3000:]}")
    result = json.loads(text.split("RESULT ", 1)[1].splitlines()[0])
    return result, usage.ru_maxrss / 1024  # Linux: KiB


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=pathlib.Path, default=SHARED)
    parser.add_argument("--shards", type=int, default=5)
    parser.add_argument("--vocabulary-sample", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=None,
                        help="cap both runs (default: the recipe's early stopping)")
    args = parser.parse_args()
    if not (args.data_dir / "imdb" / "train.csv.gz").is_file():
        raise SystemExit(f"IMDB not found under {args.data_dir}; pass --data-dir.")
    with tempfile.TemporaryDirectory() as scratch:
        folder = pathlib.Path(scratch)
        train_rows, valid_rows = _split(args.data_dir, folder, args.shards)
        common = ["--validation", str(folder / "valid.csv"),
                  "--test", str(args.data_dir / "imdb" / "test.csv.gz"), "--verbose", "2",
                  "--overwrite"] + (["--epochs", str(args.epochs)] if args.epochs else [])
        runs = {
            "memory": ["sentiment", "train", "--data", str(folder / "rest.csv"),
                       "--run-dir", str(folder / "run_memory"), *common],
            "stream": ["sentiment", "train", "--stream", "--data",
                       str(folder / "shards" / "*.csv.gz"), "--vocabulary-sample",
                       str(args.vocabulary_sample), "--run-dir", str(folder / "run_stream"),
                       *common],
        }
        print(f"IMDB: {train_rows:,} training reviews ({args.shards} shards sorted by label), "
              f"{valid_rows:,} validation, 25,000 test", flush=True)
        results = {}
        for name, argv in runs.items():
            print("seqrecipes " + " ".join(argv), flush=True)
            results[name] = _run(argv, folder / f"{name}.log")
            result, rss = results[name]
            print(f"  {name:<7} test accuracy {result['test']:.4f}, {result['epochs']} epochs, "
                  f"training {result['fit']:.0f} s (whole run {result['total']:.0f} s), "
                  f"vocabulary {result['vocabulary']:,}, peak RSS {rss:,.0f} MiB", flush=True)
    (memory, memory_rss), (stream, stream_rss) = results["memory"], results["stream"]
    print(f"stream / memory: accuracy {stream['test'] - memory['test']:+.4f}, training time "
          f"per epoch x{(stream['fit'] / stream['epochs']) / (memory['fit'] / memory['epochs']):.2f}"
          f", peak RSS x{stream_rss / memory_rss:.2f}")


if __name__ == "__main__":
    main()
