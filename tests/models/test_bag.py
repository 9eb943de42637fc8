import numpy as np
import pytest

import keras
from keras.ops import convert_to_numpy

from seqrecipes import models
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.models.layers import MaskedGlobalAveragePooling1D


def test_bag_is_embedding_masked_mean_and_head():
    model = models.build_bag_classifier(20, 2, embedding_dim=4)
    kinds = [type(layer) for layer in model.layers]
    assert kinds == [models.Embedding, MaskedGlobalAveragePooling1D, keras.layers.Dense]
    assert model.count_params() == 20 * 4 + (4 + 1)
    assert models.build_bag_classifier(20, 3, dropout=0.2).output_shape == (None, 3)


def test_padding_and_order_do_not_change_the_answer_and_empty_texts_are_finite():
    model = models.build_bag_classifier(20, 3, embedding_dim=4)
    alone = convert_to_numpy(model(np.array([[3, 4, 5]])))
    np.testing.assert_allclose(convert_to_numpy(model(np.array([[5, 3, 4, 0, 0, 0]]))), alone,
                               atol=1e-6)
    empty = convert_to_numpy(model(np.array([[0, 0]])))
    assert np.isfinite(empty).all()
    np.testing.assert_allclose(empty, convert_to_numpy(keras.activations.softmax(
        model.get_layer("head").bias[None, :])), atol=1e-6)  # the bias alone


def test_masked_mean_of_an_all_padding_row_is_zero():
    layer = MaskedGlobalAveragePooling1D()
    values = np.arange(12, dtype="float32").reshape(2, 3, 2)
    mask = np.array([[True, True, False], [False, False, False]])
    np.testing.assert_allclose(layer(values, mask=mask), [[1.0, 2.0], [0.0, 0.0]])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_classes=1), "`num_classes` must be at least 2"),
        (dict(embedding_dim=0), "`embedding_dim`"),
        (dict(dropout=1.0), "`dropout`"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        models.build_bag_classifier(20, **kwargs)
