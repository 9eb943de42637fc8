"""What every text-classification recipe shares: stratified splits, probabilities, metrics.

Labels are class ids 0..K-1 into a list of class names (ints or strings, as the file had them).
A binary model has one sigmoid unit, the probability of class 1; `probabilities` turns any
model output into one row of K probabilities per text, so the rest never needs to know which.
"""

import numpy as np

from seqrecipes.errors import DataError
# The reader of exports answers with the same two functions; they live below both.
from seqrecipes.portable.classification import prediction_rows, probabilities  # noqa: F401


def stratified_split(label_ids, fraction, *, seed, what, source):
    """Splits positions 0..n-1 into (kept, held out), with the class proportions of both equal.

    Args:
        label_ids: 1-D int array, one class id per text.
        fraction: float in (0, 1). Share held out.
        seed: int. The same seed gives the same split.
        what: str. What is held out ("validation", "test"), for messages.
        source: str. Where the texts came from, for messages.

    Raises:
        DataError: a class has too few texts to appear on both sides.
    """
    from sklearn.model_selection import train_test_split

    label_ids = np.asarray(label_ids)
    positions = np.arange(len(label_ids))
    counts = np.bincount(label_ids)
    held = int(np.ceil(fraction * len(label_ids)))
    if counts.min() < 2 or held < len(counts) or len(label_ids) - held < len(counts):
        raise DataError(
            f"{source}: cannot hold out a stratified {what} split of {fraction:g} from "
            f"{len(label_ids)} texts with class counts {counts.tolist()}: every class needs "
            f"texts on both sides. Give more data, change the {what} fraction, or pass a "
            f"separate {what} file."
        )
    kept, held_out = train_test_split(
        positions, test_size=held, stratify=label_ids, random_state=seed, shuffle=True
    )
    return np.sort(kept), np.sort(held_out)


def macro_f1(label_ids, class_probabilities):
    """The unweighted mean of every class's F1 (a class never predicted nor present: 0)."""
    from sklearn.metrics import f1_score

    class_probabilities = np.asarray(class_probabilities)
    return float(f1_score(
        np.asarray(label_ids), np.argmax(class_probabilities, axis=1),
        labels=list(range(class_probabilities.shape[1])), average="macro", zero_division=0,
    ))


def classification_metrics(label_ids, class_probabilities, classes):
    """Accuracy, macro F1, scikit-learn's report and the confusion matrix.

    Returns:
        A JSON-serialisable dict: `accuracy`, `macro_f1`, `num_texts`, `classes`,
        `report` (scikit-learn's `classification_report(output_dict=True)`, keyed by class
        name), `report_text` and `confusion_matrix` (rows: true class, columns: predicted,
        in the order of `classes`).
    """
    from sklearn.metrics import accuracy_score, classification_report, confusion_matrix

    label_ids = np.asarray(label_ids)
    predicted = np.argmax(class_probabilities, axis=1)
    ids = list(range(len(classes)))
    names = [str(name) for name in classes]
    options = dict(labels=ids, target_names=names, digits=4, zero_division=0)
    return {
        "accuracy": float(accuracy_score(label_ids, predicted)),
        "macro_f1": macro_f1(label_ids, class_probabilities),
        "num_texts": int(len(label_ids)),
        "classes": list(classes),
        "report": classification_report(label_ids, predicted, output_dict=True, **options),
        "report_text": classification_report(label_ids, predicted, **options),
        "confusion_matrix": confusion_matrix(label_ids, predicted, labels=ids).tolist(),
    }


def confusion_text(matrix, classes):
    """The confusion matrix as aligned text: one row per true class, one column per predicted."""
    names = [str(name) for name in classes]
    width = max(max(len(name) for name in names), max(len(str(v)) for r in matrix for v in r), 4)
    lines = [" " * (width + 7) + "predicted"]
    lines.append("true".ljust(width + 6) + " " + " ".join(name.rjust(width) for name in names))
    for name, row in zip(names, matrix):
        lines.append(" " * 6 + name.rjust(width) + " " + " ".join(
            str(value).rjust(width) for value in row
        ))
    return "\n".join(lines)
