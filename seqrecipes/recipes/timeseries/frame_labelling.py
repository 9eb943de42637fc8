"""Frame labelling for the time-series recipe: a regime label for every step of a sequence.

Generated sequences switch between a calm and a volatile regime (`regime_sequences`); a
many-to-many tagger over numeric frames (`build_sequence_tagger(input_dim=1)`) labels every
step. Two baselines frame its accuracy: the majority label of the training frames, and the
threshold on |x_t - x_(t-1)| that labels the training frames best.
"""

import numpy as np

from seqrecipes.recipes.engine import plots as _plots
from seqrecipes.recipes.engine import training as _training

LABEL_NAMES = ("calm", "volatile")


def _threshold_baseline(values, labels, train_values, train_labels):
    """Label 1 where |x_t - x_(t-1)| exceeds the threshold best on the training sequences."""
    def jumps(x):
        return np.abs(np.diff(x, axis=1, prepend=x[:, :1]))

    train_jumps = jumps(train_values)
    candidates = np.quantile(train_jumps, np.linspace(0.05, 0.95, 91))
    scores = [((train_jumps > c) == train_labels).mean() for c in candidates]
    threshold = float(candidates[int(np.argmax(scores))])
    return float(((jumps(values) > threshold) == labels).mean()), threshold


def train(config, state_dir, train_flags):
    """Generates the regime sequences, trains the tagger, scores it beside both baselines."""
    import keras

    from seqrecipes.datasets.series import regime_sequences, shuffled_batches
    from seqrecipes.models import build_sequence_tagger

    sizes = (config["train_sequences"], config["validation_sequences"],
             config["test_sequences"])
    values, labels = regime_sequences(sum(sizes), length=config["sequence_steps"],
                                      seed=train_flags["seed"])
    split = np.cumsum(sizes)[:-1]
    (x_train, x_val, x_test), (y_train, y_val, y_test) = (
        np.split(values, split), np.split(labels, split)
    )
    mean, std = float(x_train.mean()), float(x_train.std())  # training sequences only

    def scaled(x):
        return ((x - mean) / std)[..., None].astype("float32")

    keras.utils.set_random_seed(train_flags["seed"])
    model = build_sequence_tagger(
        input_dim=1, num_tags=len(LABEL_NAMES), mask_zero=False, cell=config["cell"],
        units=config["units"], dropout=config["dropout"],
    )
    model.compile(_training.adam(train_flags["learning_rate"],
                                  clipnorm=train_flags["clipnorm"]),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    train_data = shuffled_batches(scaled(x_train), y_train, batch_size=train_flags["batch_size"],
                                  seed=train_flags["seed"])
    validation_data = (scaled(x_val), y_val)
    result = _training.fit_resumable(
        model, train_data, validation_data=validation_data, epochs=train_flags["epochs"],
        state_dir=state_dir, config=config, seed=train_flags["seed"],
        patience=train_flags["patience"], verbose=train_flags["verbose"],
    )
    probabilities = model.predict(scaled(x_test), verbose=0)
    predicted = probabilities.argmax(axis=-1)
    majority = int(np.bincount(y_train.ravel()).argmax())
    threshold_accuracy, threshold = _threshold_baseline(x_test, y_test, x_train, y_train)
    metrics = {
        "normalisation": {"mean": mean, "std": std},
        "test": {
            "frames": int(y_test.size),
            "model_accuracy": float((predicted == y_test).mean()),
            "majority_baseline_accuracy": float((y_test == majority).mean()),
            "jump_threshold_baseline_accuracy": threshold_accuracy,
            "jump_threshold": threshold,
        },
    }
    figure = _labelling_figure(x_test[0], y_test[0], probabilities[0, :, 1])
    return model, result, metrics, figure


def _labelling_figure(values, labels, probability):
    plt = _plots.pyplot()

    figure, (top, bottom) = plt.subplots(2, 1, figsize=(9, 4), sharex=True)
    steps = np.arange(len(values))
    for axis in (top, bottom):
        axis.fill_between(steps, 0, 1, where=labels == 1, step="mid", color="tab:orange",
                          alpha=0.25, transform=axis.get_xaxis_transform(),
                          label="volatile (truth)")
    top.plot(steps, values, color="black", linewidth=1)
    top.set_ylabel("value")
    top.legend(fontsize=8, loc="upper right")
    bottom.plot(steps, probability, color="tab:red", linewidth=1.2)
    bottom.set_ylim(-0.05, 1.05)
    bottom.set_ylabel("P(volatile)")
    bottom.set_xlabel("step")
    top.set_title("Frame labelling: one test sequence")
    figure.tight_layout()
    return figure
