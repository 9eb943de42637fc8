"""NBSVM in Keras: a linear model on a text's distinct n-grams, scaled by naive-Bayes ratios.

Wang & Manning (2012), "Baselines and Bigrams": scale binary n-gram features by the naive-Bayes
log-count ratio r = log((p / |p|_1) / (q / |q|_1)) (p, q: smoothed counts of the documents of
each class that hold the n-gram) and fit a linear classifier on them. Here the features are
the ids a `TextVectorization` with `ngrams=3` gives (words, pairs, triples), each counted once
per text (binarised: `DistinctIds`), and the weight of id i is ``(w_i + offset) * r_i`` with r
frozen and w trained end to end (fast.ai's "NBSVM++" parameterisation, (w + 0.4) r / 10,
with w ten times smaller so that Adam's usual 1e-3 moves it as fast.ai's 1e-2 did): training
starts near naive Bayes shrunk by `offset`, and every step moves the n-grams naive Bayes
trusts most the furthest (Adam's step on w is about the learning rate whatever the gradient's
scale, so the weight of id i moves by about learning_rate * |r_i|). On IMDB a small offset
did best (seed 1234, 10% held out: offset 0.04 -> 0.9180, 0.02 -> 0.9186, 0.01 -> 0.9198,
0.005 -> 0.9204, 0 -> 0.9198; the README gives the seeds' spread). The model takes padded,
length-bucketed batches of ids like every other classifier here, and padding, repeats and
order never change its answer.

`log_count_ratios` computes r from the training batches; the builder writes it into the model
(a non-trainable table saved in the `.keras` file with the rest).
"""

import keras
import numpy as np
from keras import ops

from seqrecipes import _validation
from seqrecipes.models.embedding import Embedding


@keras.saving.register_keras_serializable(package="seqrecipes")
class DistinctIds(keras.layers.Layer):
    """Sorts each row of ids and replaces every repeat by 0 (padding): a set of ids per row.

    Example:

    >>> ids = DistinctIds()(np.array([[5, 3, 5, 0, 3]]))
    >>> ops.convert_to_numpy(ids).tolist()  # sorted, repeats 0
    [[0, 3, 0, 5, 0]]
    """

    def call(self, ids):
        ids = ops.sort(ids, axis=-1)
        first = ops.concatenate(
            [ops.ones_like(ids[:, :1], dtype="bool"), ops.not_equal(ids[:, 1:], ids[:, :-1])],
            axis=1,
        )
        return ops.where(first, ids, ops.zeros_like(ids))

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="seqrecipes")
class NaiveBayesSum(keras.layers.Layer):
    """Sums ``(w + offset) * r`` over the unmasked steps and adds a bias: the logits.

    Called on `[w, r]`, two `(batch, steps, classes)` tensors (the trained weights and the
    naive-Bayes ratios of each step's id) with their mask. `dropout` drops whole steps (ids)
    while training. A row with every step masked (an empty text) gives the bias alone.
    """

    def __init__(self, offset=0.005, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.offset, self.dropout = offset, dropout
        self.supports_masking = True
        self._dropout = keras.layers.Dropout(dropout, noise_shape=(None, None, 1)) \
            if dropout else None

    def build(self, input_shape):
        self.bias = self.add_weight(name="bias", shape=(input_shape[0][-1],),
                                    initializer="zeros")

    def call(self, inputs, mask=None, training=None):
        weights, ratios = inputs
        values = (weights + self.offset) * ratios
        if self._dropout is not None:
            values = self._dropout(values, training=training)
        mask = mask[0] if isinstance(mask, (list, tuple)) else mask
        if mask is not None:
            values = values * ops.expand_dims(ops.cast(mask, values.dtype), -1)
        return ops.sum(values, axis=1) + self.bias

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], input_shape[0][-1])

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "offset": self.offset, "dropout": self.dropout}


def log_count_ratios(batches, vocabulary_size, num_classes=2, *, alpha=1.0):
    """Naive-Bayes log-count ratios of every id, from `(ids, class ids)` training batches.

    Each id counts once per text (binary features). For two classes the one column is
    r = log((p / |p|_1) / (q / |q|_1)), p and q the counts of texts of class 1 and class 0
    holding the id, each plus `alpha`; for more classes, column c compares class c with the
    rest. Padding (id 0) gets 0.

    Args:
        batches: iterable of `(ids, labels)`: ids `(batch, steps)` int padded with 0 (a
            `classification_dataset` of the training split), labels `(batch,)` class ids.
        vocabulary_size: int. Number of ids.
        num_classes: int >= 2. Defaults to 2.
        alpha: float > 0. Smoothing added to every count. Defaults to 1.

    Returns:
        float32 `np.ndarray` `(vocabulary_size, 1)` for two classes, else
        `(vocabulary_size, num_classes)`.

    Example:

    >>> ids = np.array([[2, 3, 3], [2, 4, 0]])
    >>> ratios = log_count_ratios([(ids, np.array([1, 0]))], 5)
    >>> [round(float(r), 2) for r in ratios[:, 0]]
    [0.0, 0.0, 0.0, 0.69, -0.69]
    """
    _validation.check_positive_int("vocabulary_size", vocabulary_size)
    _validation.check_positive_int("num_classes", num_classes)
    _validation.check_positive_float("alpha", alpha)
    counts = np.zeros((num_classes, vocabulary_size), np.float64)
    for ids, labels in batches:
        ids = np.asarray(ids, np.int64)
        labels = np.asarray(labels).reshape(-1).astype(np.int64)
        keys = np.unique(np.arange(len(ids))[:, None] * vocabulary_size + ids)
        rows, tokens = keys // vocabulary_size, keys % vocabulary_size
        np.add.at(counts, (labels[rows], tokens), 1.0)
    counts += alpha
    counts[:, 0] = 0.0  # padding is no feature
    columns = [1] if num_classes == 2 else range(num_classes)
    ratios = []
    for c in columns:
        inside = counts[c]
        outside = counts.sum(axis=0) - inside - (num_classes - 2) * alpha  # alpha once
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios.append(np.log((inside / inside.sum()) / (outside / outside.sum())))
    ratios = np.stack(ratios, axis=1).astype("float32")
    ratios[0] = 0.0
    return ratios


