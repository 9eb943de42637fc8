"""Faithfulness of `sentiment explain`: the deletion (AOPC) test, ours vs LIME vs random.

For each dataset a run is trained with the recipe's defaults for its language (today NBSVM
over word 1-3-grams for English and syllable 1-4-grams for Korean) on a subset of the official
training file, then, on test texts drawn at random (seeded), each method ranks the text's
tokens (the model's own: lower-cased words without punctuation, or syllables):

- ours: integrated gradients (`run.explain`), tokens by attribution to the predicted class;
- LIME: `lime.lime_text.LimeTextExplainer` on the same tokens (one feature per token
  position, deleted tokens removed), tokens by weight for the predicted class;
- random: k tokens drawn at random.

Deleting the k top tokens (k = 1, 3, 5) from the text, the predicted class's probability
drops; the table shows the mean drop (AOPC at k: larger is more faithful) and the time of one
explanation. The model runs on the tokens directly, so a deletion is exactly the removal of
those tokens. Two pictures of real explanations are written to docs/.

    python bench/explain_faithfulness.py                          # as in README
    python bench/explain_faithfulness.py --texts 100 --lime-samples 1000

Needs the `bench` extra (lime) and ../shared/data beside the repository (or --data-dir).
"""

import argparse
import os
import pathlib
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
SHARED = REPO.parent / "shared" / "data"

DATASETS = {
    # name: (folder, train file, test file, language)
    "imdb": ("imdb", "train.csv.gz", "test.csv.gz", "en"),
    "nsmc": ("nsmc", "ratings_train.txt.gz", "ratings_test.txt.gz", "ko"),
}
KS = (1, 3, 5)
MIN_TOKENS = 8  # texts with fewer model tokens are skipped (deleting 5 would leave too few)


def _probabilities(run, model_texts):
    """Class probabilities of texts already in the model's tokens (no pretokenising).

    The run's compiled function (one trace), 256 texts a call: LIME's samples of one text
    have about its length, so little is padding.
    """
    import numpy as np

    from seqrecipes.recipes.engine import classification

    model_texts = list(model_texts)
    outputs = [run._outputs_direct(model_texts[start : start + 256])
               for start in range(0, len(model_texts), 256)]
    return classification.probabilities(np.concatenate(outputs), len(run.classes))


def _delete(words, positions):
    drop = set(positions)
    return " ".join(word for index, word in enumerate(words) if index not in drop)


def _lime_ranking(explainer, run, model_text, label, samples):
    """Every token position, largest LIME weight for `label` first.

    LIME weighs all the tokens (`num_features` = their number: its "highest_weights"
    selection, a ridge fit on all of them); asking for only 5 would make it choose 5 by
    |weight| (forward selection), some of them against the class.
    """
    explanation = explainer.explain_instance(
        model_text, lambda texts: _probabilities(run, texts), labels=(label,),
        num_features=len(model_text.split()), num_samples=samples,
    )
    weights = sorted(explanation.as_map()[label], key=lambda pair: -pair[1])
    return [index for index, _ in weights]


