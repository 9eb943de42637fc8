"""Speed of seqrecipes, all five figures of issue 7 measured in one run, printed as ratios.

1. training: useful (non-padding) tokens per second of one epoch, with each recipe's
   defaults, fed four ways:
     bucketed  as the recipe trains: its own pipeline (`classification_dataset` /
               `tagging_dataset`: length buckets, each batch padded to its own longest row),
               `_training.STEPS_PER_EXECUTION` batches per call of the train function, as
               `fit_resumable` runs them; `bucketed_1` is the same with one batch per call,
               to show what each part gains;
     tutorial  (a) the same model fed as a tutorial would: every row padded (and cut) to one
               length, the `--fixed-percentile` (99th) of the training lengths, as NumPy
               arrays through `model.fit(x, y, batch_size, shuffle=True)`, one batch per call
               (`compile`'s default);
     longest   (a') the same, padded to the longest row: what `keras.utils.pad_sequences`
               does by default (`maxlen=None`), and what many tutorials do;
     dense     (b) the same model on random ids of one fixed length, the mean training
               length, with no padding at all (a cached `tf.data` of tensors, run as
               `bucketed` is): the practical ceiling of the kernels on this machine.
   NSMC with the sentiment recipe's Korean defaults (`--language ko`: kiwipiepy morpheme/tag
   tokens, CNN 2/3/4/5 x 128 over embedding 128, vocabulary 30k, batch 32), and CoNLL-2003
   with the NER recipe's defaults (read from `ner.run`'s signature: word embedding 100 +
   character CNN, BiLSTM 200, batch 8, the sentences of a document read together in chunks
   of up to 128 tokens; `--context-tokens 0` reads sentences alone), with the CRF head and
   with the softmax head; each model compiled as its recipe compiles it (`LazyAdam`). A
   tutorial reads sentences alone. Targets: bucketed >= 3x tutorial, >= 0.6 dense. Printed
   beside the ratio: the tutorial's padded tokens over the tokens the recipe feeds (its
   padding left out), which is what bucketed / tutorial would be if a step cost in
   proportion to the tokens it holds. It bounds the gain of buckets over sentences; reading
   chunks also makes the steps fewer, which saves each step's fixed cost.
2. the CRF's cost: `bench/crf_speed.py` (train step CRF / softmax, Viterbi per sentence).
3. prediction: one short text, p50 / p99 of 200 calls after warm-up, through the Python API
   (`sentiment.load(run).predict([text])`) and the exported SavedModel; a 10k-text batch.
4. start-up: `python -m seqrecipes sentiment predict RUN TEXT` to its first answer, and where
   the time goes.
5. `jit_compile` (XLA) and `unroll` on and off, short fixed lengths.

    python bench/speed.py --quick   # a few minutes
    python bench/speed.py           # full NSMC / CoNLL

`--quick` trains on 20k NSMC reviews (kiwipiepy tokens cached in `--cache-dir` after the
first run) and 4k CoNLL sentences. Data come from ../shared/data beside the repository
(in a git worktree elsewhere, pass `--data-dir /path/to/shared/data`).
The machine may be shared: ratios within one run are what counts, not absolute figures. The
fastest of `--repeats` epochs counts for each feed, in wall-clock and in CPU time (printed
both: on a shared machine a process is sometimes held to one core for a while, which slows
its wall clock but not its CPU time).
"""

import argparse
import contextlib
import inspect
import json
import os
import pathlib
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
BENCH = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import crf_speed  # noqa: E402
import pipeline_speed  # noqa: E402
import speed_compile  # noqa: E402
import speed_serving  # noqa: E402
from seqrecipes import datasets  # noqa: E402
from seqrecipes.recipes.sentiment import model as _model_flags  # noqa: E402
from seqrecipes.recipes.ner import documents as _ner_context  # noqa: E402
from seqrecipes.recipes.ner import data as _ner_data  # noqa: E402
from seqrecipes.recipes.ner import training as _ner_training  # noqa: E402
from seqrecipes.recipes.sentiment import data as _sentiment_text  # noqa: E402
from seqrecipes.recipes.sentiment import training as _sentiment_train  # noqa: E402
from seqrecipes.recipes.engine import training as _training  # noqa: E402
from seqrecipes.recipes import ner, sentiment  # noqa: E402

