"""Sections 3 and 4 of bench/speed.py: prediction latency and throughput, and start-up time.

Two small runs are trained first with the sentiment recipe's defaults: Korean (`--language
ko`: kiwipiepy morpheme/tag tokens in Python, then a CNN) on 3,000 NSMC reviews, and English
(in-model tokens, fastText bag) on the embedded sample. Latency does not depend on accuracy.
"""

import contextlib
import io
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import tensorflow as tf

import pipeline_speed
from seqrecipes.recipes import sentiment
from seqrecipes.recipes.sentiment import serve as _sentiment_serve
from seqrecipes.recipes.sentiment import data as text

REPO = pathlib.Path(__file__).resolve().parents[1]
SHORT = {"ko": "정말 재미있는 영화였어요", "en": "What a wonderful film"}
CALLS, WARM_UP = 200, 20


def train_runs(workdir, nsmc, args, echo):
    """{"ko": run_dir, "en": run_dir}: one epoch each, the recipe's defaults otherwise."""
    texts, labels = pipeline_speed.read_nsmc(nsmc, "ratings_train.txt.gz", 3000)
    table = workdir / "nsmc_3000.csv"
    pd.DataFrame({"document": texts, "label": labels}).to_csv(table, index=False)
    runs = {"ko": workdir / "run_ko", "en": workdir / "run_en"}
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # the recipe's summaries
        sentiment.train(data=table, language="ko", run_dir=runs["ko"], epochs=1, verbose=0,
                        seed=args.seed)
        sentiment.train(run_dir=runs["en"], epochs=1, verbose=0, seed=args.seed)
    echo(f"(trained the two runs for sections 3-4 in {time.perf_counter() - start:.0f} s)")
    return runs


def latencies(function, calls=CALLS, warm_up=WARM_UP):
    """p50 and p99 in ms of `calls` calls after `warm_up` calls."""
    for _ in range(warm_up):
        function()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    times = 1000 * np.asarray(times)
    return {"p50_ms": round(float(np.percentile(times, 50)), 3),
            "p99_ms": round(float(np.percentile(times, 99)), 3)}


def _line(what, figures):
    return f"  {what:58s} p50 {figures['p50_ms']:7.2f} ms  p99 {figures['p99_ms']:7.2f} ms"


def prediction(runs, workdir, nsmc, echo):
    results = {}
    for language, run_dir in runs.items():
        short = SHORT[language]
        loaded = sentiment.load(run_dir)
        tokens = text.pretokenize([short], language, loaded.config["tokenizer"])
        entry = {"text": short, "tokens": tokens[0]}
        entry["python_api"] = latencies(lambda: loaded.predict([short]))
        echo(_line(f"{language}: sentiment.load(run).predict([text])", entry["python_api"]))
        if tokens[0] != short:
            entry["kiwipiepy"] = latencies(
                lambda: text.pretokenize([short], language, loaded.config["tokenizer"]))
            echo(_line(f"{language}:   of which kiwipiepy tokens", entry["kiwipiepy"]))
        entry["compiled_call"] = latencies(lambda: loaded._outputs_direct(tokens))
        echo(_line(f"{language}:   of which the compiled model call", entry["compiled_call"]))
        entry["pipeline_per_call"] = latencies(
            lambda: loaded._outputs_bucketed(tokens, 64), calls=20, warm_up=3)
        echo(_line(f"{language}: before: a tf.data pipeline per call (20 calls)",
                   entry["pipeline_per_call"]))
        exported = loaded.export(workdir / f"export_{language}")
        served = tf.saved_model.load(str(exported))
        batch = tf.constant(tokens)
        entry["saved_model"] = latencies(lambda: served.serve(batch))
        echo(_line(f"{language}: SavedModel serve(tf.constant([text]))"
                   + (" (kiwi tokens in)" if tokens[0] != short else ""), entry["saved_model"]))
        results[language] = entry

    # 10k texts: through predict, which must use the bucketed pipeline (counted here).
    loaded = sentiment.load(runs["ko"])
    texts, _ = pipeline_speed.read_nsmc(nsmc, "ratings_test.txt.gz", 10_000)
    calls = []
    original = _sentiment_serve.datasets.predict_in_order

    def counted(*positional, **keywords):
        calls.append(len(positional[1]))
        return original(*positional, **keywords)

    loaded.predict(texts[:2000])  # warm-up: traces the prediction step for its shapes
    _sentiment_serve.datasets.predict_in_order = counted
    try:
        start = time.perf_counter()
        rows = loaded.predict(texts)
        total = time.perf_counter() - start
    finally:
        _sentiment_serve.datasets.predict_in_order = original
    assert len(rows) == len(texts) and calls == [len(texts)], calls
    start = time.perf_counter()
    tokenized = text.pretokenize(texts, "ko", loaded.config["tokenizer"])
    kiwi = time.perf_counter() - start
    start = time.perf_counter()
    loaded._outputs_bucketed(tokenized, 64)
    model = time.perf_counter() - start
    results["batch_10k"] = {
        "texts": len(texts), "seconds": round(total, 2),
        "texts_per_second": round(len(texts) / total),
        "kiwipiepy_seconds": round(kiwi, 2), "pipeline_and_model_seconds": round(model, 2),
        "through_predict_in_order": True,
    }
    echo(f"  ko: 10,000 NSMC test reviews through predict (bucketed pipeline, batches of 64): "
         f"{total:.1f} s, {len(texts) / total:,.0f} texts/s (kiwipiepy {kiwi:.1f} s, pipeline "
         f"and model {model:.1f} s)")
    return results