def run_dataset(name, args, folder):
    import numpy as np
    from lime.lime_text import LimeTextExplainer
    from quality_sentiment import _subset

    from seqrecipes.datasets import load_table
    from seqrecipes.recipes import sentiment
    from seqrecipes.recipes.engine import explanations
    from seqrecipes.recipes.sentiment import explanation as explain_module

    directory, train_name, test_name, language = DATASETS[name]
    data_dir = pathlib.Path(args.data_dir) / directory
    run_dir = pathlib.Path(args.runs_dir) / name
    train_rows = args.imdb_train if name == "imdb" else args.nsmc_train
    if not (run_dir / "model.keras").is_file():
        train_file = _subset(data_dir / train_name, train_rows, folder)
        test_file = _subset(data_dir / test_name, 2_000, folder)
        sentiment.train(data=str(train_file), test=str(test_file), language=language,
                        run_dir=str(run_dir), baseline="none", epochs=args.epochs, verbose=0)
    run = sentiment.load(run_dir)
    test = pathlib.Path(folder) / f"{name}_test"
    test.mkdir(exist_ok=True)
    table = load_table(
        _subset(data_dir / test_name, 20 * args.texts, test),
        text_column=run.config["text_column"], label_column=run.config["label_column"],
    )
    vectorizer, _ = run._parts()
    widths = explain_module._widths(vectorizer)
    chosen = []
    for raw in table.texts:
        model_text = explain_module.text.pretokenize([raw], language,
                                                     run.config["tokenizer"])[0]
        tokens = explain_module._tokens(vectorizer, model_text)
        words = tokens[: explain_module._num_words(len(tokens), widths)]
        if len(words) >= MIN_TOKENS and (name != "imdb" or len(words) <= args.max_words):
            chosen.append((raw, words))
        if len(chosen) == args.texts:
            break
    rng = np.random.default_rng(0)
    explainer = LimeTextExplainer(class_names=list(run.classes), split_expression=r"\s+",
                                  bow=False, mask_string="", random_state=0)
    methods = [f"integrated gradients ({baseline})" for baseline in args.baselines]
    methods += ["LIME", "random"]
    drops = {method: {k: [] for k in KS} for method in methods}
    seconds = {method: [] for method in methods}
    picture = REPO / "docs" / f"explain_{name}.png"
    shortest = sorted(chosen, key=lambda pair: len(pair[1]))[: args.pictures]
    if shortest:
        explanations.write_png(picture, run.explain([raw for raw, _ in shortest]), width=9.0)
    if args.pictures_only:
        return {"name": name, "picture": picture}
    errors = []
    for raw, words in chosen:
        base = _probabilities(run, [" ".join(words)])[0]
        label = int(base.argmax())
        rankings = {}
        for baseline in args.baselines:
            method = f"integrated gradients ({baseline})"
            start = time.perf_counter()
            row = run.explain([raw], baseline=baseline)[0]
            seconds[method].append(time.perf_counter() - start)
            errors.append(row["completeness_error"])
            values = [token["attribution"] for token in row["tokens"]]
            rankings[method] = list(np.argsort(values)[::-1])
        start = time.perf_counter()
        rankings["LIME"] = _lime_ranking(explainer, run, " ".join(words), label,
                                         args.lime_samples)
        seconds["LIME"].append(time.perf_counter() - start)
        start = time.perf_counter()
        rankings["random"] = list(rng.permutation(len(words)))
        seconds["random"].append(time.perf_counter() - start)
        deleted = [_delete(words, rankings[method][:k]) for method in rankings for k in KS]
        after = _probabilities(run, deleted)[:, label]
        for index, (method, k) in enumerate((m, k) for m in rankings for k in KS):
            drops[method][k].append(base[label] - after[index])
        if len(drops["random"][1]) % 20 == 0:
            print(f"{name}: {len(drops['random'][1])} of {len(chosen)} texts", file=sys.stderr,
                  flush=True)
    return {
        "name": name, "train_rows": train_rows, "texts": len(chosen),
        "model": run.config["model"], "drops": drops, "seconds": seconds,
        "errors": errors, "picture": picture,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--data-dir", default=str(SHARED))
    parser.add_argument("--runs-dir", default=None,
                        help="where the runs are trained (kept: a second call reuses them); "
                        "default: a temporary folder")
    parser.add_argument("--imdb-train", type=int, default=10_000, help="IMDB training rows")
    parser.add_argument("--nsmc-train", type=int, default=30_000, help="NSMC training rows")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--texts", type=int, default=200, help="test texts per dataset")
    parser.add_argument("--max-words", type=int, default=400,
                        help="IMDB: skip reviews with more tokens (LIME's time grows with them)")
    parser.add_argument("--lime-samples", type=int, default=1000,
                        help="LIME's num_samples (its default is 5000)")
    parser.add_argument("--baselines", nargs="+", default=["padding", "zeros"],
                        choices=("padding", "zeros"),
                        help="integrated gradients' baselines to compare (the pictures: the "
                        "recipe's default, padding)")
    parser.add_argument("--pictures", type=int, default=2,
                        help="texts per picture: the shortest of the test texts")
    parser.add_argument("--pictures-only", action="store_true",
                        help="only (re)draw the pictures (the runs in --runs-dir are reused)")
    args = parser.parse_args(argv)
    import numpy as np

    try:
        import lime  # noqa: F401
    except ImportError:
        sys.exit('LIME is compared here: pip install "seqrecipes[bench]" (or pip install lime).')
    with tempfile.TemporaryDirectory() as folder:
        args.runs_dir = args.runs_dir or str(pathlib.Path(folder) / "runs")
        results = [run_dataset(name, args, folder) for name in args.datasets]
    if args.pictures_only:
        print("\n".join(str(result["picture"].relative_to(REPO)) for result in results))
        return 0
    print(f"Deletion test: mean drop of the predicted class's probability after deleting the "
          f"top k tokens (LIME: {args.lime_samples} samples per text)\n")
    print("| data | model | method | k=1 | k=3 | k=5 | seconds per explanation |")
    print("|---|---|---|---|---|---|---|")
    for result in results:
        for method, by_k in result["drops"].items():
            cells = " | ".join(f"{np.mean(by_k[k]):.3f}" for k in KS)
            print(f"| {result['name']} ({result['train_rows']} train, {result['texts']} test) "
                  f"| {result['model']} | {method} | {cells} | "
                  f"{np.mean(result['seconds'][method]):.4f} |")
    ours = f"integrated gradients ({args.baselines[0]})"
    print(f"\nPaired, text by text: drop with {ours} minus drop with LIME (mean +- standard "
          "error; texts where ours drops more / the same / less)\n")
    print("| data | k=1 | k=3 | k=5 |")
    print("|---|---|---|---|")
    for result in results:
        cells = []
        for k in KS:
            difference = (np.array(result["drops"][ours][k])
                          - np.array(result["drops"]["LIME"][k]))
            error = difference.std(ddof=1) / np.sqrt(len(difference))
            cells.append(f"{difference.mean():+.4f} +- {error:.4f} "
                         f"({(difference > 1e-6).sum()}/{(abs(difference) <= 1e-6).sum()}/"
                         f"{(difference < -1e-6).sum()})")
        print(f"| {result['name']} | " + " | ".join(cells) + " |")
    for result in results:
        errors = np.array(result["errors"])
        print(f"\n{result['name']}: completeness error median {np.median(errors):.2e}, max "
              f"{errors.max():.2e}, under 1% for {np.mean(errors < 0.01):.0%} of the "
              f"explanations ({len(errors)}: every text, every baseline)"
              + (f"; picture {result['picture'].relative_to(REPO)}" if args.pictures else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
