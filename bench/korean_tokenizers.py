"""Which Korean tokeniser helps: NSMC test accuracy of one model per tokeniser.

Tokenisers (see `seqrecipes.datasets.korean`): "words" (whitespace, punctuation stripped, the
tutorial baseline), "scripts" (whitespace after splitting Hangul / jamo / digit /
punctuation runs), "syllables" (Unicode characters), both inside the model; "morphemes"
(kiwipiepy forms) and "morpheme_tags" (kiwipiepy form/tag), applied before the model.

Each gets the same bucketed pipeline and the same model (Embedding 128 -> LSTM 128 -> Dense,
same seed), trained for the same number of epochs; the script prints the tokenisation time,
vocabulary size, mean length, training time and test accuracy.

    python bench/korean_tokenizers.py            # full NSMC
    python bench/korean_tokenizers.py --quick    # 30k / 10k reviews
"""

import argparse
import json
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from pipeline_speed import NSMC, model_for, read_nsmc  # noqa: E402

from seqrecipes import datasets  # noqa: E402

TOKENIZERS = ("words", "scripts", "syllables", "morphemes", "morpheme_tags")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="30k train / 10k test reviews")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--tokenizers", nargs="+", default=list(TOKENIZERS), choices=TOKENIZERS)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--data-dir", type=pathlib.Path, default=NSMC)
    args = parser.parse_args(argv)
    limit_train, limit_test = (30_000, 10_000) if args.quick else (None, None)
    train_texts, train_labels = read_nsmc(args.data_dir, "ratings_train.txt.gz", limit_train)
    test_texts, test_labels = read_nsmc(args.data_dir, "ratings_test.txt.gz", limit_test)
    results = []
    for tokenizer in args.tokenizers:
        started = time.perf_counter()
        if tokenizer == "words":
            options = dict(standardize="lower_and_strip_punctuation", split="whitespace")
            train, test = train_texts, test_texts
        else:
            options = datasets.KOREAN_VECTORIZER_OPTIONS[tokenizer]
            train = datasets.pretokenize_korean(train_texts, tokenizer)
            test = datasets.pretokenize_korean(test_texts, tokenizer)
        pretokenize_seconds = time.perf_counter() - started
        vectorizer = datasets.build_text_vectorizer(train, max_tokens=20000, **options)
        train_ids = datasets.encode_texts(train, vectorizer)
        test_ids = datasets.encode_texts(test, vectorizer)
        lengths = train_ids.row_lengths().numpy()
        boundaries = datasets.bucket_boundaries(lengths)
        batches = datasets.classification_dataset(
            train_ids, train_labels, batch_size=args.batch_size, boundaries=boundaries,
            shuffle=True, seed=args.seed,
        )
        test_batches = datasets.classification_dataset(
            test_ids, test_labels, batch_size=256, boundaries=boundaries
        )
        model = model_for(vectorizer.vocabulary_size(), args.seed)
        started = time.perf_counter()
        history = model.fit(batches, epochs=args.epochs, validation_data=test_batches,
                            shuffle=False, verbose=0)
        row = {
            "tokenizer": tokenizer,
            "pretokenize_seconds": round(pretokenize_seconds, 1),
            "vocabulary_size": vectorizer.vocabulary_size(),
            "test_oov_rate": round(float(np.mean(test_ids.flat_values.numpy() == 1)), 4),
            "mean_length": round(float(lengths.mean()), 1),
            "train_seconds": round(time.perf_counter() - started, 1),
            "test_accuracy_per_epoch": [round(a, 4) for a in history.history["val_accuracy"]],
        }
        results.append(row)
        print(json.dumps(row), flush=True)
    print(f"\n{len(train_texts)} train / {len(test_texts)} test reviews, {args.epochs} epochs")
    print(f"{'tokenizer':14s} {'vocab':>6s} {'oov':>6s} {'len':>5s} {'pre s':>6s} "
          f"{'train s':>7s}  test accuracy per epoch")
    for row in results:
        print(f"{row['tokenizer']:14s} {row['vocabulary_size']:6d} {row['test_oov_rate']:6.3f} "
              f"{row['mean_length']:5.1f} {row['pretokenize_seconds']:6.1f} "
              f"{row['train_seconds']:7.1f}  {row['test_accuracy_per_epoch']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