def _first_line_seconds(command, env):
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               env=env, cwd=REPO)
    first = process.stdout.readline()
    elapsed = time.perf_counter() - start
    process.communicate()
    if process.returncode != 0 or not first:
        raise RuntimeError(f"{command} failed with status {process.returncode}")
    return elapsed


PHASES = r"""
import json, sys, time
t0 = time.perf_counter(); marks = {}
from seqrecipes import cli
parser = cli.build_parser()
marks["import seqrecipes + keras + tensorflow, parser"] = time.perf_counter()
from seqrecipes.recipes import sentiment
from seqrecipes.recipes.sentiment import data as text
run = sentiment.load(sys.argv[1]); marks["load the run (model.keras)"] = time.perf_counter()
config = run.config
tokens = text.pretokenize([sys.argv[2]], config["language"], config["tokenizer"])
marks["tokeniser (kiwipiepy start-up for ko)"] = time.perf_counter()
run.predict([sys.argv[2]]); marks["first prediction (traces the function)"] = time.perf_counter()
run.predict([sys.argv[2]]); marks["second prediction"] = time.perf_counter()
previous, out = t0, {}
for name, mark in marks.items():
    out[name] = round(mark - previous, 3); previous = mark
print(json.dumps(out))
"""


def startup(runs, echo, repeats=3):
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
    python = sys.executable
    results = {}
    baselines = {
        "python -c pass": [python, "-c", "print(1)"],
        "import tensorflow, keras": [python, "-c", "import tensorflow, keras; print(1)"],
    }
    for name, command in baselines.items():
        seconds = statistics.median(_first_line_seconds(command, env) for _ in range(repeats))
        results[name] = round(seconds, 2)
        echo(f"  {name:58s} {seconds:6.2f} s")
    for language, run_dir in runs.items():
        command = [python, "-m", "seqrecipes", "sentiment", "predict", str(run_dir),
                   SHORT[language]]
        seconds = statistics.median(_first_line_seconds(command, env) for _ in range(repeats))
        phases = json.loads(subprocess.run(
            [python, "-c", PHASES, str(run_dir), SHORT[language]], env=env, cwd=REPO,
            capture_output=True, text=True, check=True,
        ).stdout.strip().splitlines()[-1])
        results[language] = {"to_first_answer_seconds": round(seconds, 2), "phases": phases}
        echo(f"  {language}: invocation to first answer (median of {repeats}) {seconds:6.2f} s")
        for name, phase in phases.items():
            echo(f"      {name:54s} {phase:6.2f} s")
    return results
