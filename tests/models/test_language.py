import keras
import numpy as np
import pytest

from seqrecipes.datasets import language_model_dataset
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.models.language import (
    StatefulResets,
    build_language_model,
    recurrent_layers,
    reset_states,
)
from seqrecipes.models.stepping import run_recurrent

VOCABULARY = 20
STATEFUL_NEEDS_TENSORFLOW = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="Keras 3.15's JAX trainer drops a stateful layer's state (untracked variables); "
    "build_language_model refuses stateful=True there (test_stateful_refused_off_tensorflow)",
)


def ids(batch=3, steps=7, seed=0):
    return np.random.default_rng(seed).integers(2, VOCABULARY, size=(batch, steps)).astype("int32")


def compiled(model):
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


@pytest.mark.parametrize("cell", ["lstm", "gru", "simple_rnn"])
@pytest.mark.parametrize("units", [4, (5, 4)])
def test_logits_at_every_step(cell, units):
    model = build_language_model(VOCABULARY, cell=cell, units=units, embedding_dim=3,
                                 dropout=0.1)
    assert model.output_shape == (None, None, VOCABULARY)
    assert model(ids()).shape == (3, 7, VOCABULARY)
    assert all(layer.return_sequences for layer in recurrent_layers(model))


@STATEFUL_NEEDS_TENSORFLOW
def test_stateful_model_has_a_fixed_batch():
    model = build_language_model(VOCABULARY, units=4, stateful=True, batch_size=3)
    assert model.input_shape == (3, None)
    assert all(layer.stateful for layer in recurrent_layers(model))


@pytest.mark.parametrize(
    "kwargs, match",
    [({"stateful": True}, "batch_size"), ({"batch_size": 4}, "stateful"),
     ({"cell": "transformer"}, "`cell`"), ({"units": 0}, "`units`"),
     ({"dropout": 1.5}, "`dropout`"), ({"embedding_dim": True}, "`embedding_dim`")],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        build_language_model(VOCABULARY, **kwargs)


@STATEFUL_NEEDS_TENSORFLOW
def test_stateful_training_carries_the_state_between_batches_and_resets():
    model = compiled(build_language_model(VOCABULARY, units=4, stateful=True, batch_size=3))
    batch = ids()
    first = np.asarray(model.predict_on_batch(batch))
    second = np.asarray(model.predict_on_batch(batch))
    assert np.abs(first - second).max() > 1e-4  # the second call started from the first's end
    # The carried state is the one `run_recurrent` ends in after reading the batch once.
    _, after_one = run_recurrent(model, batch)
    carried = [[keras.ops.convert_to_numpy(state) for state in layer.states] for layer in recurrent_layers(model)]
    _, after_two = run_recurrent(model, batch, after_one)
    np.testing.assert_allclose(carried[0][0], after_two[0][0], atol=1e-5)
    reset_states(model)
    np.testing.assert_allclose(model.predict_on_batch(batch), first, atol=1e-6)


@STATEFUL_NEEDS_TENSORFLOW
def test_validation_inside_fit_does_not_disturb_the_training_state():
    model = compiled(build_language_model(VOCABULARY, units=4, stateful=True, batch_size=3))
    callback = StatefulResets()
    callback.set_model(model)
    model.predict_on_batch(ids())  # some training state
    before = [keras.ops.convert_to_numpy(state).copy() for state in recurrent_layers(model)[0].states]
    callback.on_test_begin()
    assert all(not keras.ops.convert_to_numpy(state).any() for state in recurrent_layers(model)[0].states)
    model.predict_on_batch(ids(seed=1))  # validation runs through the same variables
    callback.on_test_end()
    after = [keras.ops.convert_to_numpy(state) for state in recurrent_layers(model)[0].states]
    for old, new in zip(before, after):
        np.testing.assert_array_equal(old, new)
    callback.on_epoch_begin(1)
    assert all(not keras.ops.convert_to_numpy(state).any() for state in recurrent_layers(model)[0].states)


@STATEFUL_NEEDS_TENSORFLOW
def test_stateful_fit_over_streams_resets_every_epoch():
    corpus = np.random.default_rng(0).integers(2, VOCABULARY, size=200).astype("int32")
    data = language_model_dataset(corpus, sequence_length=5, batch_size=4, stateful=True)
    model = compiled(build_language_model(VOCABULARY, units=4, stateful=True, batch_size=4))
    seen = []

    class Spy(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == 0:
                seen.append(float(np.abs(recurrent_layers(self.model)[0].states[0]).sum()))

    model.fit(data, epochs=2, verbose=0, shuffle=False, callbacks=[StatefulResets(), Spy()])
    assert seen == [0.0, 0.0]
    assert np.abs(keras.ops.convert_to_numpy(recurrent_layers(model)[0].states[0])).sum() > 0


@pytest.mark.skipif(keras.backend.backend() == "tensorflow", reason="refused off TensorFlow only")
def test_stateful_refused_off_tensorflow():
    with pytest.raises(InvalidArgumentError, match="KERAS_BACKEND=tensorflow"):
        build_language_model(VOCABULARY, units=4, stateful=True, batch_size=3)
