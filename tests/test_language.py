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
from seqrecipes.models.stepping import (
    next_token_distribution,
    run_recurrent,
    sample_ids,
    sequence_loss,
    state_names,
)

VOCABULARY = 20


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


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_explicit_states_give_the_models_own_output(cell):
    model = build_language_model(VOCABULARY, cell=cell, units=(5, 4), dropout=0.5)
    batch = ids()
    logits, states = run_recurrent(model, batch)
    np.testing.assert_allclose(logits, model(batch), atol=1e-5)
    # Two chunks with the state carried read like one long sequence.
    first, carried = run_recurrent(model, batch[:, :3])
    second, _ = run_recurrent(model, batch[:, 3:], carried)
    np.testing.assert_allclose(np.concatenate([first, second], 1), logits, atol=1e-5)
    # ... and not like a fresh start.
    fresh, _ = run_recurrent(model, batch[:, 3:])
    assert np.abs(fresh - second).max() > 1e-4


def test_recorded_states_are_named_and_end_in_the_final_states():
    model = build_language_model(VOCABULARY, cell="lstm", units=(5, 4))
    _, states, recorded = run_recurrent(model, ids(), record=True)
    assert state_names(model) == ["lstm_1/h", "lstm_1/c", "lstm_2/h", "lstm_2/c"]
    assert [values.shape for values in recorded] == [(3, 7, 5)] * 2 + [(3, 7, 4)] * 2
    flat = [state for layer in states for state in layer]
    for values, final in zip(recorded, flat):
        np.testing.assert_allclose(values[:, -1], final, atol=1e-6)


def test_stateful_training_carries_the_state_between_batches_and_resets():
    model = compiled(build_language_model(VOCABULARY, units=4, stateful=True, batch_size=3))
    batch = ids()
    first = np.asarray(model.predict_on_batch(batch))
    second = np.asarray(model.predict_on_batch(batch))
    assert np.abs(first - second).max() > 1e-4  # the second call started from the first's end
    # The carried state is the one `run_recurrent` ends in after reading the batch once.
    _, after_one = run_recurrent(model, batch)
    carried = [[state.numpy() for state in layer.states] for layer in recurrent_layers(model)]
    _, after_two = run_recurrent(model, batch, after_one)
    np.testing.assert_allclose(carried[0][0], after_two[0][0], atol=1e-5)
    reset_states(model)
    np.testing.assert_allclose(model.predict_on_batch(batch), first, atol=1e-6)


def test_validation_inside_fit_does_not_disturb_the_training_state():
    model = compiled(build_language_model(VOCABULARY, units=4, stateful=True, batch_size=3))
    callback = StatefulResets()
    callback.set_model(model)
    model.predict_on_batch(ids())  # some training state
    before = [state.numpy().copy() for state in recurrent_layers(model)[0].states]
    callback.on_test_begin()
    assert all(not state.numpy().any() for state in recurrent_layers(model)[0].states)
    model.predict_on_batch(ids(seed=1))  # validation runs through the same variables
    callback.on_test_end()
    after = [state.numpy() for state in recurrent_layers(model)[0].states]
    for old, new in zip(before, after):
        np.testing.assert_array_equal(old, new)
    callback.on_epoch_begin(1)
    assert all(not state.numpy().any() for state in recurrent_layers(model)[0].states)


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
    assert np.abs(recurrent_layers(model)[0].states[0].numpy()).sum() > 0


def test_sequence_loss_without_carry_matches_keras_on_windows():
    model = compiled(build_language_model(VOCABULARY, units=4))
    corpus = np.random.default_rng(0).integers(2, VOCABULARY, size=121).astype("int32")
    windows = language_model_dataset(corpus, sequence_length=10, batch_size=12)
    expected = model.evaluate(windows, verbose=0)
    result = sequence_loss(model, corpus, streams=12, sequence_length=10, carry_state=False)
    assert result["tokens"] == 120
    assert result["loss"] == pytest.approx(expected, rel=1e-5)


def test_carried_loss_equals_the_stateful_model_read_in_order():
    weights_from = build_language_model(VOCABULARY, cell="gru", units=4)
    stateful = compiled(build_language_model(VOCABULARY, cell="gru", units=4, stateful=True,
                                             batch_size=3))
    stateful.set_weights(weights_from.get_weights())
    corpus = np.random.default_rng(1).integers(2, VOCABULARY, size=100).astype("int32")
    batches = language_model_dataset(corpus, sequence_length=4, batch_size=3, stateful=True)
    losses = [stateful.test_on_batch(x, y) for x, y in batches]  # state carried batch to batch
    result = sequence_loss(weights_from, corpus, streams=3, sequence_length=4)
    assert result["loss"] == pytest.approx(np.mean(losses), rel=1e-5)


def test_temperature_and_top_k():
    logits = np.log([0.1, 0.2, 0.3, 0.4])
    np.testing.assert_allclose(next_token_distribution(logits), [0.1, 0.2, 0.3, 0.4])
    cold = next_token_distribution(logits, temperature=0.5)
    np.testing.assert_allclose(cold, np.array([1, 4, 9, 16]) / 30)
    top = next_token_distribution(logits, top_k=2, forbidden=(3,))
    np.testing.assert_allclose(top, [0, 0.4, 0.6, 0])
    with pytest.raises(InvalidArgumentError, match="`temperature`"):
        next_token_distribution(logits, temperature=0)


def test_sampling_is_seeded_and_never_picks_a_forbidden_id():
    model = build_language_model(VOCABULARY, units=4)
    first = sample_ids(model, [3, 4], length=30, forbidden=(0, 1), seed=5)
    assert first == sample_ids(model, [3, 4], length=30, forbidden=(0, 1), seed=5)
    assert len(first) == 30 and not {0, 1} & set(first)
    assert set(sample_ids(model, [3], length=20, top_k=1)) <= set(range(VOCABULARY))
    greedy = sample_ids(model, [3], length=5, top_k=1, seed=1)
    assert greedy == sample_ids(model, [3], length=5, top_k=1, seed=2)  # top-1 is greedy
