"""Quality of the sentiment recipe's defaults on real data: NSMC (Korean) and IMDB (English).

For each dataset this runs exactly what a user would run,

    seqrecipes sentiment train --data TRAIN --test TEST [--language ko] --run-dir ...

with every other setting at the recipe's defaults (no pretrained embeddings), so the model
trains on the official training file (10% of it held out, stratified, for early stopping)
and is scored on the official test file. It prints test accuracy, macro F1, the number of
epochs and the wall time (reading, tokenising, training, evaluating and saving), and writes
them to bench/results/quality_sentiment.json.

    python bench/quality_sentiment.py                  # both, full
    python bench/quality_sentiment.py --datasets imdb
    python bench/quality_sentiment.py --quick          # 20k/5k subsets
    python bench/quality_sentiment.py --datasets imdb -- --model cnn

Flags after `--` go to `seqrecipes sentiment train` unchanged (to measure other settings).
The data are read from ../shared/data beside the repository (never downloaded), or from
`--data-dir`.
"""

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "data"

DATASETS = {
    # name: (folder, train file, test file, flags)
    "nsmc": ("nsmc", "ratings_train.txt.gz", "ratings_test.txt.gz", ["--language", "ko"]),
    "imdb": ("imdb", "train.csv.gz", "test.csv.gz", []),
}
QUICK = {"nsmc": (20_000, 5_000), "imdb": (5_000, 5_000)}  # train / test rows with --quick


def _subset(path, rows, folder):
    """The first `rows` rows of a shuffled copy of `path` (for --quick), as a new file."""
    import pandas as pd

    tsv = ".txt" in path.name
    frame = pd.read_csv(path, sep="\t" if tsv else ",", quoting=3 if tsv else 0,
                        keep_default_na=False, dtype=str)
    frame = frame.sample(n=min(rows, len(frame)), random_state=0)
    target = pathlib.Path(folder) / (path.name.replace(".gz", ""))
    frame.to_csv(target, sep="\t" if tsv else ",", index=False, quoting=3 if tsv else 0)
    return target


def run_one(name, data_dir, quick, extra, results_dir):
    from seqrecipes.recipes import sentiment

    folder, train_name, test_name, flags = DATASETS[name]
    train, test = data_dir / folder / train_name, data_dir / folder / test_name
    with tempfile.TemporaryDirectory() as scratch:
        if quick:
            train = _subset(train, QUICK[name][0], scratch)
            test = _subset(test, QUICK[name][1], scratch)
        argv = ["sentiment", "train", "--data", str(train), "--test", str(test), *flags,
                "--run-dir", str(results_dir / f"sentiment_{name}"), "--overwrite",
                "--verbose", "2", *extra]
        print("seqrecipes " + " ".join(argv), flush=True)
        started = time.perf_counter()
        from seqrecipes.cli import build_parser
        from seqrecipes.recipes.engine.flags import keyword_arguments

        args = build_parser().parse_args(argv)
        result = sentiment.train(**keyword_arguments(args))
        seconds = time.perf_counter() - started
    metrics = result["metrics"]
    return {
        "dataset": name,
        "quick": quick,
        "command": "seqrecipes " + " ".join(argv),
        "model": result["config"]["model"],
        "tokenizer": result["config"]["tokenizer"],
        "accuracy": metrics["test"]["accuracy"],
        "macro_f1": metrics["test"]["macro_f1"],
        "test_texts": metrics["test"]["num_texts"],
        "epochs": metrics["epochs_trained"],
        "best_epoch": metrics["best_epoch"],
        "validation_accuracy": metrics["validation"].get("accuracy"),
        "wall_seconds": round(seconds, 1),
        "fit_seconds": round(result["seconds"]["fit"], 1),
        "num_empty": metrics["num_empty"],
    }


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["nsmc", "imdb"], choices=DATASETS)
    parser.add_argument("--quick", action="store_true", help="subsets: " + ", ".join(
        f"{name} {train:,}/{test:,}" for name, (train, test) in QUICK.items()))
    parser.add_argument("--data-dir", type=pathlib.Path, default=SHARED)
    parser.add_argument("--results-dir", type=pathlib.Path, default=REPO / "bench" / "results")
    args = parser.parse_args(argv)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.datasets:
        if not (args.data_dir / DATASETS[name][0]).is_dir():
            print(f"skipped {name}: {args.data_dir / DATASETS[name][0]} not found")
            continue
        rows.append(run_one(name, args.data_dir, args.quick, extra, args.results_dir))
        print(json.dumps(rows[-1], indent=1), flush=True)
    print(f"\n{'dataset':<8} {'model':<10} {'accuracy':>9} {'macro F1':>9} {'epochs':>7} "
          f"{'train s':>8} {'wall s':>8}")
    for row in rows:
        print(f"{row['dataset']:<8} {row['model']:<10} {row['accuracy']:>9.4f} "
              f"{row['macro_f1']:>9.4f} {row['epochs']:>7} {row['fit_seconds']:>8.0f} "
              f"{row['wall_seconds']:>8.0f}")
    output = args.results_dir / "quality_sentiment.json"
    output.write_text(json.dumps(rows, indent=1) + "\n")
    print(f"written to {output}")


if __name__ == "__main__":
    main()
