"""Class probabilities and prediction rows: the Keras run and the portable reader answer alike.

Labels are class ids 0..K-1 into a list of class names (ints or strings, as the file had
them). A binary model has one sigmoid unit, the probability of class 1; `probabilities` turns
any model output into one row of K probabilities per text, so the rest never needs to know
which. `recipes.engine.classification` (training, evaluation) re-exports both.
"""

import numpy as np


def probabilities(outputs, num_classes):
    """(texts, K) class probabilities from a model's output (one sigmoid unit, or softmax)."""
    outputs = np.asarray(outputs, dtype="float64")
    if num_classes == 2:
        positive = outputs.reshape(len(outputs), -1)[:, 0]
        return np.stack([1.0 - positive, positive], axis=1)
    return outputs.reshape(len(outputs), num_classes)


def prediction_rows(texts, class_probabilities, classes):
    """One dict per text, as `predict` prints them: `text`, `label` (the most probable class
    as the training file wrote it), `probability` (of that label) and `probabilities` (every
    class name -> float, rounded to 6 places).
    """
    rows = []
    for raw, row in zip(texts, class_probabilities):
        best = int(row.argmax())
        rows.append({
            "text": raw,
            "label": classes[best],
            "probability": round(float(row[best]), 6),
            "probabilities": {str(name): round(float(p), 6) for name, p in zip(classes, row)},
        })
    return rows
