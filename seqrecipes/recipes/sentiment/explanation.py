"""Which words made a sentiment prediction: integrated gradients on a saved run.

    run = sentiment.load("runs/sentiment")
    run.explain(["What a film!"])       # one row per text: tokens, attributions, error

F is the probability of the explained class (by default the predicted one); the attribution
of a token is its share of F(x) - F(baseline), from the output of the model's `embedding`
layer (`seqrecipes.models.attribution`). The baseline is the padding embedding at every
position of the text (`baseline="padding"`), or zeros (`baseline="zeros"`); the text's mask
is kept. Tokens are the model's own: what the run's `TextVectorization` makes of the text
(lower-cased, punctuation removed; kiwipiepy morphemes for Korean runs that use them), so a
word the vectoriser drops is not a token and cannot change the output.

Bag models (fastText, n-grams): the model's input is the text's words and then its n-grams;
each n-gram gets its attribution, then gives 1/n of it to each of the n words it covers
(`attribution.fold_ngrams`), so the words' attributions still sum to F(x) - F(baseline).
Rows of a bag model also list the n-grams (`ngrams`).
"""

import collections

import numpy as np
import tensorflow as tf

from seqrecipes import _validation
from seqrecipes._validation import check_strings
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.models import attribution
from seqrecipes.recipes.engine import explanations as _views
from seqrecipes.recipes.sentiment import data as text

DEFAULT_SAMPLE = 200  # training texts the global view (`top_tokens`) explains


def _target(class_index, num_classes):
    """F for a batch of model outputs: the probability of class `class_index`."""
    if num_classes == 2:  # one sigmoid unit: the probability of class 1
        if class_index == 1:
            return lambda outputs: outputs[:, 0]
        return lambda outputs: 1.0 - outputs[:, 0]
    return lambda outputs: outputs[:, class_index]


def _tokens(vectorizer, model_text):
    """The vectoriser's tokens (words, then n-grams) of one text, as str."""
    # `_preprocess` is TextVectorization's own standardise + split + n-grams (Keras 3.x).
    pieces = vectorizer._preprocess(tf.constant([model_text]))
    return [piece.decode("utf-8") for piece in pieces[0].numpy().tolist()]


def _widths(vectorizer):
    ngrams = vectorizer._ngrams
    return (1,) if ngrams is None else ((ngrams,) if isinstance(ngrams, int) else tuple(ngrams))


def _num_words(num_ids, widths):
    """The number of words n whose n-grams of `widths` make `num_ids` ids."""
    for words in range(num_ids + 1):
        if sum(max(0, words - width + 1) for width in widths) == num_ids:
            return words
    raise InvalidArgumentError(f"{num_ids} ids match no word count for n-grams {widths}.")


