"""Parity, latency and size of the NER and char-LM exports (SavedModel, ONNX, LiteRT).

    python bench/portable_export_ner.py --data ../shared/data [--epochs 1] [--out DIR]

NER: trains a small CoNLL-2003 tagger (BiLSTM 64 + character CNN + CRF, the recipe's
defaults otherwise; parity does not need a good model), exports it in the three formats and
tags every test sentence alone (as `ner predict` does) with Keras and with the portable reader:
word and character ids identical?, largest absolute difference of the emission scores,
share of identical tag sequences and entity spans. Then one-sentence latency (p50 / p99 over
the first 300 test sentences) and sentences per second (the whole test set, batches of 64;
LiteRT takes one sentence per call), and the size on disk of each export.

Confidences (CRF marginals) are compared too. They are float32 forward-backward sums, whose
log-partition grows with the sentence (hundreds of nats), so both the Keras CRF and the NumPy
one are off a float64 computation by up to about 2e-4 on the longest test sentences
(measured on a 54-token one); they differ from each other by as much, on the same emissions.

char LM: trains a small Tiny Shakespeare model (GRU 128, one epoch of windows) and compares the
step graphs' next-character probabilities with Keras over 2,000 characters of the validation
text read one at a time, and a sampled text for the same seed.
"""

import argparse
import json
import pathlib
import statistics
import time

import numpy as np


def _size(path):
    path = pathlib.Path(path)
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _latency(function, inputs):
    times = []
    for item in inputs:
        started = time.perf_counter()
        function(item)
        times.append(time.perf_counter() - started)
    times.sort()
    return {"p50_ms": 1000 * statistics.median(times),
            "p99_ms": 1000 * times[int(0.99 * (len(times) - 1))]}


def bench_ner(data, out, epochs):
    import tensorflow as tf

    from seqrecipes import portable
    from seqrecipes.datasets.string_input import CharacterIds, Lowercase
    from seqrecipes.recipes import ner
    from seqrecipes.recipes.engine.artifacts import load_run
    from seqrecipes.recipes.ner import data as ner_data
    from seqrecipes.recipes.ner.tagger import portable_parts, tag_sentences

    folder = data / "conll2003"
    run_dir = out / "ner-run"
    if not (run_dir / "run.json").exists():
        ner.train(train=str(folder / "train.txt"), dev=str(folder / "valid.txt"),
                  test=str(folder / "test.txt"), run_dir=str(run_dir), units=(64,),
                  epochs=epochs, verbose=0, overwrite=True)
    config = json.loads((run_dir / "config.json").read_text())
    sentences = ner_data.read(folder / "test.txt", token_column=config["token_column"],
                              tag_column=config["tag_column"], scheme=config["scheme"]).tokens
    exports = {fmt: ner.export(run_dir, out / f"ner-{fmt}", format=fmt, overwrite=True)
               for fmt in ("savedmodel", "onnx", "litert")}
    serving = load_run(run_dir).model
    scores_model, _, _ = portable_parts(serving)
    lookup = serving.get_layer("token_lookup")
    chars = next(layer for layer in serving.layers if isinstance(layer, CharacterIds))
    lowercase = Lowercase()
    rows = {}
    keras_tags, _ = tag_sentences(serving, sentences)
    keras_result = ner.predict(run_dir, sentences, tokenized=True)
    for fmt in ("onnx", "litert"):
        reader = portable.load(exports[fmt])
        ids_same, largest = 0, 0.0
        for start in range(0, len(sentences), 64):  # the same padded batches on both sides
            batch = sentences[start : start + 64]
            feeds = reader.ids(batch)
            width = feeds["token_ids"].shape[1]
            strings = tf.constant([s + [""] * (width - len(s)) for s in batch])
            token_ids = lookup(lowercase(strings)).numpy()
            char_ids = chars(strings).numpy()
            ids_same += sum(
                np.array_equal(feeds["token_ids"][row], token_ids[row])
                and np.array_equal(feeds["char_ids"][row], char_ids[row])
                for row in range(len(batch)))
            emissions = reader.session.run(feeds)[0]
            expected = np.asarray(scores_model.predict_on_batch(feeds))
            real = feeds["token_ids"] != 0
            largest = max(largest, float(np.abs(emissions - expected)[real].max()))
        result = reader.predict(sentences, tokenized=True)
        tags_same = sum(a["tags"] == b for a, b in zip(result, keras_tags))
        spans = lambda r: [(e["type"], e["start"], e["end"]) for e in r["entities"]]
        spans_same = sum(spans(a) == spans(b) for a, b in zip(result, keras_result))
        confidence = max(abs(x - y) for a, b in zip(result, keras_result)
                         for x, y in zip(a["confidences"], b["confidences"]))
        rows[fmt] = {"sentences": len(sentences), "ids_identical": ids_same,
                     "max_abs_emission_diff": largest, "tag_sequences_identical": tags_same,
                     "entity_spans_identical": spans_same,
                     "max_abs_confidence_diff": confidence}
    timed = sentences[:300]
    saved = tf.saved_model.load(str(exports["savedmodel"]))
    runners = {
        "keras": lambda s: serving.predict_on_batch(tf.constant([s])),
        "savedmodel": lambda s: saved.serve(tf.constant([s])),
        "onnx": lambda s, r=portable.load(exports["onnx"]): r.tag([s]),
        "litert": lambda s, r=portable.load(exports["litert"]): r.tag([s]),
    }
    speed = {}
    for name, function in runners.items():
        function(timed[0])
        speed[name] = _latency(function, timed)
        started = time.perf_counter()
        if name == "keras":
            tag_sentences(serving, sentences, batch_size=64)
        elif name == "savedmodel":
            for start in range(0, len(sentences), 64):
                batch = sentences[start : start + 64]
                width = max(len(s) for s in batch)
                saved.serve(tf.constant([s + [""] * (width - len(s)) for s in batch]))
        else:
            portable.load(exports[name]).tag(sentences, batch_size=64)
        speed[name]["sentences_per_s"] = len(sentences) / (time.perf_counter() - started)
        speed[name]["size_mb"] = (_size(exports[name]) if name != "keras" else
                                  (run_dir / "model.keras").stat().st_size) / 1e6
    return {"parity": rows, "speed": speed}