DATA = BENCH.parents[1] / "shared" / "data"  # ../shared/data beside the repository
SECTIONS = ("train", "crf", "predict", "startup", "compile")
# Feeds run as `fit_resumable` runs a recipe's training (several batches per call).
RECIPE_FEEDS = ("bucketed", "dense")


def pretokenized_nsmc(data_dir, name, limit, cache_dir):
    """NSMC texts (kiwipiepy morpheme/tag tokens, as the recipe makes them) and labels, cached."""
    texts, labels = pipeline_speed.read_nsmc(data_dir / "nsmc", name, limit)
    cache = cache_dir / f"{name.split('.')[0]}_{limit}_morpheme_tags.json"
    if cache.is_file():
        tokenized = json.loads(cache.read_text(encoding="utf-8"))
    else:
        tokenized = _sentiment_text.pretokenize(texts, "ko", "morpheme_tags")
        cache_dir.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(tokenized, ensure_ascii=False), encoding="utf-8")
    return texts, tokenized, labels


def fixed_length(lengths, percentile):
    return max(1, int(np.ceil(np.percentile(lengths, percentile))))


def dense_batches(shapes_and_highs, num_rows, batch_size, y_shape, y_high, seed=0):
    """A cached tf.data of random ids, no padding anywhere: the kernels' ceiling."""
    rng = np.random.default_rng(seed)
    x = {name: rng.integers(2, high, size=(num_rows, *shape)).astype("int32")
         for name, (shape, high) in shapes_and_highs.items()}
    y = rng.integers(0, y_high, size=(num_rows, *y_shape)).astype("int32")
    x = x["token_ids"] if list(x) == ["token_ids"] else x
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size).cache()
    for _ in data:  # fill the cache now
        pass
    return data.prefetch(tf.data.AUTOTUNE)


def compare_feeds(name, build, feeds, repeats, padding, echo):
    """Trains one model per feed (same seed), one timed epoch at a time, taking turns.

    `feeds`: name -> (fit(model, epochs), warm_up(model), useful tokens per epoch); a feed
    `bucketed_1` (the bucketed feed, one batch per call) is added.
    `padding`: the tutorial's padded tokens over the tokens the recipe feeds.
    """
    feeds = {**feeds, "bucketed_1": feeds["bucketed"]}
    with contextlib.ExitStack() as recipe_runs:
        models = {}
        for feed, (_, warm_up, _) in feeds.items():
            models[feed] = build()
            if feed in RECIPE_FEEDS:  # as `fit_resumable` runs it, for the whole comparison
                recipe_runs.enter_context(_training.run_batches(models[feed]))
            start = time.perf_counter()
            warm_up(models[feed])  # traces the train step for the shapes this feed makes
            echo(f"  {name} {feed:10s} warm-up {time.perf_counter() - start:5.1f} s")
        results = {feed: {"seconds": [], "cpu_seconds": [], "useful_tokens": tokens}
                   for feed, (_, _, tokens) in feeds.items()}
        for _ in range(repeats):
            for feed, (fit, _, tokens) in feeds.items():
                wall, cpu = time.perf_counter(), time.process_time()
                fit(models[feed])
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                results[feed]["seconds"].append(round(wall, 2))
                results[feed]["cpu_seconds"].append(round(cpu, 2))
                echo(f"  {name} {feed:10s} epoch {wall:6.1f} s wall {cpu:6.1f} s CPU "
                     f"{tokens / wall:9.0f} useful tokens/s")
    for entry in results.values():
        entry["tokens_per_second"] = round(entry["useful_tokens"] / min(entry["seconds"]))
    for entry in results.values():
        entry["tokens_per_cpu_second"] = round(entry["useful_tokens"] / min(entry["cpu_seconds"]))
    best = {feed: entry["tokens_per_second"] for feed, entry in results.items()}
    cpu = {feed: entry["tokens_per_cpu_second"] for feed, entry in results.items()}
    for feed in feeds:
        if feed != "bucketed":
            results[f"bucketed_over_{feed}"] = round(best["bucketed"] / best[feed], 2)
            results[f"bucketed_over_{feed}_cpu"] = round(cpu["bucketed"] / cpu[feed], 2)
    echo(f"  {name}: bucketed / tutorial {results['bucketed_over_tutorial']:.2f}x "
         f"(target >= 3; the tutorial's padded tokens / the recipe's tokens {padding:.2f}; "
         f"{results['bucketed_over_bucketed_1']:.2f}x of it from several batches per call), "
         f"bucketed / longest {results['bucketed_over_longest']:.2f}x, bucketed / dense "
         f"{results['bucketed_over_dense']:.2f} (target >= 0.6); in CPU time "
         f"{results['bucketed_over_tutorial_cpu']:.2f}x / "
         f"{results['bucketed_over_longest_cpu']:.2f}x / {results['bucketed_over_dense_cpu']:.2f}")
    results["tutorial_padded_over_fed"] = round(padding, 2)
    return results


