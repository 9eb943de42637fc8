"""ONNX and LiteRT exports against Keras: parity on real test data, latency and size.

    python bench/portable_export.py                       # IMDB and NSMC, default runs
    python bench/portable_export.py --train-rows 20000    # train on a subset (say so)
    python bench/portable_export.py --datasets imdb --train-rows 5000 --test-rows 2000 \
        --workdir bench/results/portable-bigru -- --model gru --bidirectional --epochs 2

For each data set a default sentiment run (`seqrecipes sentiment train`, NBSVM; reused from
`--workdir` when it is there) is exported as a SavedModel, ONNX, LiteRT and ONNX with
onnxruntime's dynamic int8 quantization (`quantize_dynamic`). Then, on every test text:

- parity: the largest absolute probability difference against Keras (`sentiment.load(run)
  .probabilities`), the share of identical labels (each differing text is listed), and the
  reader's ids (`portable.text.TextVectorizer`) against the Keras vectoriser's, text by text;
- accuracy of each format (the int8 graph's accuracy change is the cost of its size);
- latency of one text (p50 / p99 over 300 calls after 30 warm-up calls, a test review of
  median length) and texts per second on the first 2,000 test texts (batches of 64) for
  Keras `predict`, the SavedModel's `serve`, and the portable reader on each graph;
- size on disk of each export folder (graph + vocabulary + description) and of model.keras,
  and of the weights alone (the graph file; the SavedModel's variables/).

Prints markdown tables and writes them as JSON (`--out`).
"""

import argparse
import contextlib
import io
import json
import os
import pathlib
import shutil
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "data"

import numpy as np  # noqa: E402

DATASETS = {  # name: (folder, train file, test file, train flags)
    "imdb": ("imdb", "train.csv.gz", "test.csv.gz", []),
    "nsmc": ("nsmc", "ratings_train.txt.gz", "ratings_test.txt.gz", ["--language", "ko"]),
}
CALLS, WARM_UP = 300, 30
THROUGHPUT_TEXTS = 2000
ID_CHUNK = 256  # texts per Keras vectoriser call in the id comparison (padded per chunk)


def _subset(path, rows, folder):
    """The first `rows` rows of a shuffled copy of `path`, as a new file (--train-rows)."""
    import pandas as pd

    tsv = ".txt" in path.name
    frame = pd.read_csv(path, sep="\t" if tsv else ",", quoting=3 if tsv else 0,
                        keep_default_na=False, dtype=str)
    frame = frame.sample(n=min(rows, len(frame)), random_state=0)
    target = pathlib.Path(folder) / path.name.replace(".gz", "")
    frame.to_csv(target, sep="\t" if tsv else ",", index=False, quoting=3 if tsv else 0)
    return target


def train(name, data_dir, workdir, train_rows, extra=()):
    """The run directory of `name` (trained with the recipe's defaults unless present)."""
    from seqrecipes.cli import main

    folder, train_name, test_name, flags = DATASETS[name]
    run_dir = workdir / f"run_{name}"
    train_path, test_path = data_dir / folder / train_name, data_dir / folder / test_name
    if train_rows:
        train_path = _subset(train_path, train_rows, workdir)
    argv = ["sentiment", "train", "--data", str(train_path), "--test", str(test_path),
            *flags, "--run-dir", str(run_dir), "--verbose", "0", "--baseline", "none", *extra]
    if (run_dir / "run.json").is_file():
        print(f"(reusing {run_dir})")
        return run_dir, "seqrecipes " + " ".join(argv)
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        status = main(argv)
    assert status == 0, argv
    print(f"(trained {run_dir} in {time.perf_counter() - start:.0f} s)")
    return run_dir, "seqrecipes " + " ".join(argv)


def test_texts(name, data_dir):
    from seqrecipes.datasets import load_table

    folder, _, test_name, _ = DATASETS[name]
    return load_table(data_dir / folder / test_name, empty="keep")