def explain(loaded, texts, *, target=None, baseline="padding", steps=attribution.DEFAULT_STEPS,
            max_steps=attribution.MAX_STEPS, tolerance=attribution.TOLERANCE):
    """Integrated-gradients attributions of every token of each text.

    Args:
        loaded: a `LoadedRun` (`sentiment.load`).
        texts: list of str, raw.
        target: str or None. The class to explain; None: each text's predicted class.
        baseline: "padding" (the padding embedding at every position, default) or "zeros".
        steps: int. Path steps to start with; doubled while the completeness error is over
            `tolerance`, up to `max_steps`.
        max_steps: int. Defaults to 1024.
        tolerance: float. Completeness error to reach. Defaults to 0.01 (1%).

    Returns:
        One dict per text: `text`, `label`, `probability` (the prediction), `explained`
        (the class explained), `explained_probability` F(x), `baseline_probability`
        F(baseline), `tokens` (list of `{"token", "attribution"}`, words), `ngrams` (bag
        models: every n-gram's own attribution), `completeness_error`, `steps`, `baseline`,
        `heading` (one line for pictures).
    """
    texts = check_strings("texts", texts)
    attribution.check_options(baseline, steps, max_steps, tolerance)
    classes = list(loaded.classes)  # as the training file wrote them (as `predict` gives)
    names = [str(name) for name in classes]
    if target is not None and str(target) not in names:
        raise InvalidArgumentError(
            f"`target` must be one of the run's classes {names}. Received: target={target!r}."
        )
    probabilities = loaded.probabilities(texts) if texts else np.zeros((0, len(classes)))
    vectorizer, core = loaded._parts()
    # NBSVM (`models.nbsvm`) has no embedding: its features are each distinct n-gram's
    # naive-Bayes ratio r, and a zero ratio is the n-gram absent, so the baseline is zeros
    # (every n-gram absent: the bias alone) whatever `baseline` says for embedding models.
    nbsvm = any(layer.name == "log_count_ratios" for layer in core.layers)
    layer = core.get_layer("log_count_ratios" if nbsvm else "embedding")
    widths = _widths(vectorizer)
    config = loaded.config
    model_texts = text.pretokenize(texts, config["language"], config["tokenizer"])
    rows = []
    for raw, model_text, row in zip(texts, model_texts, probabilities):
        predicted = int(row.argmax())
        explained = predicted if target is None else names.index(str(target))
        ids = vectorizer(tf.constant([model_text]))
        tokens = _tokens(vectorizer, model_text)[: ids.shape[1]]
        if not tokens:  # an empty text: nothing to attribute, F(x) = F(baseline)
            ids = tf.zeros((1, 1), ids.dtype)
        result = attribution.integrated_gradients(
            core, ids, layer, _target(explained, len(classes)),
            baseline="zeros" if nbsvm else baseline, baseline_inputs=tf.zeros_like(ids),
            steps=steps, max_steps=max_steps, tolerance=tolerance,
        )
        values = result["attributions"][: len(tokens)]
        if nbsvm:  # positions of the sorted distinct ids -> the text's own positions
            values = _per_occurrence(np.asarray(ids)[0][: len(tokens)], values)
        explanation = {
            "text": raw,
            "label": classes[predicted],
            "probability": round(float(row[predicted]), 6),
            "explained": classes[explained],
            "explained_probability": round(result["value"], 6),
            "baseline_probability": round(result["baseline_value"], 6),
        }
        if widths != (1,):
            words, _ = attribution.fold_ngrams(values, _num_words(len(tokens), widths), widths)
            explanation["tokens"] = [
                {"token": token, "attribution": round(float(value), 6)}
                for token, value in zip(tokens, words)
            ]
            explanation["ngrams"] = [
                {"token": token, "attribution": round(float(value), 6)}
                for token, value in zip(tokens, values)
            ]
        else:
            explanation["tokens"] = [
                {"token": token, "attribution": round(float(value), 6)}
                for token, value in zip(tokens, values)
            ]
        explanation.update({
            "completeness_error": round(result["completeness_error"], 6),
            "steps": result["steps"],
            "baseline": ("absent n-grams" if nbsvm else
                         baseline if isinstance(baseline, str) else "given"),
            "heading": (f"predicted {classes[predicted]} (p = {row[predicted]:.3f})"
                        + ("" if explained == predicted else
                           f" (explaining {classes[explained]})")),
        })
        rows.append(explanation)
    return rows


def _per_occurrence(ids, sorted_values):
    """NBSVM's attributions, one per sorted distinct id, spread over the id's occurrences.

    `DistinctIds` sorts a text's ids and keeps the first of each run, so the attribution of
    id x stands at the first position of x in the sorted row; each occurrence of x in the
    text gets an equal share of it (the shares sum to it, so completeness holds).
    """
    order = np.sort(ids, kind="stable")
    first = {}
    for position, value in enumerate(order):
        first.setdefault(int(value), position)
    counts = collections.Counter(int(value) for value in ids)
    return np.array([sorted_values[first[int(value)]] / counts[int(value)] for value in ids])


def training_sample(loaded, size, *, seed=0):
    """`size` texts drawn (with `seed`) from the run's training split."""
    _validation.check_positive_int("sample", size)
    if loaded.config.get("stream"):
        raise InvalidArgumentError(
            "The run was trained on a stream; give the texts to average over as TEXT "
            "arguments or with --file."
        )
    texts = text.read_splits(loaded.config).train[0]
    chosen = np.random.default_rng(seed).choice(len(texts), min(size, len(texts)),
                                                replace=False)
    return [texts[index] for index in sorted(chosen)]


def top_tokens(loaded, top, *, texts=None, sample=DEFAULT_SAMPLE, min_count=2, **options):
    """The n-grams (bag models) or words with the largest mean attribution per class.

    Each text is explained for its predicted class; a token's mean is over its occurrences
    in the texts predicted as that class.

    Args:
        loaded: a `LoadedRun`.
        top: int. Entries per class.
        texts: list of str or None. None: `sample` texts of the run's training split.
        sample: int. Training texts drawn when `texts` is None. Defaults to 200.
        min_count: int. Occurrences a token needs to be listed. Defaults to 2.
        **options: `explain`'s options (baseline, steps, max_steps, tolerance).

    Returns:
        (table, rows): `{class: [{"token", "mean", "count"}]}` and the explanations.
    """
    _validation.check_positive_int("top", top)
    _validation.check_positive_int("min_count", min_count)
    if texts is None:
        texts = training_sample(loaded, sample)
    rows = explain(loaded, texts, **options)
    return _views.top_tokens(rows, top, min_count=min_count), rows
