"""Figures every recipe can draw: training curves and a confusion matrix (matplotlib, no screen)."""


def pyplot():
    """Returns `matplotlib.pyplot` drawing to files only (works without a display).

    Imported on first use, not with this module: the command line imports the recipes to
    build its `--help`, and matplotlib takes most of a second to import.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def training_curves(history, title="Training"):
    """Returns a figure with one panel per figure (loss, accuracy, ...), train and validation.

    Args:
        history: list of dicts (one per epoch, with an "epoch" key) as `fit_resumable` returns.
    """
    names = sorted(
        {key for row in history for key in row if key != "epoch" and not key.startswith("val_")}
        | {key[4:] for row in history for key in row if key.startswith("val_")}
    )
    names = [name for name in names if name not in ("learning_rate", "epoch_seconds")] or ["loss"]
    figure, axes = pyplot().subplots(1, len(names), figsize=(4.5 * len(names), 3.4), squeeze=False)
    epochs = [row["epoch"] for row in history]
    for axis, name in zip(axes[0], names):
        for key, label in ((name, "train"), (f"val_{name}", "validation")):
            values = [row.get(key) for row in history]
            if any(value is not None for value in values):
                axis.plot(epochs, values, marker="o", label=label)
        axis.set_xlabel("epoch")
        axis.set_title(name)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def confusion_matrix(y_true, y_pred, labels, title="Confusion matrix"):
    """Returns a confusion-matrix figure (rows: true label, columns: predicted label)."""
    from sklearn.metrics import ConfusionMatrixDisplay

    size = max(3.5, 0.6 * len(labels) + 2)
    figure, axis = pyplot().subplots(figsize=(size, size))
    ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, labels=list(range(len(labels))), display_labels=[str(x) for x in labels],
        ax=axis, colorbar=False, cmap="Blues",
    )
    axis.set_title(title)
    figure.tight_layout()
    return figure