def export_all(loaded, workdir, name):
    """{format: export folder} for savedmodel, onnx, litert and onnx-int8."""
    from onnxruntime.quantization import quantize_dynamic

    exports = {}
    for fmt in ("savedmodel", "onnx", "litert"):
        start = time.perf_counter()
        exports[fmt] = loaded.export(workdir / f"{name}_{fmt}", overwrite=True, format=fmt)
        print(f"  exported {fmt} in {time.perf_counter() - start:.1f} s")
    int8 = workdir / f"{name}_onnx-int8"
    shutil.rmtree(int8, ignore_errors=True)
    shutil.copytree(exports["onnx"], int8)
    quantize_dynamic(str(exports["onnx"] / "model.onnx"), str(int8 / "model.onnx"))
    exports["onnx-int8"] = int8
    return exports


def folder_size(path):
    path = pathlib.Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def compare_ids(loaded, reader, texts):
    """Texts whose reader ids differ from the Keras vectoriser's (index list)."""
    from seqrecipes.recipes.sentiment import data as text

    vectorizer, _ = loaded._parts()
    config = loaded.config
    differing = []
    for start in range(0, len(texts), ID_CHUNK):
        chunk = texts[start:start + ID_CHUNK]
        expected = vectorizer(text.pretokenize(chunk, config["language"],
                                               config["tokenizer"])).numpy()
        got = reader.vectorizer(chunk, min_length=expected.shape[1])
        differing += [start + i for i in np.flatnonzero((expected != got).any(axis=1))]
    return differing


def latency(function):
    for _ in range(WARM_UP):
        function()
    times = []
    for _ in range(CALLS):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    times = 1000 * np.asarray(times)
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def throughput(function, texts):
    function(texts[:64])  # warm-up
    start = time.perf_counter()
    function(texts)
    return len(texts) / (time.perf_counter() - start)


