"""NER quality on real data: the recipe's defaults on CoNLL-2003 and on KLUE-NER (characters).

CoNLL-2003 (English): `seqrecipes ner train` with its defaults on train.txt, early stopping on
valid.txt, scored on test.txt; prints the test entity F1 (micro, per type, and for the test
entities seen and unseen in training), the dev F1 and the wall time. No pretrained
embeddings: every weight starts random.

KLUE-NER v1.1 (Korean, character level): only the dev file is public, so its 5,000 sentences
are split deterministically, sentence i going to the test part when i % 5 == 4 (20%) and to
training otherwise; the recipe holds out 10% of the training part (seeded) for early
stopping. Each token is one character (spaces are "▁"), so there are no character features.

    python bench/quality_ner.py conll2003
    python bench/quality_ner.py klue
    python bench/quality_ner.py conll2003 -- --units 200   # any flags

The data are read from ../shared/data beside the repository (never downloaded), or from
`--data-dir`. Extra flags after `--` go to `seqrecipes ner train` unchanged.
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

from seqrecipes.cli import main  # noqa: E402
from seqrecipes.datasets import load_conll  # noqa: E402

KLUE_FLAGS = ["--char-features", "none", "--dev-fraction", "0.1"]  # a token is a character
FOLDERS = {"conll2003": "conll2003", "klue": "klue_ner"}  # in ../shared/data


def klue_split(source, folder):
    """Writes KLUE's dev.char.conll as train (80%) and test (20%: sentence i % 5 == 4)."""
    data = load_conll(source)
    parts = {"train": [], "test": []}
    for i, (tokens, tags) in enumerate(zip(data.tokens, data.tags)):
        lines = "".join(f"{token}\t{tag}\n" for token, tag in zip(tokens, tags))
        parts["test" if i % 5 == 4 else "train"].append(lines)
    paths = {}
    for name, sentences in parts.items():
        paths[name] = folder / f"klue_{name}.char.conll"
        paths[name].write_text("\n".join(sentences), encoding="utf-8")
        print(f"KLUE {name}: {len(sentences)} sentences -> {paths[name]}")
    return paths


def recipe_files(dataset, folder, scratch):
    """The `ner train` flags naming a data set's files (KLUE's split is written to `scratch`)."""
    if dataset == "conll2003":
        return ["--train", str(folder / "train.txt"), "--dev", str(folder / "valid.txt"),
                "--test", str(folder / "test.txt")]
    paths = klue_split(folder / "dev.char.conll", scratch)
    return ["--train", str(paths["train"]), "--test", str(paths["test"]), *KLUE_FLAGS]


def main_(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", choices=("conll2003", "klue"))
    parser.add_argument("--data-dir", default=None, help="default: ../shared/data/<dataset>")
    parser.add_argument("--run-dir", default=None, help="default: a temporary directory")
    argv = sys.argv[1:] if argv is None else list(argv)
    # Everything after "--" goes to `ner train`, whatever stands before it (argparse alone
    # drops the positional `extra` once an option comes between it and the dataset).
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    args = parser.parse_args(argv)
    args.extra = extra
    folder = pathlib.Path(args.data_dir or SHARED / FOLDERS[args.dataset])
    if not folder.is_dir():
        sys.exit(f"{folder} not found: the real datasets live in ../shared/data beside the repo")
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="quality_ner_"))
    run_dir = pathlib.Path(args.run_dir) if args.run_dir else scratch / "run"
    files = recipe_files(args.dataset, folder, scratch)
    # TensorFlow unless the extra flags say otherwise: README's figures of this bench were
    # measured there, and `ner train` would take JAX for CoNLL-2003's 3.3 MB (backend.PreferJax).
    command = ["ner", "train", *files, "--backend", "tensorflow", "--run-dir", str(run_dir),
               "--overwrite", "--verbose", "2", *args.extra]
    print("seqrecipes " + " ".join(command), flush=True)
    start = time.perf_counter()
    status = main(command)
    wall = time.perf_counter() - start
    if status:
        sys.exit(status)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    test = metrics["test"]
    print(f"\n== {args.dataset}: test entity F1 {test['f1']:.4f} (precision "
          f"{test['precision']:.4f}, recall {test['recall']:.4f}); dev F1 "
          f"{metrics['dev']['f1']:.4f}")
    for kind, row in test["per_type"].items():
        print(f"   {kind:5s} F1 {row['f1']:.4f}  (P {row['precision']:.4f}, R "
              f"{row['recall']:.4f}, {row['support']} entities)")
    for group in ("seen", "unseen"):  # by whether the tokens were an entity in training
        row = test[group]
        print(f"   {group:6s} F1 {row['f1']:.4f}  (P {row['precision']:.4f}, R "
              f"{row['recall']:.4f}, {row['num_entities']} entities)")
    print(f"   best epoch {metrics['best_epoch']} of {metrics['epochs_trained']}; training "
          f"(epochs + dev scoring) {metrics['training_seconds'] / 60:.1f} min; whole run "
          f"(reading, vocabularies, training, test scoring, saving) {wall / 60:.1f} min")
    print(test["report"])


if __name__ == "__main__":
    main_()
