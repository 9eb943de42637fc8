"""How long the dataset readers take on the real datasets (best of 5 runs, in seconds).

Run from the repository root, under the shared lock so timings are not disturbed:

    python bench/bench_readers.py

The datasets are read from ``../shared/data`` beside the repository, or from the folder given as
the first argument.
"""

import pathlib
import sys
import time

from seqrecipes.datasets import load_conll, load_table

DATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"



def cases(data):
    return [
        ("NSMC train (150,000 rows)",
         lambda: load_table(data / "nsmc/ratings_train.txt.gz", empty="keep")),
        ("IMDB train (25,000 rows)", lambda: load_table(data / "imdb/train.csv.gz")),
        ("CoNLL-2003 train (14,041 sentences)", lambda: load_conll(data / "conll2003/train.txt")),
        ("KLUE-NER dev.char (5,000 sentences)",
         lambda: load_conll(data / "klue_ner/dev.char.conll")),
    ]


def main(data=DATA, repeats=5):
    for name, read in cases(data):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            result = read()
            times.append(time.perf_counter() - start)
        runs = ", ".join(f"{t:.3f}" for t in times)
        print(f"{name:40s} best {min(times):.3f} s  (runs: {runs}; {len(result):,} items)")


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else DATA)