def train_nsmc(args, echo):
    """The sentiment recipe's Korean defaults on NSMC."""
    limit = args.nsmc_reviews or (20_000 if args.quick else None)
    _, texts, labels = pretokenized_nsmc(args.data_dir, "ratings_train.txt.gz", limit,
                                          args.cache_dir)
    language, tokenizer = "ko", sentiment.LANGUAGE_DEFAULTS["ko"]["tokenizer"]
    family = sentiment.LANGUAGE_DEFAULTS["ko"]["model"]
    settings = _model_flags.resolve_model_settings(
        family, {}, defaults=sentiment.MODEL_DEFAULTS.get((language, family))
    )
    vocabulary = {**sentiment.SEQUENCE_VOCABULARY,
                  **sentiment.VOCABULARY_DEFAULTS.get(family, {})}
    vectorizer = datasets.build_text_vectorizer(
        texts, min_frequency=2, **vocabulary,
        **_sentiment_text.VECTORIZER_OPTIONS[(language, tokenizer)],
    )
    ids = datasets.encode_texts(texts, vectorizer)
    lengths = ids.row_lengths().numpy()
    batch_size = inspect.signature(sentiment.train).parameters["batch_size"].default
    seed = args.seed
    config = {"learning_rate": 1e-3, "clipnorm": None}

    def build():
        keras.utils.set_random_seed(seed)
        model = _model_flags.build_classifier(settings, vectorizer.vocabulary_size(), 2)
        _sentiment_train._compile(model, config, 2)
        return model

    bucketed = datasets.classification_dataset(ids, labels, batch_size=batch_size,
                                               shuffle=True, seed=seed)
    length = fixed_length(lengths, args.fixed_percentile)
    x = keras.utils.pad_sequences(ids.to_list(), maxlen=length, padding="post",
                                  truncating="post", dtype="int32")
    x_longest = keras.utils.pad_sequences(ids.to_list(), padding="post", dtype="int32")
    mean = max(1, int(round(lengths.mean())))
    dense = dense_batches({"token_ids": ((mean,), vectorizer.vocabulary_size())}, len(lengths),
                          batch_size, (), 2)
    fit_numpy = dict(batch_size=batch_size, shuffle=True, verbose=0, epochs=1)
    feeds = {
        "bucketed": (lambda m: m.fit(bucketed, epochs=1, verbose=0),
                     lambda m: m.fit(bucketed.take(40), epochs=1, verbose=0),
                     int(lengths.sum())),
        "tutorial": (lambda m: m.fit(x, labels, **fit_numpy),
                     lambda m: m.fit(x[: 3 * batch_size + 5], labels[: 3 * batch_size + 5],
                                     **fit_numpy),
                     int(np.minimum(lengths, length).sum())),
        "longest": (lambda m: m.fit(x_longest, labels, **fit_numpy),
                    lambda m: m.fit(x_longest[: 3 * batch_size + 5],
                                    labels[: 3 * batch_size + 5], **fit_numpy),
                    int(lengths.sum())),
        "dense": (lambda m: m.fit(dense, epochs=1, verbose=0),
                  lambda m: m.fit(dense.take(5), epochs=1, verbose=0), mean * len(lengths)),
    }
    echo(f"NSMC, sentiment --language ko defaults ({_model_flags.describe_model(settings)}; "
         f"{tokenizer}, vocabulary {vectorizer.vocabulary_size():,}, batch {batch_size}): "
         f"{len(lengths):,} reviews, mean length {lengths.mean():.1f}, max {lengths.max()}, "
         f"tutorial pads to {length} ({100 * np.mean(lengths > length):.1f}% cut), longest to "
         f"{lengths.max()}, dense length {mean}")
    results = compare_feeds("nsmc", build, feeds, args.repeats,
                            length / np.minimum(lengths, length).mean(), echo)
    results.update(reviews=len(lengths), mean_length=float(lengths.mean()),
                   max_length=int(lengths.max()), tutorial_length=length, dense_length=mean,
                   model=_model_flags.describe_model(settings))
    return results