def bench_char_lm(data, out, epochs):
    from seqrecipes import portable
    from seqrecipes.models.stepping import run_recurrent
    from seqrecipes.recipes import char_lm
    from seqrecipes.recipes.engine.artifacts import load_run

    run_dir = out / "char-lm-run"
    if not (run_dir / "run.json").exists():
        char_lm.train(data=str(data / "tinyshakespeare" / "input.txt"), units=(128,),
                      epochs=epochs, run_dir=str(run_dir), verbose=0, overwrite=True)
    loaded = load_run(run_dir)
    vocabulary = char_lm.load_vocabulary(loaded)
    text = (data / "tinyshakespeare" / "input.txt").read_text("utf-8")[-2000:]
    index = {c: i for i, c in enumerate(vocabulary)}
    ids = np.array([[index.get(c, 1) for c in text]], "int32")
    expected, _ = run_recurrent(loaded.model, ids)
    softmax = lambda x: np.exp(x - x.max(-1, keepdims=True)) / np.exp(
        x - x.max(-1, keepdims=True)).sum(-1, keepdims=True)
    states, started = None, time.perf_counter()
    for token in ids[0, :300]:  # the recipe's generation: one step, the state carried
        _, states = run_recurrent(loaded.model, np.array([[token]], "int32"), states)
    rows = {"keras": {"steps_per_s": 300 / (time.perf_counter() - started),
                      "size_mb": (run_dir / "model.keras").stat().st_size / 1e6}}
    for fmt in ("onnx", "litert"):
        path = char_lm.export(run_dir, out / f"char-lm-{fmt}", format=fmt, overwrite=True)
        lm = portable.load(path)
        started = time.perf_counter()
        logits, _ = lm.logits(ids)
        seconds = time.perf_counter() - started
        keras_text = char_lm.sample(run_dir, prompt="ROMEO:", length=300, temperature=0.8,
                                    seed=7)
        rows[fmt] = {
            "characters": ids.shape[1],
            "max_abs_probability_diff": float(np.abs(softmax(logits) - softmax(expected)).max()),
            "argmax_identical": float((logits.argmax(-1) == expected.argmax(-1)).mean()),
            "sample_identical": lm.sample("ROMEO:", length=300, temperature=0.8, seed=7)
            == keras_text,
            "steps_per_s": ids.shape[1] / seconds,
            "size_mb": _size(path) / 1e6,
        }
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=pathlib.Path, default=pathlib.Path("../shared/data"))
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("runs/bench-portable"))
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--only", choices=("ner", "char-lm"), default=None)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results = {}
    if args.only in (None, "ner"):
        results["ner"] = bench_ner(args.data, args.out, args.epochs)
    if args.only in (None, "char-lm"):
        results["char-lm"] = bench_char_lm(args.data, args.out, args.epochs)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
