import numpy as np
import pytest

import keras
from keras.ops import convert_to_numpy

from seqrecipes import models
from seqrecipes.errors import InvalidArgumentError

CELLS = ["simple_rnn", "lstm", "gru"]
VOCABULARY, LENGTH, BATCH = 20, 5, 2


def padded_batch():
    # Two texts, the second padded with zeros after 3 tokens.
    return np.array([[3, 4, 5, 6, 7], [8, 9, 10, 0, 0]], dtype="int32")


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("task", ["classifier", "tagger"])
def test_matrix_builds_and_runs_with_padding(cell, bidirectional, depth, task):
    units = tuple(range(4, 4 + depth))
    if task == "classifier":
        model = models.build_sequence_classifier(
            VOCABULARY, 3, cell=cell, units=units, bidirectional=bidirectional
        )
        expected = (BATCH, 3)
    else:
        model = models.build_sequence_tagger(
            VOCABULARY, 5, cell=cell, units=units, bidirectional=bidirectional
        )
        expected = (BATCH, LENGTH, 5)
    assert isinstance(model, keras.Sequential)
    recurrent = [layer for layer in model.layers if "Embedding" not in type(layer).__name__][
        :depth
    ]
    flags = [getattr(layer, "return_sequences") for layer in recurrent]
    assert flags == [True] * (depth - 1) + [task == "tagger"]
    output = keras.ops.convert_to_numpy(model(padded_batch()))
    assert output.shape == expected
    np.testing.assert_allclose(output.sum(axis=-1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("merge_mode, width", [("concat", 8), ("sum", 4), ("ave", 4), ("mul", 4)])
def test_bidirectional_merge_mode_sets_the_width(merge_mode, width):
    model = models.build_sequence_tagger(
        VOCABULARY, 3, units=4, bidirectional=True, merge_mode=merge_mode
    )
    assert model.layers[1].output.shape[-1] == width


def test_binary_classifier_has_one_sigmoid_unit():
    model = models.build_sequence_classifier(VOCABULARY, 2, units=4)
    assert model.output_shape == (None, 1)
    assert model.layers[-1].activation.__name__ == "sigmoid"


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
def test_padding_does_not_change_the_answer(cell, bidirectional, pooling):
    """The same text alone, post-padded and pre-padded gives the same output."""
    model = models.build_sequence_classifier(
        VOCABULARY, 3, cell=cell, units=(4, 3), bidirectional=bidirectional, pooling=pooling
    )
    alone = convert_to_numpy(model(np.array([[3, 4, 5]])))
    post = convert_to_numpy(model(np.array([[3, 4, 5, 0, 0, 0]])))
    pre = convert_to_numpy(model(np.array([[0, 0, 3, 4, 5]])))
    np.testing.assert_allclose(post, alone, atol=1e-6)
    if pooling == "last":
        np.testing.assert_allclose(pre, alone, atol=1e-6)


@pytest.mark.parametrize("cell, count", [("lstm", 5), ("gru", 3), ("simple_rnn", 3)])
def test_bidirectional_encoder_states(cell, count):
    model = models.build_recurrent_encoder(VOCABULARY, cell=cell, units=4, bidirectional=True)
    outputs = model(padded_batch())
    assert len(outputs) == count
    assert model.output_names[0] == "output"
    assert outputs[0].shape == (BATCH, 8)
    assert all(state.shape == (BATCH, 4) for state in outputs[1:])


@pytest.mark.parametrize("cell, names", [("lstm", ["output", "h", "c"]), ("gru", ["output", "h"])])
def test_encoder_states_match_the_layer(cell, names):
    """The named states are the layer's own: for a forward encoder `output` equals `h`."""
    model = models.build_recurrent_encoder(VOCABULARY, cell=cell, units=(4, 6))
    assert model.output_names == names
    outputs = [convert_to_numpy(output) for output in model(padded_batch())]
    np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-6)
    assert outputs[0].shape == (BATCH, 6)


def test_encoder_concatenated_states_are_twice_as_wide():
    model = models.build_recurrent_encoder(
        VOCABULARY, cell="lstm", units=4, bidirectional=True, concatenate_states=True,
        return_sequences=True,
    )
    assert model.output_names == ["output", "h", "c"]
    output, h, c = model(padded_batch())
    assert output.shape == (BATCH, LENGTH, 8)
    assert h.shape == c.shape == (BATCH, 8)


def test_numeric_input_regressor_and_frame_tagger():
    series = np.random.default_rng(0).normal(size=(BATCH, 7, 3)).astype("float32")
    regressor = models.build_sequence_regressor(3, units=4)
    assert regressor(series).shape == (BATCH, 1)
    assert regressor.layers[-1].activation.__name__ == "linear"
    tagger = models.build_sequence_tagger(input_dim=3, num_tags=4, cell="gru", units=4)
    assert tagger(series).shape == (BATCH, 7, 4)


BAD_ARGUMENTS = [
    (dict(units=0), "`units` must be a positive integer or a non-empty list"),
    (dict(units=(8, -1)), "`units` must be a positive integer or a non-empty list"),
    (dict(units=True), "`units` must be a positive integer or a non-empty list"),
    (dict(cell="rnn"), "`cell` must be one of 'simple_rnn', 'lstm', 'gru'"),
    (dict(merge_mode="max"), "`merge_mode` must be one of"),
    (dict(dropout=1.5), r"`dropout` must be a number in \[0, 1\)"),
    (dict(recurrent_dropout=-0.1), r"`recurrent_dropout` must be a number in \[0, 1\)"),
    (dict(bidirectional="yes"), "`bidirectional` must be True or False"),
    (dict(embedding_dim=0), "`embedding_dim` must be a positive integer"),
    (dict(pooling="attention"), "`pooling` must be one of 'last', 'mean', 'max'"),
    (dict(input_dim=3), "Pass exactly one of `vocabulary_size`"),
]


@pytest.mark.parametrize("kwargs, message", BAD_ARGUMENTS)
def test_bad_arguments_are_refused_before_building(kwargs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        models.build_sequence_classifier(VOCABULARY, 2, **kwargs)


@pytest.mark.parametrize("num_classes", [1, 0, 2.0])
def test_num_classes(num_classes):
    with pytest.raises(InvalidArgumentError, match="`num_classes`"):
        models.build_sequence_classifier(VOCABULARY, num_classes)


@pytest.mark.parametrize(
    "builder",
    [models.build_sequence_classifier, models.build_sequence_tagger,
     models.build_recurrent_encoder],
)
def test_every_recurrent_builder_rejects_an_unknown_cell(builder):
    with pytest.raises(InvalidArgumentError, match="`cell` must be one of"):
        builder(VOCABULARY, cell="transformer")


def test_concatenate_states_needs_bidirectional():
    with pytest.raises(InvalidArgumentError, match="needs `bidirectional=True`"):
        models.build_recurrent_encoder(VOCABULARY, concatenate_states=True)