def conll_subset(data, size):
    """About `size` sentences of CoNLL-2003: whole documents drawn at random (seed 0), in
    file order, so that the recipe's document chunks are what they are on the full data."""
    documents = np.asarray(data.documents)
    chosen, sentences = set(), 0
    for document in np.random.default_rng(0).permutation(np.unique(documents)):
        if sentences >= size:
            break
        chosen.add(document)
        sentences += int(np.sum(documents == document))
    keep = [i for i, document in enumerate(documents) if document in chosen]
    return ([data.tokens[i] for i in keep], [data.tags[i] for i in keep],
            [data.documents[i] for i in keep])


def train_conll(args, crf, echo):
    """The NER recipe's defaults on CoNLL-2003 (CRF or softmax head)."""
    data = _ner_data.read(args.data_dir / "conll2003" / "train.txt", token_column=0,
                          tag_column=-1, scheme="iob2")
    tokens, tags, documents = data.tokens, data.tags, data.documents
    size = args.conll_sentences or (4000 if args.quick else None)
    if size:
        tokens, tags, documents = conll_subset(data, size)
    settings = {name: parameter.default
                for name, parameter in inspect.signature(ner.run).parameters.items()}
    # What the recipe fills in for the arguments left at None (its BiLSTM's among them): its
    # own checks, then run()'s embedding width and unfrozen embedding without vectors.
    settings = _ner_training._check_settings(settings)
    settings.update(embedding_dim=_ner_training.EMBEDDING_DIM, freeze_vectors=False)
    settings["crf"] = crf
    if args.context_tokens is not None:
        settings["context_tokens"] = args.context_tokens
    # The recipe reads a document's sentences together; a tutorial reads sentences alone.
    chunks = _ner_context.pack(tokens, tags, documents,
                               context_tokens=settings["context_tokens"])
    vocabularies = _ner_data.build_vocabularies(
        chunks.tokens, chunks.tags, path="train.txt", lowercase=settings["lowercase"],
        min_frequency=settings["min_frequency"], char_features=settings["char_features"],
        max_chars=settings["max_chars"],
    )
    features, targets = vocabularies.features(tokens), vocabularies.targets(tags)
    batch_size = settings["batch_size"]
    lengths = features["token_ids"].row_lengths().numpy()
    char_lengths = features["char_ids"].values.row_lengths().numpy()
    chunk_lengths = np.array([len(chunk) for chunk in chunks.tokens])
    bucketed = datasets.tagging_dataset(
        vocabularies.features(chunks.tokens), vocabularies.targets(chunks.tags),
        batch_size=batch_size, shuffle=True, seed=args.seed,
    )

    def build():
        return _ner_training._build_model(settings, vocabularies,
                                          -(-len(chunk_lengths) // batch_size))

    length = fixed_length(lengths, args.fixed_percentile)
    chars = fixed_length(char_lengths, args.fixed_percentile)
    x = {"token_ids": features["token_ids"].to_tensor(shape=[None, length]).numpy(),
         "char_ids": features["char_ids"].to_tensor(shape=[None, length, chars]).numpy()}
    y = targets.to_tensor(shape=[None, length]).numpy()
    x_longest = {"token_ids": features["token_ids"].to_tensor().numpy(),
                 "char_ids": features["char_ids"].to_tensor().numpy()}
    y_longest = targets.to_tensor().numpy()
    mean, mean_chars = int(round(chunk_lengths.mean())), int(round(char_lengths.mean()))
    dense = dense_batches(
        {"token_ids": ((mean,), vocabularies.tokens.vocabulary_size()),
         "char_ids": ((mean, mean_chars), vocabularies.chars.vocabulary_size())},
        len(chunk_lengths), batch_size, (mean,), len(vocabularies.tag_vocabulary),
    )
    head = 3 * batch_size + 5
    fit_numpy = dict(batch_size=batch_size, shuffle=True, verbose=0, epochs=1)
    feeds = {
        "bucketed": (lambda m: m.fit(bucketed, epochs=1, verbose=0),
                     lambda m: m.fit(bucketed.take(40), epochs=1, verbose=0),
                     int(lengths.sum())),
        "tutorial": (lambda m: m.fit(x, y, **fit_numpy),
                     lambda m: m.fit({k: v[:head] for k, v in x.items()}, y[:head],
                                     **fit_numpy),
                     int(np.minimum(lengths, length).sum())),
        "longest": (lambda m: m.fit(x_longest, y_longest, **fit_numpy),
                    lambda m: m.fit({k: v[:head] for k, v in x_longest.items()},
                                    y_longest[:head], **fit_numpy),
                    int(lengths.sum())),
        "dense": (lambda m: m.fit(dense, epochs=1, verbose=0),
                  lambda m: m.fit(dense.take(5), epochs=1, verbose=0), mean * len(chunk_lengths)),
    }
    name = f"conll-{'crf' if crf else 'softmax'}"
    reading = (f"chunks of up to {settings['context_tokens']} tokens: {len(chunk_lengths):,}, "
               f"mean length {chunk_lengths.mean():.1f} with separators"
               if settings["context_tokens"] else "sentences alone")
    echo(f"CoNLL-2003, ner defaults ({'CRF' if crf else 'softmax'} head, char CNN, BiLSTM "
         f"{settings['units'][0]}, batch {batch_size}; {reading}): {len(lengths):,} sentences, "
         f"mean length {lengths.mean():.1f}, max {lengths.max()}; tutorial pads sentences to "
         f"{length} words x {chars} characters ({100 * np.mean(lengths > length):.1f}% of "
         f"sentences cut), longest to {lengths.max()} x {char_lengths.max()}; dense {mean} "
         f"words x {mean_chars} characters")
    useful = np.minimum(lengths, length).sum()
    padding = len(lengths) * length / useful * lengths.sum() / chunk_lengths.sum()
    results = compare_feeds(name, build, feeds, args.repeats, padding, echo)
    results.update(sentences=len(lengths), mean_length=float(lengths.mean()),
                   max_length=int(lengths.max()), tutorial_length=length,
                   tutorial_chars=chars, dense_length=mean, dense_chars=mean_chars,
                   context_tokens=settings["context_tokens"], chunks=len(chunk_lengths),
                   mean_chunk_length=float(chunk_lengths.mean()))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="subsets: 20k NSMC reviews, 4k CoNLL sentences, fewer repeats")
    parser.add_argument("--sections", nargs="+", default=list(SECTIONS), choices=SECTIONS)
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed epochs per feed, the fastest counts (default 1 quick, 2)")
    parser.add_argument("--nsmc-reviews", type=int, default=None,
                        help="NSMC training reviews for section 1 (default 20k quick, all)")
    parser.add_argument("--conll-sentences", type=int, default=None,
                        help="CoNLL training sentences for section 1 (default 4k quick, all)")
    parser.add_argument("--context-tokens", type=int, default=None,
                        help="CoNLL: the recipe's --context-tokens (default: its default, "
                        "128; 0 reads sentences alone, as the tutorial does)")
    parser.add_argument("--fixed-percentile", type=float, default=99.0,
                        help="the tutorial pads to this percentile of lengths; 100 = max")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--cache-dir", type=pathlib.Path,
                        default=pathlib.Path(tempfile.gettempdir()) / "seqrecipes-bench",
                        help="kiwipiepy tokens of the NSMC subsets are kept here")
    parser.add_argument("--data-dir", type=pathlib.Path, default=DATA,
                        help="folder with nsmc/ and conll2003/ (default: ../shared/data "
                        "beside the repository)")
    parser.add_argument("--output", default=None, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    args.repeats = args.repeats or (1 if args.quick else 2)

    def echo(line):
        print(line, flush=True)

    started = time.perf_counter()
    echo(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPUs, "
         f"load average {os.getloadavg()[0]:.1f} (a shared machine adds noise: compare ratios "
         "within this run)")
    results = {"quick": args.quick, "load_average_start": os.getloadavg()}
    if "train" in args.sections:
        echo("\n== 1. training: useful tokens/s of one epoch ==")
        results["train"] = {
            "nsmc": train_nsmc(args, echo),
            "conll_crf": train_conll(args, True, echo),
            "conll_softmax": train_conll(args, False, echo),
        }
    if "crf" in args.sections:
        echo("\n== 2. the CRF's cost (bench/crf_speed.py) ==")
        results["crf"] = crf_speed.measure(
            steps=30 if args.quick else crf_speed.TIMED_STEPS,
            repeats=3 if args.quick else crf_speed.REPEATS, echo=echo,
        )
        if "train" in results:
            crf, softmax = results["train"]["conll_crf"], results["train"]["conll_softmax"]
            ratio = (softmax["bucketed"]["tokens_per_second"]
                     / crf["bucketed"]["tokens_per_second"])
            results["crf"]["conll_epoch_crf_over_softmax"] = round(ratio, 2)
            echo(f"CoNLL epoch (section 1, bucketed) CRF / softmax time: {ratio:.2f}")
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="seqrecipes-speed-"))
    if "predict" in args.sections or "startup" in args.sections:
        runs = speed_serving.train_runs(workdir, args.data_dir / "nsmc", args, echo)
        if "predict" in args.sections:
            echo("\n== 3. prediction ==")
            results["predict"] = speed_serving.prediction(
                runs, workdir, args.data_dir / "nsmc", echo)
        if "startup" in args.sections:
            echo("\n== 4. start-up: `python -m seqrecipes sentiment predict RUN TEXT` ==")
            results["startup"] = speed_serving.startup(runs, echo)
    if "compile" in args.sections:
        echo("\n== 5. jit_compile and unroll, fixed short lengths ==")
        results["compile"] = speed_compile.measure(quick=args.quick, echo=echo)
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["load_average_end"] = os.getloadavg()
    echo(f"\n{json.dumps(results)}")
    echo(f"\nall sections in {results['seconds']:.0f} s")
    if args.output:
        pathlib.Path(args.output).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
