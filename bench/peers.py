"""The sentiment recipe against the tools a user would pick instead, on the same splits.

Peers (their packages are the `bench` extra, never the package's requirements:
scikit-learn, fasttext-wheel or fasttext-numpy2):

- `tfidf_lr`: the baseline every `sentiment train` fits and reports
  (`recipes/sentiment/baseline.py`): scikit-learn `TfidfVectorizer` (sublinear tf, min_df 2;
  word 1-2-grams for English, with "!" and "?" as tokens, char_wb 1-4-grams for Korean) +
  `LogisticRegression` (liblinear, C=4).
- `nbsvm`: NBSVM (Wang & Manning 2012) as logistic regression: binary n-gram counts (word
  1-3-grams for English, char_wb 1-4-grams for Korean) scaled by the naive-Bayes log-count
  ratio r = log((p / |p|_1) / (q / |q|_1)), p and q the smoothed (alpha 1) counts of each
  class, then `LogisticRegression` (liblinear, dual, C=1 for English, 4 for Korean).
- `fasttext`: the fastText library, supervised, word bigrams (`wordNgrams=2`), 10 epochs,
  lr 0.5, one thread, its training lines shuffled (seeded; fastText reads them in order and
  IMDB's file is sorted by label). English text is lower-cased, `<br />` removed and
  punctuation split off; Korean is given as it is. (Scored per text through the wrapped
  C++ `predict`: the Python `predict` breaks under NumPy 2; `model.test` checks it.)

and the recipe itself (`seqrecipes.recipes.sentiment.train` with its defaults, or the
settings of `--recipe-config '{"model": "cnn"}'`), on the same training texts (it holds 10%
of them out for early stopping; the peers train on all of them), scored on the same full
official test set. Training sizes: the full training file, and stratified seeded subsets
(2,000 and 10,000 texts). Empty documents are dropped (NSMC has a few), as the recipe does.

    python bench/peers.py                        # IMDB and NSMC, 2k, 10k and full
    python bench/peers.py --quick --data imdb    # subsets only: minutes
    python bench/peers.py --peers nbsvm recipe --sizes 2000

Prints accuracy, macro F1 and training seconds (peers: vectorising and fitting; recipe: its
whole `train` call, reading, tokenising, saving included), then the recipe's accuracy ratio
to each peer. Figures go to bench/results/peers.json too. The data are read from
../shared/data beside the repository (never downloaded), or from `--data-dir`.
"""

import argparse
import json
import os
import pathlib
import random
import re
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "data"

DATASETS = {
    # name: (folder, train file, test file, language)
    "imdb": ("imdb", "train.csv.gz", "test.csv.gz", "en"),
    "nsmc": ("nsmc", "ratings_train.txt.gz", "ratings_test.txt.gz", "ko"),
}
PEERS = ("tfidf_lr", "nbsvm", "fasttext", "recipe")
QUICK_SIZES = (2_000, 10_000)


def load(data_dir, name):
    """(train texts, train labels, test texts, test labels, classes) via the recipe's reader."""
    from seqrecipes.datasets import load_table

    folder, train_name, test_name, _ = DATASETS[name]
    train = load_table(data_dir / folder / train_name, empty="drop")
    test = load_table(data_dir / folder / test_name, empty="drop")
    classes = train.classes
    return (list(train.texts), train.label_ids(classes), list(test.texts),
            test.label_ids(classes), classes)


def subset(texts, labels, size, seed):
    """A stratified, seeded subset of `size` texts (all of them when size is None)."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    if size is None or size >= len(texts):
        return texts, labels
    rows, _ = train_test_split(np.arange(len(texts)), train_size=size, stratify=labels,
                               random_state=seed)
    rows = np.sort(rows)
    return [texts[i] for i in rows], labels[rows]


def _binary_vectorizer(language):
    """NBSVM's binary n-gram counts: word 1-3-grams (the baseline's words) or char_wb 1-4."""
    from sklearn.feature_extraction.text import CountVectorizer

    from seqrecipes.recipes.sentiment import baseline

    if language == "en":
        return CountVectorizer(ngram_range=(1, 3), min_df=2, binary=True,
                               preprocessor=baseline.english_text,
                               token_pattern=baseline.ENGLISH_TOKENS)
    return CountVectorizer(analyzer="char_wb", ngram_range=(1, 4), min_df=2, binary=True)


def tfidf_lr(language, train, test):
    """The recipe's own baseline (`recipes.sentiment.baseline`): the peer every run reports."""
    from seqrecipes.recipes.sentiment import baseline

    classes = sorted(set(train[1]))
    _, pipeline = baseline.fit_tfidf_baseline(train, {}, classes, language=language)
    return baseline.probabilities(pipeline, test[0], len(classes))[:, 1]


