"""The linear baseline every sentiment run is measured against: TF-IDF + logistic regression.

It is what a user would try first without TensorFlow (scikit-learn, twenty lines), so every
`sentiment train` fits it on the same training split and reports it beside the model, on the
same validation and test texts. English reads word 1-2-grams; Korean character 1-4-grams
within words (`char_wb`), which needs no morpheme analyser and measured better than words on
NSMC. The same function is the TF-IDF peer of `bench/peers.py`, so the bench and the run's
report cannot disagree about what the baseline is.
"""

import re
import time

from seqrecipes.recipes.engine import classification as _classification

BASELINES = ("tfidf", "none")
FILE = "baseline.npz"  # the fitted baseline in a run directory (`to_bytes`)

# Features per language: (analyzer, n-gram range, description). Measured in bench/peers.py.
FEATURES = {
    "en": ("word", (1, 2), "word 1-2-grams"),
    "ko": ("char_wb", (1, 4), "char_wb 1-4-grams"),
}
# English words keep inner apostrophes, and "!" and "?" are tokens of their own: with
# scikit-learn's default pattern (words of 2+ characters, no marks) NBSVM scored 0.9120 on
# IMDB, with this one 0.9172 (bench/peers.py, whose NBSVM peer reads the same words).
ENGLISH_TOKENS = r"(?u)\b\w[\w']*\b|[!?]"
_LINE_BREAKS = re.compile(r"<br\s*/?>", re.IGNORECASE)  # frequent in scraped reviews
C = 4.0  # inverse L2 strength: TF-IDF rows have unit norm, so weights need room (bench/peers.py)
MIN_DF = 2  # n-grams seen once are noise, and they would make most of the columns


def english_text(text):
    """Lower case, HTML line breaks as spaces: what the English n-grams are read from."""
    return _LINE_BREAKS.sub(" ", text).lower()


def tfidf_vectorizer(language, *, min_df=MIN_DF, vocabulary=None):
    """The baseline's (unfitted) `TfidfVectorizer` for `language`, or one with `vocabulary`."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    analyzer, ngram_range, _ = FEATURES[language]
    words = ({"preprocessor": english_text, "token_pattern": ENGLISH_TOKENS}
             if analyzer == "word" else {})
    return TfidfVectorizer(analyzer=analyzer, ngram_range=ngram_range, min_df=min_df,
                           sublinear_tf=True, dtype=np.float32, vocabulary=vocabulary, **words)


def fit_tfidf_baseline(train, evaluation, classes, *, language, class_weight=None, seed=0):
    """Fits TF-IDF + LogisticRegression on `train` and scores it on every `evaluation` split.

    Args:
        train: (texts, label ids). The raw training texts (the model's own split).
        evaluation: dict name -> (texts, label ids), e.g. validation and test.
        classes: the class names, in label-id order.
        language: "en" or "ko": which n-grams (`FEATURES`).
        class_weight: dict of label id -> weight, or None: the run's own class weights, so
            that the baseline is weighted like the model it is compared with.
        seed: int. LogisticRegression's random state.

    Returns:
        (report, pipeline): the report is a dict with `model` and `features` (what was
        fitted), `training_seconds`, and per evaluation split the metrics of
        `classification_metrics` (accuracy, macro F1, ...); the pipeline is the fitted
        scikit-learn pipeline (`to_bytes` stores it in a run directory).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts, labels = train
    min_df = MIN_DF if len(texts) >= 10 * MIN_DF else 1  # a tiny sample keeps every n-gram
    # Two classes: liblinear, half lbfgs's time on IMDB's 440k n-gram columns (6 iterations),
    # the same accuracy (0.9053 vs 0.9048 test); saga was as fast there but did not converge
    # on small data. More classes: lbfgs (multinomial; liblinear has none).
    solver = "liblinear" if len(classes) == 2 else "lbfgs"
    started = time.perf_counter()
    pipeline = make_pipeline(
        tfidf_vectorizer(language, min_df=min_df),
        LogisticRegression(C=C, solver=solver, max_iter=1000, class_weight=class_weight,
                           random_state=seed),
    )
    pipeline.fit(list(texts), list(labels))
    seconds = time.perf_counter() - started
    described = FEATURES[language][2]
    result = {
        "model": f"TF-IDF ({described}, sublinear tf, min_df {min_df}) + LogisticRegression "
                 f"(C={C:g}, {solver}{', class weights' if class_weight else ''}), scikit-learn",
        "features": described,
        "training_seconds": round(seconds, 3),
        "train_texts": len(texts),
    }
    for name, (split_texts, split_labels) in evaluation.items():
        result[name] = score(pipeline, split_texts, split_labels, classes)
    return result, pipeline


def probabilities(pipeline, texts, num_classes):
    """(texts, K) probabilities, with every class id, also those training happened to lack."""
    import numpy as np

    seen = pipeline.predict_proba(list(texts))
    result = np.zeros((len(seen), num_classes), dtype="float64")
    result[:, pipeline.classes_] = seen
    return result


def score(pipeline, texts, labels, classes):
    """The metrics of `classification_metrics` for a fitted baseline on (texts, label ids)."""
    return _classification.classification_metrics(
        labels, probabilities(pipeline, texts, len(classes)), classes
    )


def comparison_line(model_metrics, baseline, split):
    """One line: the model against the baseline on `split`, in plain words."""
    ours, theirs = model_metrics["accuracy"], baseline[split]["accuracy"]
    if ours > theirs:
        verdict = f"the model beats it by {100 * (ours - theirs):.2f} points"
    elif ours == theirs:
        verdict = "the model only ties it"
    else:
        verdict = (f"the model does NOT beat it ({100 * (theirs - ours):.2f} points behind): "
                   "a linear model is the better choice for this data as trained")
    return (f"{split} accuracy {theirs:.4f}, macro F1 {baseline[split]['macro_f1']:.4f}; "
            f"{verdict}")


def to_bytes(pipeline, language):
    """The fitted baseline as `.npz` bytes: n-grams, idf, weights (no pickle, safe to load)."""
    import io

    import numpy as np

    vectorizer, classifier = pipeline.named_steps.values()
    vocabulary = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer, vocabulary=np.array(vocabulary, dtype=str), idf=vectorizer.idf_,
        coef=classifier.coef_, intercept=classifier.intercept_, classes=classifier.classes_,
        language=np.array(language),
    )
    return buffer.getvalue()


def from_file(path):
    """The baseline `to_bytes` stored, as a scikit-learn pipeline that predicts as it did."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    with np.load(path, allow_pickle=False) as stored:
        vocabulary = {gram: index for index, gram in enumerate(stored["vocabulary"].tolist())}
        vectorizer = tfidf_vectorizer(str(stored["language"]), vocabulary=vocabulary)
        vectorizer.idf_ = stored["idf"]
        classifier = LogisticRegression()
        classifier.coef_, classifier.intercept_ = stored["coef"], stored["intercept"]
        classifier.classes_ = stored["classes"]
    return make_pipeline(vectorizer, classifier)
