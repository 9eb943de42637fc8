"""What word vectors trained on unlabelled text add: NER (CoNLL-2003) and sentiment (NSMC, IMDB).

For each data set, in one run: `seqrecipes vectors train` on the unlabelled text of the
training file (never a test file), then the recipe trained without vectors and with each kind
of vectors (`--word-vectors`), the same seed and flags otherwise, scored on the official test
file.

- `conll2003-small`: vectors on the text of all 14,041 train.txt sentences (lower-cased, as
  the NER vocabulary); the tagger on its first `--train-sentences` labelled sentences, early
  stopping on the first 1,000 of valid.txt (the setting of bench/quality_bilm.py: little
  labelled data, more unlabelled text). Prints entity F1 for entities seen and unseen in the
  labelled training sentences.
- `conll2003`: the same vectors, the tagger on all of train.txt with the defaults (as
  bench/quality_ner.py; about 20 minutes per run on 2 cores).
- `nsmc`: word2vec on the 150k training reviews' morphemes (`--tokenizer morphemes`, the
  tokens of the BiLSTM the book reports 0.8652 for); BiLSTM 128, embedding 100.
- `imdb`: word2vec on the 25k training reviews' words; the CNN, embedding 100.

    python bench/quality_vectors.py --data conll2003-small
    python bench/quality_vectors.py --data nsmc --algorithms word2vec

The data are read from ../shared/data beside the repository (never downloaded), or from
`--data-dir`.
"""

import argparse
import json
import os
import pathlib
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
SHARED = REPO.parent / "shared" / "data"

from quality_bilm import timed, write_conll  # noqa: E402

from seqrecipes.datasets import coverage_line, load_conll  # noqa: E402

VECTOR_FILES = {"word2vec": "vectors.vec", "fasttext": "vectors.bin"}  # fastText: subwords
# The recipe's settings per data set; the embedding width is the vectors' (100) either way.
SENTIMENT = {
    "nsmc": {"folder": "nsmc", "train": "ratings_train.txt.gz", "test": "ratings_test.txt.gz",
             "vectors": ["--language", "ko", "--tokenizer", "morphemes"],
             "recipe": ["--language", "ko", "--tokenizer", "morphemes", "--model", "lstm",
                        "--bidirectional"]},
    "imdb": {"folder": "imdb", "train": "train.csv.gz", "test": "test.csv.gz",
             "vectors": [], "recipe": ["--model", "cnn"]},
}
DATASETS = ("conll2003-small", "conll2003", "nsmc", "imdb")


def train_vectors(corpus, flags, algorithms, scratch, seed):
    """{algorithm: (the file to pass to --word-vectors, seconds)}."""
    result = {}
    for algorithm in algorithms:
        run_dir = scratch / f"vectors_{algorithm}"
        extra = ["--buckets", "200000"] if algorithm == "fasttext" else []  # 84 MB, not 800
        seconds = timed(["vectors", "train", "--data", str(corpus), *flags, "--algorithm",
                         algorithm, *extra, "--seed", str(seed), "--run-dir", str(run_dir),
                         "--quiet"])
        result[algorithm] = run_dir / VECTOR_FILES[algorithm], seconds
    return result


def variants(vectors):
    yield "no vectors", []
    for algorithm, (path, _) in vectors.items():
        yield algorithm, ["--word-vectors", str(path)]


def ner(name, folder, args, scratch):
    train_file = folder / "train.txt"
    vectors = train_vectors(train_file, [], args.algorithms, scratch, args.seed)
    if name == "conll2003-small":
        train = write_conll(load_conll(train_file), args.train_sentences,
                            scratch / "train_small.conll")
        dev = write_conll(load_conll(folder / "valid.txt"), 1000, scratch / "dev_small.conll")
        budget = ["--epochs", "15", "--patience", "4"]
    else:
        train, dev, budget = train_file, folder / "valid.txt", []
    rows = []
    for label, extra in variants(vectors):
        # A training file of 1 MB or more gets word2vec on its own tokens by default
        # (`--own-vectors`): the "no vectors" row turns that off.
        extra = extra or ["--no-own-vectors"]
        run_dir = scratch / f"ner_{label.replace(' ', '_')}"
        # TensorFlow, where README's figures were measured (all of train.txt would take JAX).
        seconds = timed(["ner", "train", "--backend", "tensorflow", "--train", str(train),
                         "--dev", str(dev), "--test",
                         str(folder / "test.txt"), *budget, "--seed", str(args.seed),
                         "--verbose", "2", *extra, "--run-dir", str(run_dir)])
        metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
        config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
        test = metrics["test"]
        rows.append((label, test["f1"], metrics["dev"]["f1"],
                     f"seen {test['seen']['f1']:.4f} ({test['seen']['num_entities']:,}) "
                     f"unseen {test['unseen']['f1']:.4f} ({test['unseen']['num_entities']:,})",
                     _coverage(config), metrics["best_epoch"], seconds))
    return vectors, rows


def sentiment(name, folder, args, scratch):
    spec = SENTIMENT[name]
    vectors = train_vectors(folder / spec["train"], spec["vectors"], args.algorithms, scratch,
                            args.seed)
    rows = []
    for label, extra in variants(vectors):
        run_dir = scratch / f"sentiment_{label.replace(' ', '_')}"
        seconds = timed(["sentiment", "train", "--data", str(folder / spec["train"]), "--test",
                         str(folder / spec["test"]), *spec["recipe"], "--embedding-dim", "100",
                         "--baseline", "none", "--seed", str(args.seed), "--verbose", "2",
                         *extra, "--run-dir", str(run_dir)])
        metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
        config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
        rows.append((label, metrics["test"]["accuracy"], metrics["validation"]["accuracy"],
                     f"macro F1 {metrics['test']['macro_f1']:.4f}", _coverage(config),
                     metrics["best_epoch"], seconds))
    return vectors, rows


def _coverage(config):
    coverage = config.get("word_vectors_coverage")
    return coverage_line(coverage) if coverage else ""


def main_(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", nargs="+", choices=DATASETS, default=["conll2003-small"])
    parser.add_argument("--algorithms", nargs="+", choices=tuple(VECTOR_FILES),
                        default=list(VECTOR_FILES))
    parser.add_argument("--train-sentences", type=int, default=1000,
                        help="conll2003-small: labelled training sentences")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--data-dir", type=pathlib.Path, default=SHARED)
    args = parser.parse_args(argv)
    for name in args.data:
        folder = args.data_dir / ("conll2003" if name.startswith("conll") else name)
        if not folder.is_dir():
            print(f"skipped {name}: {folder} not found (../shared/data beside the repo)")
            continue
        scratch = pathlib.Path(tempfile.mkdtemp(prefix=f"quality_vectors_{name}_"))
        vectors, rows = (ner if name.startswith("conll") else sentiment)(
            name, folder, args, scratch)
        metric = "entity F1" if name.startswith("conll") else "accuracy"
        print(f"\n== {name}: test {metric} (seed {args.seed}); vectors trained in "
              + ", ".join(f"{algorithm} {seconds:.0f} s"
                          for algorithm, (_, seconds) in vectors.items()))
        for label, test, dev, detail, coverage, best, seconds in rows:
            dev = f"{dev:.4f}" if dev is not None else "-"
            print(f"   {label:10s} test {test:.4f}  dev {dev}  {detail}  "
                  f"{coverage or 'random start'}  best epoch {best}, {seconds:.0f} s")


if __name__ == "__main__":
    main_()
