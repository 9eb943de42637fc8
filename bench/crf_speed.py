"""Training-step time of a BiLSTM tagger with a CRF head versus a softmax head, and Viterbi speed.

CoNLL-like shapes: batches of 32 sentences of 15-40 words (length-bucketed, padded per batch by
tf.data, so the step function is traced once for any length), 9 tags, word embedding 100,
BiLSTM 100 units per direction. Synthetic token ids: speed does not depend on the words.

Run under the shared lock so other benchmarks do not disturb the timings:

    python bench/crf_speed.py
"""

import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from seqrecipes.models import build_ner_tagger  # noqa: E402

BATCH, NUM_TAGS, VOCABULARY = 32, 9, 20000  # CoNLL-2003: 9 IOB2 tags, ~20k training words
MIN_LENGTH, MAX_LENGTH = 15, 40
NAMES = {False: "softmax", True: "CRF    "}
TIMED_STEPS = 60  # batches per timed epoch, after a warm-up epoch that traces the step
REPEATS = 5  # timed passes per measurement, interleaved CRF / softmax; the fastest counts


def dataset(num_batches, seed):
    rng = np.random.default_rng(seed)

    def sentences():
        for _ in range(num_batches * BATCH):
            length = int(rng.integers(MIN_LENGTH, MAX_LENGTH + 1))
            yield (
                rng.integers(2, VOCABULARY, size=length).astype("int32"),
                rng.integers(0, NUM_TAGS, size=length).astype("int32"),
            )

    spec = (tf.TensorSpec([None], tf.int32), tf.TensorSpec([None], tf.int32))
    data = tf.data.Dataset.from_generator(sentences, output_signature=spec)
    data = data.padded_batch(BATCH).map(lambda x, y: ({"token_ids": x}, y)).cache()
    for _ in data:  # fill the cache now, so no timed epoch pays for generating the data
        pass
    return data


def build(crf):
    model = build_ner_tagger(
        VOCABULARY, NUM_TAGS, embedding_dim=100, units=100, crf=crf, embedding_dropout=0.5,
        head_dropout=0.5,
    )
    if crf:
        model.compile(optimizer="adam")
    else:
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def time_epoch(model, data, steps=TIMED_STEPS):
    start = time.perf_counter()
    model.fit(data, epochs=1, verbose=0)
    return (time.perf_counter() - start) / steps


def fastest(function, *args, repeats=REPEATS):
    """Seconds of the fastest of `repeats` calls (the machine is shared: noise only adds)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function(*args)
        best = min(best, time.perf_counter() - start)
    return best


def time_crf_alone(model, data, repeats=REPEATS):
    """The CRF's own work per batch: NLL + gradient (training), and Viterbi (decoding)."""
    emitter = keras.Model(model.input, model.get_layer("emissions").output)
    batches = [(emitter(x), tf.not_equal(x["token_ids"], 0), y) for x, y in data]
    crf = model.crf
    spec = [tf.TensorSpec([None, None, NUM_TAGS]), tf.TensorSpec([None, None], tf.bool),
            tf.TensorSpec([None, None], tf.int32)]

    @tf.function(input_signature=spec)
    def loss_and_gradient(emissions, mask, tags):
        with tf.GradientTape() as tape:
            tape.watch(emissions)
            loss = -tf.reduce_mean(crf.log_likelihood(emissions, tags, mask))
        return tape.gradient(loss, [emissions] + crf.trainable_variables)

    decode = tf.function(crf.decode, input_signature=spec[:2])

    def run(function, with_tags):
        for emissions, mask, tags in batches:
            function(emissions, mask, tags) if with_tags else function(emissions, mask)

    run(loss_and_gradient, True)
    run(decode, False)
    return (
        fastest(run, loss_and_gradient, True, repeats=repeats) / len(batches),
        fastest(run, decode, False, repeats=repeats) / len(batches),
    )


def interleaved(models, measure, repeats=REPEATS):
    """The fastest of `repeats` measurements per head, taking turns (softmax, CRF, ...)."""
    times = {crf: [] for crf in models}
    for _ in range(repeats):
        for crf, model in models.items():
            times[crf].append(measure(model))
    return times


def measure(*, steps=TIMED_STEPS, repeats=REPEATS, echo=print):
    """Runs the whole comparison; prints as it goes and returns the figures as a dict."""
    devices = [device.device_type for device in tf.config.list_physical_devices()]
    echo(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPUs, "
         f"devices: {devices}")
    data = dataset(steps, seed=0)
    inputs = data.map(lambda x, y: x)
    models = {False: build(False), True: build(True)}
    for crf, model in models.items():
        start = time.perf_counter()
        model.fit(data, epochs=1, verbose=0)  # warm-up: traces the train step
        model.predict(inputs, verbose=0)  # and the predict step
        echo(f"{NAMES[crf]}: warm-up (tracing) {time.perf_counter() - start:6.2f} s")

    step_times = interleaved(models, lambda model: time_epoch(model, data, steps), repeats)
    for crf in models:
        times = ", ".join(f"{1000 * t:.1f}" for t in step_times[crf])
        echo(f"{NAMES[crf]}: train step {1000 * min(step_times[crf]):6.1f} ms (epochs: {times})")
    ratio = min(step_times[True]) / min(step_times[False])
    echo(f"CRF / softmax train-step ratio: {ratio:.2f}")

    def predict_time(model):
        start = time.perf_counter()
        model.predict(inputs, verbose=0)
        return (time.perf_counter() - start) / (steps * BATCH)

    predict = {crf: min(times)
               for crf, times in interleaved(models, predict_time, repeats).items()}
    echo(f"predict per sentence (batches of {BATCH}, whole model): softmax "
         f"{1e6 * predict[False]:.0f} us, CRF with Viterbi {1e6 * predict[True]:.0f} us")
    nll, viterbi = time_crf_alone(models[True], data, repeats)
    echo(f"CRF alone per batch of {BATCH}: NLL + gradient {1000 * nll:.2f} ms, "
         f"Viterbi {1000 * viterbi:.2f} ms ({1e6 * viterbi / BATCH:.0f} us per sentence)")
    return {
        "train_step_ms": {"softmax": 1000 * min(step_times[False]),
                          "crf": 1000 * min(step_times[True])},
        "crf_over_softmax_train_step": ratio,
        "predict_us_per_sentence": {"softmax": 1e6 * predict[False],
                                    "crf_viterbi": 1e6 * predict[True]},
        "crf_alone_per_batch_ms": {"nll_and_gradient": 1000 * nll, "viterbi": 1000 * viterbi},
        "viterbi_us_per_sentence": 1e6 * viterbi / BATCH,
        "batch_size": BATCH, "steps": steps, "repeats": repeats,
    }


def main():
    measure()


if __name__ == "__main__":
    main()