def nbsvm(language, train, test):
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    vectorizer = _binary_vectorizer(language)
    features = vectorizer.fit_transform(train[0])
    labels = np.asarray(train[1])
    p = np.asarray(features[labels == 1].sum(axis=0)).ravel() + 1.0
    q = np.asarray(features[labels == 0].sum(axis=0)).ravel() + 1.0
    ratio = np.log((p / p.sum()) / (q / q.sum()))
    c = 1 if language == "en" else 4  # en: C=1 0.9172, C=4 0.9169 on IMDB
    model = LogisticRegression(C=c, dual=True, solver="liblinear", max_iter=1000)
    model.fit(features.multiply(ratio).tocsr(), labels)
    return model.predict_proba(vectorizer.transform(test[0]).multiply(ratio).tocsr())[:, 1]


def _fasttext_lines(language, texts, labels):
    from seqrecipes.recipes.sentiment.baseline import english_text

    lines = []
    for text, label in zip(texts, labels):
        text = " ".join(text.split())
        if language == "en":
            text = re.sub(r"([^\w\s'])", r" \1 ", english_text(text))
            text = " ".join(text.split())
        lines.append(f"__label__{int(label)} {text}\n")
    return lines


def fasttext(language, train, test):
    """The fastText library's accuracy and macro F1 (`model.test`'s precision at 1 checks them)."""
    import fasttext as fasttext_library

    with tempfile.TemporaryDirectory() as scratch:
        train_path, test_path = pathlib.Path(scratch, "train.txt"), pathlib.Path(scratch,
                                                                                "test.txt")
        lines = _fasttext_lines(language, *train)
        # fastText reads its file in order: IMDB's file has every negative review first.
        random.Random(0).shuffle(lines)
        train_path.write_text("".join(lines), encoding="utf-8")
        test_path.write_text("".join(_fasttext_lines(language, *test)), encoding="utf-8")
        model = fasttext_library.train_supervised(
            # One thread: the same model every run.
            str(train_path), wordNgrams=2, epoch=10, lr=0.5, verbose=0, seed=0, thread=1,
        )
        _, precision_at_1, _ = model.test(str(test_path))
        # `model.predict` and `model.test_label` are broken under NumPy 2 (a copy error; NaN
        # recalls): the wrapped C++ object's own `predict` gives each text's top label.
        lines = _fasttext_lines(language, *test)
        predicted = [int(model.f.predict(line.split(" ", 1)[1], 1, 0.0, "strict")[0][1]
                         .removeprefix("__label__")) for line in lines]
    from sklearn.metrics import accuracy_score, f1_score

    accuracy = accuracy_score(test[1], predicted)
    if abs(accuracy - precision_at_1) > 1e-3:
        raise RuntimeError(f"fastText: accuracy {accuracy} from predict, {precision_at_1} "
                           "from model.test")
    return {"accuracy": accuracy, "macro_f1": f1_score(test[1], predicted, average="macro")}


def recipe(language, train, test, classes, settings):
    """The recipe's `train` on files holding exactly these texts; its own test figures."""
    import pandas as pd

    from seqrecipes.recipes import sentiment

    with tempfile.TemporaryDirectory() as scratch:
        paths = {}
        for name, (texts, labels) in (("train", train), ("test", test)):
            paths[name] = pathlib.Path(scratch, f"{name}.tsv")
            frame = pd.DataFrame({"text": [" ".join(t.split()) for t in texts],
                                  "label": [classes[i] for i in labels]})
            frame.to_csv(paths[name], sep="\t", index=False, quoting=3)
        result = sentiment.train(
            data=str(paths["train"]), test=str(paths["test"]), language=language,
            run_dir=str(pathlib.Path(scratch, "run")), verbose=0, **settings,
        )
    test_metrics = result["metrics"]["test"]
    return {"accuracy": test_metrics["accuracy"], "macro_f1": test_metrics["macro_f1"],
            "fit_seconds": result["seconds"]["fit"], "model": result["config"]["model"],
            "epochs": result["metrics"]["epochs_trained"]}


