"""Speed of the bucketed pipeline against fixed padding, and no loss of accuracy (NSMC).

One run trains the same LSTM (Embedding 128 -> LSTM 128 -> Dense, mask_zero=True, built by
`build_sequence_classifier` from the same seed) twice on the NSMC training reviews, tokenised
the same way for both (kiwipiepy form/tag morphemes by default, the most accurate tokeniser
in bench/korean_tokenizers.py; `--tokenizer words|scripts|syllables` needs no kiwipiepy):

(a) as a tutorial would: every review padded (and truncated) to one fixed length, the
    99th percentile of the training lengths by default, as NumPy arrays through
    `model.fit(x, y, batch_size=..., shuffle=True)`;
(b) through `seqrecipes.datasets.classification_dataset`: ids cached, length buckets,
    each batch padded to its own longest review, shuffled with a seed.

It prints useful (non-padding) tokens per second of each training epoch, the ratio (b)/(a),
and the test accuracy (ratings_test) of both after every epoch; with `--seeds N` both are
trained from N seeds, and the accuracies are summarised as mean and standard deviation over
the seeds, so that a difference between the feeds can be set against the seeds' spread.

    python bench/pipeline_speed.py            # the full data
    python bench/pipeline_speed.py --quick    # 20k / 5k reviews
    python bench/pipeline_speed.py --seeds 3 --epochs 3

The data are read from ../shared/data/nsmc beside the repository (never downloaded), or
from `--data-dir`.
"""

import argparse
import json
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
NSMC = REPO.parent / "shared" / "data" / "nsmc"

from seqrecipes import datasets  # noqa: E402
from seqrecipes.models import build_sequence_classifier  # noqa: E402
from seqrecipes.recipes.engine import training as _training  # noqa: E402


def read_nsmc(folder, name, limit):
    # The shared reader (datasets.tabular) will replace this once both branches land.
    frame = pd.read_csv(folder / name, sep="\t", quoting=3, keep_default_na=False)
    if limit:
        frame = frame.sample(n=min(limit, len(frame)), random_state=0)
    return frame["document"].astype(str).tolist(), frame["label"].to_numpy("int32")


