import numpy as np
import pytest

import keras
from keras.ops import convert_to_numpy

from seqrecipes import models
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.models import dilated_conv_stack


def test_one_kernel_is_sequential_with_conv_and_max_pool():
    model = models.build_conv_classifier(20, 2, kernel_size=3, filters=4)
    assert isinstance(model, keras.Sequential)
    kinds = [type(layer) for layer in model.layers]
    assert any(issubclass(kind, keras.layers.Conv1D) for kind in kinds)
    assert any(issubclass(kind, keras.layers.GlobalMaxPooling1D) for kind in kinds)
    assert model.output_shape == (None, 1)


def test_three_kernels_concatenate_three_branches():
    model = models.build_conv_classifier(20, 4, kernel_size=(3, 4, 5), filters=6)
    assert not isinstance(model, keras.Sequential)
    assert model.get_layer("concatenate").output.shape[-1] == 18
    assert model(np.array([[3, 4, 5, 6, 7, 8]])).shape == (1, 4)


@pytest.mark.parametrize("kernel_size", [3, (3, 4, 5)])
def test_padding_and_short_texts_do_not_change_the_answer(kernel_size):
    model = models.build_conv_classifier(20, 3, kernel_size=kernel_size, filters=4)
    for text in ([3, 4, 5, 6, 7, 8], [3, 4]):  # the second is shorter than every kernel
        alone = convert_to_numpy(model(np.array([text])))
        padded = convert_to_numpy(model(np.array([text + [0] * 9])))
        np.testing.assert_allclose(padded, alone, atol=1e-6)


def test_unmasked_kernel_longer_than_fixed_length_is_refused():
    with pytest.raises(InvalidArgumentError, match="`kernel_size` 5 is longer than"):
        models.build_conv_classifier(20, kernel_size=(3, 5), sequence_length=4, mask_zero=False)


@pytest.mark.parametrize(
    "kwargs, message",
    [(dict(kernel_size=0), "`kernel_size`"), (dict(filters=-1), "`filters`"),
     (dict(dropout=1.0), "`dropout`"), (dict(activation="banana"), "`activation`")],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        models.build_conv_classifier(20, **kwargs)


def test_dilated_conv_stack_sees_fifteen_words_on_either_side_with_dilations_1_2_4_8():
    """Windows of 3 with dilations 1, 2, 4, 8 reach 1 + 2 + 4 + 8 = 15 steps each way: a change
    15 steps away moves a step's output, 16 steps away does not (the wiring of `dilations`)."""
    words = keras.Input(shape=(None, 3))
    model = keras.Model(words, dilated_conv_stack(words, filters=4, dropout=0.0))
    rng = np.random.default_rng(0)
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype(weight.dtype))
    x = rng.normal(size=(1, 40, 3)).astype("float32")
    base = keras.ops.convert_to_numpy(model(x))
    assert base.shape == (1, 40, 4)
    for distance, moves in ((15, True), (16, False), (-15, True), (-16, False)):
        changed = x.copy()
        changed[0, 20 + distance] += 1.0
        output = keras.ops.convert_to_numpy(model(changed))
        assert np.allclose(output[0, 20], base[0, 20], atol=1e-5) != moves, distance