def build_nbsvm_classifier(
    vocabulary_size,
    num_classes=2,
    *,
    log_count_ratios=None,
    dropout=0.0,
    offset=0.005,
    sequence_length=None,
    name="nbsvm_classifier",
):
    """Builds NBSVM as a Keras model: naive-Bayes-scaled weights summed over distinct ids.

    For class c the logit is ``b_c + sum over the text's distinct ids i of
    (w_ic + offset) * r_ic``, then sigmoid (two classes: one unit) or softmax. `w` is
    trained, r (the naive-Bayes log-count ratios, `log_count_ratios`) is not. Give the ids of
    a word n-gram vectorizer (`build_text_vectorizer(..., ngrams=3)`) or of character
    n-grams; the model sees a set of ids, so repeats, order and padding do not matter.

    Args:
        vocabulary_size: int. Number of token ids (padding 0 and OOV 1 included).
        num_classes: int >= 2. Defaults to 2 (one sigmoid unit).
        log_count_ratios: array or None. `(vocabulary_size, 1)` for two classes, else
            `(vocabulary_size, num_classes)`, from `log_count_ratios` on the training data.
            None: ones (a plain linear model on binary features, e.g. before loading
            weights). Defaults to None.
        dropout: float. Share of a text's ids dropped while training. Defaults to 0.
        offset: float. Added to the trained weights (initialised in +-0.01) before they
            multiply r: every id starts near `offset` r, naive Bayes shrunk. Defaults to 0.005.
        sequence_length: int or None. Defaults to None (any length).
        name: str. The model's name.

    Returns:
        A `keras.Model` from `(batch, steps)` int ids to probabilities.

    Raises:
        InvalidArgumentError: a bad argument, or ratios of the wrong shape.

    Example:

    >>> model = build_nbsvm_classifier(100, 2)
    >>> model.output_shape
    (None, 1)
    >>> build_nbsvm_classifier(100, 4).output_shape
    (None, 4)
    """
    _validation.check_positive_int("vocabulary_size", vocabulary_size)
    _validation.check_num_classes(num_classes)
    _validation.check_fraction("dropout", dropout)
    if isinstance(offset, bool) or not isinstance(offset, (int, float)):
        _validation.check_conflict(True, "`offset` must be a number. "
                                         f"Received: offset={offset!r} ({type(offset).__name__}).")
    _validation.check_positive_int("sequence_length", sequence_length, allow_none=True)
    _validation.check_string("name", name)
    columns = 1 if num_classes == 2 else num_classes
    if log_count_ratios is not None:
        log_count_ratios = np.asarray(log_count_ratios, "float32")
        if log_count_ratios.ndim == 1 and columns == 1:
            log_count_ratios = log_count_ratios[:, None]
        _validation.check_conflict(
            log_count_ratios.shape != (vocabulary_size, columns),
            f"`log_count_ratios` must have the shape (vocabulary_size, {columns}) = "
            f"({vocabulary_size}, {columns}) for {num_classes} classes. Received: an array "
            f"of shape {log_count_ratios.shape}. Compute it with `log_count_ratios(batches, "
            f"{vocabulary_size}, {num_classes})`.",
        )
    ids = keras.Input(shape=(sequence_length,), dtype="int32", name="token_ids")
    distinct = DistinctIds(name="distinct_ids")(ids)
    weights = Embedding(
        vocabulary_size, columns, mask_zero=True, name="weights",
        embeddings_initializer=keras.initializers.RandomUniform(-0.01, 0.01),
    )(distinct)
    ratio_table = Embedding(vocabulary_size, columns, mask_zero=True, name="log_count_ratios",
                            embeddings_initializer="ones", trainable=False)
    ratios = ratio_table(distinct)
    logits = NaiveBayesSum(offset=float(offset), dropout=dropout,
                           name="naive_bayes_sum")([weights, ratios])
    outputs = keras.layers.Activation("sigmoid" if columns == 1 else "softmax",
                                      name="head")(logits)
    model = keras.Model(ids, outputs, name=name)
    if log_count_ratios is not None:
        ratio_table.set_weights([log_count_ratios])
    return model


def _register():
    from seqrecipes.models.params import register_formula  # params does not import this module

    # The bias, one per logit; the weights and ratios are the two Embedding layers before it.
    register_formula(NaiveBayesSum, lambda layer, d: f"{layer.bias.shape[0]}")


_register()
