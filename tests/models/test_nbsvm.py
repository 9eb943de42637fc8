import numpy as np
import pytest

import keras
from keras.ops import convert_to_numpy

from seqrecipes.errors import InvalidArgumentError
from seqrecipes.models.nbsvm import (
    DistinctIds,
    NaiveBayesSum,
    build_nbsvm_classifier,
    log_count_ratios,
)


def test_layers_weights_and_output_shapes():
    model = build_nbsvm_classifier(20, 2)
    assert model.output_shape == (None, 1)
    assert model.get_layer("weights").trainable
    assert not model.get_layer("log_count_ratios").trainable
    assert model.count_params() == 20 + 20 + 1  # w, r (frozen), bias
    assert len(model.trainable_weights) == 2
    three = build_nbsvm_classifier(20, 3, dropout=0.5)
    assert three.output_shape == (None, 3)
    assert three.count_params() == 20 * 3 * 2 + 3


def test_distinct_ids_keep_each_id_once():
    ids = np.array([[4, 2, 4, 4, 0], [3, 3, 3, 0, 0]])
    out = convert_to_numpy(DistinctIds()(ids))
    assert [sorted(set(row) - {0}) for row in out] == [[2, 4], [3]]
    assert [(row != 0).sum() for row in out] == [2, 1]


def test_logit_is_the_naive_bayes_sum_over_distinct_ids():
    ratios = np.linspace(-1, 1, 10).astype("float32")
    ratios[0] = 0
    model = build_nbsvm_classifier(10, 2, log_count_ratios=ratios, offset=0.5)
    w = model.get_layer("weights").get_weights()[0][:, 0]
    logit = sum((w[i] + 0.5) * ratios[i] for i in (3, 7))
    expected = 1 / (1 + np.exp(-logit))
    for ids in ([[3, 7]], [[7, 3, 3, 0, 0]], [[3, 7, 7, 7]]):  # order, padding, repeats
        np.testing.assert_allclose(convert_to_numpy(model(np.array(ids)))[0, 0], expected,
                                   rtol=1e-5)
    empty = convert_to_numpy(model(np.array([[0, 0]])))
    np.testing.assert_allclose(empty, [[0.5]])  # the bias alone


def test_ratios_binary_and_one_versus_rest():
    ids = np.array([[2, 3, 3], [2, 4, 0], [4, 0, 0]])
    binary = log_count_ratios([(ids, np.array([1, 0, 0]))], 5)
    assert binary.shape == (5, 1) and binary[0, 0] == 0
    assert binary[3, 0] > 0 > binary[4, 0]
    # p = 1 + [0, 0, 1, 1, 0] (class 1, padding left out), q = 1 + [0, 0, 1, 0, 2]
    p, q = np.array([1, 2, 2, 1.0]), np.array([1, 2, 1, 3.0])
    np.testing.assert_allclose(binary[1:, 0], np.log((p / p.sum()) / (q / q.sum())), rtol=1e-6)
    multi = log_count_ratios([(ids, np.array([0, 1, 2]))], 5, 3)
    assert multi.shape == (5, 3)
    assert multi[3, 0] > 0 and multi[3, 1] < 0  # id 3 only in class 0's text


def test_saved_and_loaded_with_its_ratios(tmp_path):
    ratios = np.arange(12, dtype="float32") / 10
    model = build_nbsvm_classifier(12, 2, log_count_ratios=ratios, dropout=0.3)
    ids = np.array([[2, 5, 11, 0]])
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(convert_to_numpy(loaded(ids)), convert_to_numpy(model(ids)),
                               rtol=1e-6)
    np.testing.assert_allclose(loaded.get_layer("log_count_ratios").get_weights()[0][:, 0],
                               ratios)
    assert loaded.get_layer("naive_bayes_sum").get_config()["dropout"] == 0.3


def test_trains_towards_the_labels():
    keras.utils.set_random_seed(0)
    ids = np.array([[2, 3], [2, 4], [5, 3], [5, 4]])
    labels = np.array([1, 0, 1, 0])
    ratios = log_count_ratios([(ids, labels)], 6)
    model = build_nbsvm_classifier(6, 2, log_count_ratios=ratios)
    model.compile(keras.optimizers.Adam(0.05), "binary_crossentropy")
    before = model.evaluate(ids, labels, verbose=0)
    model.fit(ids, labels, epochs=20, verbose=0)
    assert model.evaluate(ids, labels, verbose=0) < before


def test_layer_config_round_trip():
    layer = NaiveBayesSum(offset=0.1, dropout=0.2)
    again = NaiveBayesSum.from_config(layer.get_config())
    assert (again.offset, again.dropout) == (0.1, 0.2)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_classes=1), "`num_classes` must be at least 2"),
        (dict(num_classes=2.5), "`num_classes`"),
        (dict(dropout=1.0), "`dropout`"),
        (dict(offset="0.4"), "`offset`"),
        (dict(offset=True), "`offset`"),
        (dict(log_count_ratios=np.zeros((19, 1))), "`log_count_ratios` must have the shape"),
        (dict(num_classes=3, log_count_ratios=np.zeros((20, 1))), "`log_count_ratios`"),
        (dict(name=3), "`name`"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        build_nbsvm_classifier(20, **kwargs)


@pytest.mark.parametrize("vocabulary_size", [0, -1, 2.5, "8", True])
def test_bad_vocabulary_size(vocabulary_size):
    with pytest.raises(InvalidArgumentError, match="`vocabulary_size`"):
        build_nbsvm_classifier(vocabulary_size)
    with pytest.raises(InvalidArgumentError, match="`vocabulary_size`"):
        log_count_ratios([], vocabulary_size)


def test_parameter_table_has_a_formula_for_every_layer():
    from seqrecipes.models import parameter_table

    model = build_nbsvm_classifier(50, 3)
    table = parameter_table(model)
    assert table["count"].sum() == model.count_params() == 50 * 3 * 2 + 3
    assert "no formula" not in set(table["formula"])
