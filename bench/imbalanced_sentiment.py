"""Imbalanced classes: per-class recall with and without `--class-weight balanced`.

    python bench/imbalanced_sentiment.py                 # IMDB, 3 classes, 10% minority
    python bench/imbalanced_sentiment.py --minority 0.05 --seeds 1 2 3

Three classes from IMDB's 1-10 ratings ("1-2", "3-4", "7-10"; IMDB has no 5 or 6), with
the "3-4" class cut down to `--minority` of the texts in both the training and the test file
(stratified by nothing else; the cut is seeded). The sentiment recipe then trains with its
defaults, with `--class-weight balanced`, and with both `--class-weight balanced --monitor
macro_f1`, on the same files; every run also fits its TF-IDF baseline. Prints test accuracy,
macro F1 and each class's recall.
"""

import argparse
import pathlib
import sys
import tempfile

import numpy as np
import pandas as pd

DATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "imdb"
CLASSES = {"1-2": (1, 2), "3-4": (3, 4), "7-10": (7, 8, 9, 10)}
SETTINGS = {
    "defaults": {},
    "balanced": {"class_weight": "balanced"},
    "balanced + macro_f1": {"class_weight": "balanced", "monitor": "macro_f1"},
}


def three_classes(path, minority, seed):
    table = pd.read_csv(path)
    table["label"] = None
    for name, ratings in CLASSES.items():
        table.loc[table["rating"].isin(ratings), "label"] = name
    rare = table[table["label"] == "3-4"]
    rest = table[table["label"] != "3-4"]
    keep = int(round(minority * len(rest) / (1 - minority)))
    rare = rare.sample(n=min(keep, len(rare)), random_state=seed)
    return pd.concat([rest, rare]).sample(frac=1, random_state=seed)[["text", "label"]]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minority", type=float, default=0.10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1234])
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"IMDB not found at {DATA}")
        return 1
    from seqrecipes.recipes import sentiment

    folder = pathlib.Path(tempfile.mkdtemp(prefix="imbalanced-"))
    files = {}
    for role in ("train", "test"):
        table = three_classes(DATA / f"{role}.csv.gz", args.minority, seed=0)
        files[role] = folder / f"{role}.csv"
        table.to_csv(files[role], index=False)
        counts = table["label"].value_counts().to_dict()
        print(f"{role}: {len(table):,} texts {counts}")
    rows = []
    for seed in args.seeds:
        for name in args.settings:
            result = sentiment.train(
                data=str(files["train"]), test=str(files["test"]), run_dir=folder / f"{name}-{seed}",
                seed=seed, verbose=0, **SETTINGS[name],
            )
            metrics = result["metrics"]
            for label, figures in (("model", metrics["test"]), ("TF-IDF baseline",
                                                                  metrics["baseline"]["test"])):
                report = figures["report"]
                rows.append({
                    "seed": seed, "settings": name, "who": label,
                    "accuracy": figures["accuracy"], "macro_f1": figures["macro_f1"],
                    **{f"recall {c}": report[c]["recall"] for c in CLASSES},
                    "fit s": result["seconds"]["fit"] if label == "model"
                    else metrics["baseline"]["training_seconds"],
                })
            print(pd.DataFrame(rows[-2:]).to_string(index=False, float_format="%.4f"), flush=True)
    table = pd.DataFrame(rows)
    print("\nAll runs (test set):")
    print(table.to_string(index=False, float_format="%.4f"))
    if len(args.seeds) > 1:
        print("\nMean and standard deviation over seeds:")
        grouped = table.drop(columns="seed").groupby(["settings", "who"])
        print(grouped.agg(["mean", "std"]).to_string(float_format="%.4f"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