def bench(name, data_dir, workdir, train_rows, test_rows=None, extra=()):
    import tensorflow as tf

    import seqrecipes.portable as portable
    from seqrecipes.recipes.sentiment import serve

    print(f"\n## {name}")
    run_dir, command = train(name, data_dir, workdir, train_rows, extra)
    loaded = serve.load(run_dir)
    table = test_texts(name, data_dir)
    texts, truth = list(table.texts), np.asarray(table.label_ids(loaded.classes))
    if test_rows is not None and test_rows < len(texts):  # a seeded sample, in file order
        chosen = np.sort(np.random.default_rng(0).choice(len(texts), test_rows, replace=False))
        texts, truth = [texts[i] for i in chosen], truth[chosen]
    exports = export_all(loaded, workdir, name)
    readers = {fmt: portable.load(path) for fmt, path in exports.items() if fmt != "savedmodel"}

    start = time.perf_counter()
    expected = loaded.probabilities(texts)
    print(f"  Keras probabilities of {len(texts):,} texts in {time.perf_counter() - start:.0f} s")
    keras_labels = expected.argmax(axis=1)
    parity = {"keras": {"accuracy": float((keras_labels == truth).mean())}}
    for fmt, reader in readers.items():
        got = reader.probabilities(texts)
        got_labels = got.argmax(axis=1)
        differing = np.flatnonzero(got_labels != keras_labels)
        parity[fmt] = {
            "max_abs_difference": float(np.abs(got - expected).max()),
            "identical_labels": float((got_labels == keras_labels).mean()),
            "accuracy": float((got_labels == truth).mean()),
            "differing": [{"index": int(i), "keras": float(expected[i, 1]),
                           fmt: float(got[i, 1]), "text": texts[i][:80]}
                          for i in differing[:20]],
            "num_differing": int(len(differing)),
        }
    start = time.perf_counter()
    id_differences = compare_ids(loaded, readers["onnx"], texts)
    print(f"  ids compared on {len(texts):,} texts in {time.perf_counter() - start:.0f} s")

    one = sorted(texts, key=len)[len(texts) // 2]  # a review of median length
    sample = texts[:THROUGHPUT_TEXTS]
    served = tf.saved_model.load(str(exports["savedmodel"]))
    # A SavedModel of a run with a Python-side tokenizer (kiwipiepy) takes pre-tokenised
    # strings: its caller tokenises first, and that time is counted in its row.
    from seqrecipes.recipes.sentiment import data as sentiment_text

    pretokenize = sentiment_text.pretokenizer(loaded.config["language"],
                                              loaded.config["tokenizer"]) or (lambda batch: batch)

    def serve_batches(batch):
        for start in range(0, len(batch), 64):
            served.serve(tf.constant(pretokenize(batch[start:start + 64])))

    speed = {
        "keras predict": (lambda: loaded.predict([one]), lambda batch: loaded.predict(batch)),
        "SavedModel serve": (lambda: served.serve(tf.constant(pretokenize([one]))),
                             serve_batches),
    }
    for fmt, reader in readers.items():
        speed[f"portable {fmt}"] = (lambda reader=reader: reader.predict([one]),
                                    lambda batch, reader=reader: reader.predict(batch))
    timing = {}
    for what, (single, batch) in speed.items():
        p50, p99 = latency(single)
        timing[what] = {"p50_ms": p50, "p99_ms": p99, "texts_per_second": throughput(batch, sample)}
    sizes = {"model.keras": folder_size(run_dir / "model.keras"),
             **{fmt: folder_size(path) for fmt, path in exports.items()}}
    graphs = {"model.keras": sizes["model.keras"],
              "savedmodel": folder_size(exports["savedmodel"] / "variables"),
              **{fmt: folder_size(path / readers[fmt].description["graph"])
                 for fmt, path in exports.items() if fmt != "savedmodel"}}
    return {"dataset": name, "train_command": command, "test_texts": len(texts),
            "one_text_chars": len(one), "parity": parity,
            "id_differences": [int(i) for i in id_differences], "timing": timing,
            "sizes": sizes, "graph_sizes": graphs, "model": loaded.config["model"],
            "tokenizer": loaded.config["tokenizer"]}


def report(result):
    name, parity = result["dataset"], result["parity"]
    print(f"\n### {name}: parity on {result['test_texts']:,} test texts "
          f"({result['model']}, {result['tokenizer']})\n")
    print(f"run: {result['train_command']}\n")
    print("| format | max abs probability difference vs Keras | identical labels | accuracy "
          "| accuracy change vs Keras |")
    print("| --- | --- | --- | --- | --- |")
    base = parity["keras"]["accuracy"]
    print(f"| Keras | - | - | {base:.4f} | - |")
    for fmt, row in parity.items():
        if fmt == "keras":
            continue
        print(f"| {fmt} | {row['max_abs_difference']:.2e} | {100 * row['identical_labels']:.3f}% "
              f"| {row['accuracy']:.4f} | {row['accuracy'] - base:+.4f} |")
    ids = result["id_differences"]
    print(f"\nreader ids vs Keras vectoriser: {result['test_texts'] - len(ids):,} of "
          f"{result['test_texts']:,} texts identical")
    for fmt, row in parity.items():
        for case in row.get("differing", []):
            print(f"  {fmt} label differs: text {case['index']}: Keras p1={case['keras']:.7f}, "
                  f"{fmt} p1={case[fmt]:.7f}: {case['text']!r}")
    print(f"\n### {name}: latency (one text of {result['one_text_chars']} characters) and "
          f"throughput ({THROUGHPUT_TEXTS:,} test texts, batches of 64)\n")
    print("| path | p50 ms | p99 ms | texts/s | size on disk | of which weights |")
    print("| --- | --- | --- | --- | --- | --- |")
    sizes, graphs = result["sizes"], result["graph_sizes"]
    size_of = {"keras predict": "model.keras", "SavedModel serve": "savedmodel"}
    for what, row in result["timing"].items():
        key = size_of.get(what, what.replace("portable ", ""))
        print(f"| {what} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | "
              f"{row['texts_per_second']:,.0f} | {sizes[key] / 1e6:.2f} MB | "
              f"{graphs[key] / 1e6:.2f} MB |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=pathlib.Path, default=SHARED)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--workdir", type=pathlib.Path,
                        default=REPO / "bench" / "results" / "portable",
                        help="runs and exports (default: bench/results/portable, ignored by git)")
    parser.add_argument("--train-rows", type=int, default=None,
                        help="train on this many shuffled training rows (default: all)")
    parser.add_argument("--test-rows", type=int, default=None,
                        help="compare on a seeded sample of this many test texts (default: all)")
    parser.add_argument("--out", type=pathlib.Path, default=None, help="JSON results")
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []  # more `train` flags
    argv = argv[: argv.index("--")] if "--" in argv else argv
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        raise SystemExit(f"data sets not found at {args.data} (pass --data)")
    args.workdir.mkdir(parents=True, exist_ok=True)
    results = [bench(name, args.data, args.workdir, args.train_rows, args.test_rows, extra)
               for name in args.datasets]
    for result in results:
        report(result)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