def model_for(vocabulary_size, seed, optimizer="recipes", steps_per_execution=1):
    keras.utils.set_random_seed(seed)
    model = build_sequence_classifier(
        vocabulary_size, 2, embedding_dim=128, cell="lstm", units=128, mask_zero=True
    )
    # The recipes' optimizer (`_training.adam`, LazyAdam) for both feeds, or Keras's Adam.
    optimizer = _training.adam(1e-3) if optimizer == "recipes" else "adam"
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"],
                  steps_per_execution=steps_per_execution)
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20k train / 5k test reviews")
    parser.add_argument("--train-size", type=int, default=None, help="subset of train")
    parser.add_argument("--test-size", type=int, default=None, help="subset of test")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--tokenizer", default="morpheme_tags",
                        choices=("words", *datasets.KOREAN_TOKENIZERS))
    parser.add_argument("--fixed-percentile", type=float, default=99.0,
                        help="fixed padding length: this percentile of train lengths; 100 = max")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--seeds", type=int, default=1,
                        help="train both models from this many seeds (seed, seed + 1, ...)")
    parser.add_argument("--optimizer", default="recipes", choices=("recipes", "keras-adam"),
                        help="both models: the recipes' LazyAdam (default) or Keras's Adam")
    parser.add_argument("--steps-per-execution", type=int, default=1,
                        help="the bucketed pipeline's Keras steps_per_execution")
    parser.add_argument("--data-dir", type=pathlib.Path, default=NSMC,
                        help="folder with ratings_train.txt.gz and ratings_test.txt.gz")
    parser.add_argument("--output", default=None, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    train_size = args.train_size or (20_000 if args.quick else None)
    test_size = args.test_size or (5_000 if args.quick else None)

    started = time.perf_counter()
    train_texts, train_labels = read_nsmc(args.data_dir, "ratings_train.txt.gz", train_size)
    test_texts, test_labels = read_nsmc(args.data_dir, "ratings_test.txt.gz", test_size)
    if args.tokenizer == "words":
        options = dict(standardize="lower_and_strip_punctuation", split="whitespace")
    else:
        options = datasets.KOREAN_VECTORIZER_OPTIONS[args.tokenizer]
        train_texts = datasets.pretokenize_korean(train_texts, args.tokenizer)
        test_texts = datasets.pretokenize_korean(test_texts, args.tokenizer)
    vectorizer = datasets.build_text_vectorizer(train_texts, max_tokens=20000, **options)
    train_ids = datasets.encode_texts(train_texts, vectorizer)
    test_ids = datasets.encode_texts(test_texts, vectorizer)
    lengths = train_ids.row_lengths().numpy()
    prepare_seconds = time.perf_counter() - started

    fixed_length = int(np.ceil(np.percentile(lengths, args.fixed_percentile)))
    pad = dict(maxlen=fixed_length, padding="post", truncating="post", dtype="int32")
    x_train = keras.utils.pad_sequences(train_ids.to_list(), **pad)
    x_test = keras.utils.pad_sequences(test_ids.to_list(), **pad)
    fixed_tokens = int(np.minimum(lengths, fixed_length).sum())
    truncated = float(np.mean(lengths > fixed_length))

    boundaries = datasets.bucket_boundaries(lengths)
    seeds = [args.seed + i for i in range(args.seeds)]
    train_batches = datasets.classification_dataset(
        train_ids, train_labels, batch_size=args.batch_size, boundaries=boundaries,
        shuffle=True, seed=seeds[0],
    )
    test_batches = datasets.classification_dataset(
        test_ids, test_labels, batch_size=256, boundaries=boundaries
    )
    padded_steps = sum(int(np.prod(x.shape)) for x, _ in train_batches)

    results = {
        "train_reviews": len(train_texts), "test_reviews": len(test_texts),
        "tokenizer": args.tokenizer, "vocabulary_size": vectorizer.vocabulary_size(),
        "mean_length": float(lengths.mean()), "max_length": int(lengths.max()),
        "epochs": args.epochs, "batch_size": args.batch_size, "seeds": seeds,
        "prepare_seconds": round(prepare_seconds, 1),
        "fixed": {"length": fixed_length, "percentile": args.fixed_percentile,
                  "fraction_truncated": truncated, "useful_tokens": fixed_tokens,
                  "padded_steps": int(x_train.size)},
        "bucketed": {"boundaries": boundaries, "useful_tokens": int(lengths.sum()),
                     "padded_steps": padded_steps},
    }
    # The two models train in turn, one epoch each, so that a change in the load of the
    # shared machine hits both alike; wall-clock and CPU (process) time are both recorded,
    # and both are evaluated on the test reviews after every epoch (not timed). Each seed
    # gives both models the same initial weights; the bucketed feed's batches also follow it.
    for name in ("fixed", "bucketed"):
        results[name].update(epoch_seconds=[], epoch_cpu_seconds=[], tokens_per_second=[],
                             tokens_per_cpu_second=[], test_accuracy=[])
    for seed in seeds:
        train_batches = datasets.classification_dataset(
            train_ids, train_labels, batch_size=args.batch_size, boundaries=boundaries,
            shuffle=True, seed=seed,
        )
        runs = {
            "fixed": dict(
                model=model_for(vectorizer.vocabulary_size(), seed, args.optimizer),
                tokens=fixed_tokens,
                fit=lambda model, epoch: model.fit(
                    x_train, train_labels, batch_size=args.batch_size, shuffle=True,
                    verbose=0, initial_epoch=epoch, epochs=epoch + 1),
                evaluate=lambda model: model.evaluate(x_test, test_labels, batch_size=256,
                                                      verbose=0)),
            "bucketed": dict(
                model=model_for(vectorizer.vocabulary_size(), seed, args.optimizer,
                                args.steps_per_execution),
                tokens=int(lengths.sum()),
                fit=lambda model, epoch, batches=train_batches: model.fit(
                    batches, shuffle=False, verbose=0, initial_epoch=epoch,
                    epochs=epoch + 1),
                evaluate=lambda model: model.evaluate(test_batches, verbose=0)),
        }
        accuracies = {name: [] for name in runs}
        for epoch in range(args.epochs):
            for name, run in runs.items():
                wall, cpu = time.perf_counter(), time.process_time()
                run["fit"](run["model"], epoch)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                accuracy = float(run["evaluate"](run["model"])[1])
                accuracies[name].append(round(accuracy, 4))
                entry = results[name]
                entry["epoch_seconds"].append(round(wall, 1))
                entry["epoch_cpu_seconds"].append(round(cpu, 1))
                entry["tokens_per_second"].append(round(run["tokens"] / wall))
                entry["tokens_per_cpu_second"].append(round(run["tokens"] / cpu))
                print(f"seed {seed} epoch {epoch + 1} {name:8s} {wall:6.1f} s wall "
                      f"{cpu:6.1f} s CPU: {run['tokens'] / wall:8.0f} useful tokens/s, "
                      f"test accuracy {accuracy:.4f}", flush=True)
        for name in runs:
            results[name]["test_accuracy"].append(accuracies[name])

    # Speed: the first epoch of each seed includes tracing (every bucket shape for the
    # bucketed feed), so it counts only when there is no other. The headline ratio is that of
    # each feed's fastest epoch (as `timeit` takes the best of its repeats: on a shared
    # machine an epoch can only be slowed down by others); the median of the per-epoch
    # ratios is printed beside it.
    timed = [i for i in range(len(seeds) * args.epochs) if args.epochs == 1 or i % args.epochs]
    for kind, key in (("wall", "tokens_per_second"), ("cpu", "tokens_per_cpu_second")):
        fixed = np.array(results["fixed"][key])[timed]
        bucketed = np.array(results["bucketed"][key])[timed]
        results[f"speedup_{kind}"] = round(float(bucketed.max() / fixed.max()), 2)
        results[f"speedup_{kind}_median"] = round(float(np.median(bucketed / fixed)), 2)
        results[f"speedup_{kind}_per_epoch"] = [round(float(r), 2) for r in bucketed / fixed]
    # Accuracy: each seed's last epoch, and each seed's best epoch (what early stopping on
    # a validation split would approach), as mean and standard deviation over the seeds.
    for name in ("fixed", "bucketed"):
        table = np.array(results[name]["test_accuracy"])
        results[name]["last_epoch_accuracy"] = [round(float(table[:, -1].mean()), 4),
                                                round(float(table[:, -1].std()), 4)]
        results[name]["best_epoch_accuracy"] = [round(float(table.max(1).mean()), 4),
                                                round(float(table.max(1).std()), 4)]
    print(json.dumps(results))
    print(f"\nfixed padding to {fixed_length} ({args.fixed_percentile:g}th percentile, "
          f"{100 * truncated:.2f}% of reviews truncated) vs bucketed ({len(boundaries) + 1} "
          f"buckets), {len(seeds)} seed(s) x {args.epochs} epochs:")
    print(f"  useful tokens/s, bucketed / fixed, fastest epochs: {results['speedup_wall']:.2f}x "
          f"wall, {results['speedup_cpu']:.2f}x CPU; median of the epochs' ratios "
          f"{results['speedup_wall_median']:.2f}x wall (per epoch "
          f"{results['speedup_wall_per_epoch']}), {results['speedup_cpu_median']:.2f}x CPU")
    for which in ("last_epoch_accuracy", "best_epoch_accuracy"):
        fixed, bucketed = results["fixed"][which], results["bucketed"][which]
        print(f"  test accuracy, {which.split('_')[0]} epoch (mean +- sd over seeds): fixed "
              f"{fixed[0]:.4f} +- {fixed[1]:.4f}, bucketed {bucketed[0]:.4f} +- "
              f"{bucketed[1]:.4f} (difference {bucketed[0] - fixed[0]:+.4f})")
    if args.output:
        pathlib.Path(args.output).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