def run_peer(peer, language, train, test, classes, settings):
    import numpy as np
    from sklearn.metrics import accuracy_score, f1_score

    started = time.perf_counter()
    if peer == "recipe":
        row = recipe(language, train, test, classes, settings)
    elif peer == "fasttext":
        row = fasttext(language, train, test)
    else:
        probabilities = {"tfidf_lr": tfidf_lr, "nbsvm": nbsvm}[peer](language, train, test)
        predicted = (np.asarray(probabilities) > 0.5).astype(int)
        row = {"accuracy": accuracy_score(test[1], predicted),
               "macro_f1": f1_score(test[1], predicted, average="macro")}
    row["seconds"] = time.perf_counter() - started  # the fastText row includes its test
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--peers", nargs="+", default=list(PEERS), choices=PEERS)
    parser.add_argument("--quick", action="store_true",
                        help="subsets only: " + ", ".join(f"{n:,}" for n in QUICK_SIZES))
    parser.add_argument("--sizes", nargs="+", type=int, default=None,
                        help="training sizes (0: the full training file)")
    parser.add_argument("--seed", type=int, default=0, help="the subsets' seed")
    parser.add_argument("--recipe-config", type=json.loads, default={},
                        help="JSON keyword arguments for sentiment.train, "
                        'e.g. \'{"model": "cnn"}\'')
    parser.add_argument("--data-dir", type=pathlib.Path, default=SHARED)
    parser.add_argument("--results-dir", type=pathlib.Path, default=REPO / "bench" / "results")
    args = parser.parse_args(argv)
    sizes = args.sizes or (list(QUICK_SIZES) if args.quick else [*QUICK_SIZES, 0])
    sizes = [size or None for size in sizes]
    peers = list(args.peers)
    if "fasttext" in peers:
        try:
            import fasttext as _  # noqa: F401
        except ImportError:
            print("skipped fasttext: not installed (pip install fasttext-wheel)")
            peers.remove("fasttext")
    rows = []
    for name in args.data:
        if not (args.data_dir / DATASETS[name][0]).is_dir():
            print(f"skipped {name}: {args.data_dir / DATASETS[name][0]} not found")
            continue
        language = DATASETS[name][3]
        train_texts, train_labels, test_texts, test_labels, classes = load(args.data_dir, name)
        for size in sizes:
            train = subset(train_texts, train_labels, size, args.seed)
            for peer in peers:
                row = run_peer(peer, language, train, (test_texts, test_labels), classes,
                               args.recipe_config)
                row.update(data=name, train=len(train[0]), test=len(test_texts), peer=peer)
                rows.append(row)
                print(json.dumps(row), flush=True)
    _table(rows)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    output = args.results_dir / "peers.json"
    output.write_text(json.dumps({"recipe_config": args.recipe_config, "seed": args.seed,
                                  "rows": rows}, indent=1) + "\n")
    print(f"written to {output}")


def _table(rows):
    print(f"\n{'data':<6} {'train':>7} {'peer':<9} {'accuracy':>9} {'macro F1':>9} "
          f"{'train s':>8}  recipe accuracy / peer's")
    for row in rows:
        ours = next((r for r in rows if r["peer"] == "recipe" and r["data"] == row["data"]
                     and r["train"] == row["train"]), None)
        ratio = (f"{ours['accuracy'] / row['accuracy']:.4f}"
                 if ours is not None and row["peer"] != "recipe" else "")
        print(f"{row['data']:<6} {row['train']:>7,} {row['peer']:<9} {row['accuracy']:>9.4f} "
              f"{row['macro_f1']:>9.4f} {row['seconds']:>8.1f}  {ratio}")


if __name__ == "__main__":
    main()
