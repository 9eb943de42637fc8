import keras
from keras.ops import convert_to_numpy
import numpy as np
import pytest

from seqrecipes.datasets import language_model_dataset
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.models import build_conv_classifier, build_sequence_classifier
from seqrecipes.models.language import build_language_model
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


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_explicit_states_give_the_models_own_output(cell):
    model = build_language_model(VOCABULARY, cell=cell, units=(5, 4), dropout=0.5)
    batch = ids()
    logits, states = run_recurrent(model, batch)
    np.testing.assert_allclose(logits, convert_to_numpy(model(batch)), atol=1e-5)
    # Two chunks with the state carried read like one long sequence.
    first, carried = run_recurrent(model, batch[:, :3])
    second, _ = run_recurrent(model, batch[:, 3:], carried)
    np.testing.assert_allclose(np.concatenate([first, second], 1), logits, atol=1e-5)
    # ... and not like a fresh start.
    fresh, _ = run_recurrent(model, batch[:, 3:])
    assert np.abs(fresh - second).max() > 1e-4


def test_a_compiled_run_reads_the_weights_of_the_moment():
    """The run is compiled once per model; weights changed later (training) are the ones used."""
    model = compiled(build_language_model(VOCABULARY, cell="gru", units=4))
    batch = ids()
    before, _ = run_recurrent(model, batch)
    model.train_on_batch(batch, ids(seed=1))
    after, _ = run_recurrent(model, batch)
    assert np.abs(after - before).max() > 1e-4
    np.testing.assert_allclose(after, convert_to_numpy(model(batch)), atol=1e-5)


def test_recorded_states_are_named_and_end_in_the_final_states():
    model = build_language_model(VOCABULARY, cell="lstm", units=(5, 4))
    _, states, recorded = run_recurrent(model, ids(), record=True)
    assert state_names(model) == ["lstm_1/h", "lstm_1/c", "lstm_2/h", "lstm_2/c"]
    assert [values.shape for values in recorded] == [(3, 7, 5)] * 2 + [(3, 7, 4)] * 2
    flat = [state for layer in states for state in layer]
    for values, final in zip(recorded, flat):
        np.testing.assert_allclose(values[:, -1], final, atol=1e-6)


def test_sequence_loss_without_carry_matches_keras_on_windows():
    model = compiled(build_language_model(VOCABULARY, units=4))
    corpus = np.random.default_rng(0).integers(2, VOCABULARY, size=121).astype("int32")
    windows = language_model_dataset(corpus, sequence_length=10, batch_size=12)
    expected = model.evaluate(windows, verbose=0)
    result = sequence_loss(model, corpus, streams=12, sequence_length=10, carry_state=False)
    assert result["tokens"] == 120
    assert result["loss"] == pytest.approx(expected, rel=1e-5)


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="stateful models need TensorFlow (see seqrecipes.models.language); the carried "
    "loss itself is checked on every backend by the tests above",
)
def test_carried_loss_equals_the_stateful_model_read_in_order():
    weights_from = build_language_model(VOCABULARY, cell="gru", units=4)
    stateful = compiled(build_language_model(VOCABULARY, cell="gru", units=4, stateful=True,
                                             batch_size=3))
    stateful.set_weights(weights_from.get_weights())
    corpus = np.random.default_rng(1).integers(2, VOCABULARY, size=100).astype("int32")
    batches = language_model_dataset(corpus, sequence_length=4, batch_size=3, stateful=True)
    losses = [stateful.test_on_batch(np.asarray(x), np.asarray(y))  # state carried on
              for x, y in batches]
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


@pytest.mark.parametrize(
    "other", [lambda: build_sequence_classifier(VOCABULARY, 2, units=4),
              lambda: build_conv_classifier(VOCABULARY, 2, kernel_size=2)],
)
def test_only_language_models_run(other):
    with pytest.raises(InvalidArgumentError, match="build_language_model"):
        run_recurrent(other(), ids())


@pytest.mark.parametrize("bad", [np.zeros((2,), "int32"), np.zeros((2, 0), "int32"),
                                 np.zeros((2, 3), "float32")])
def test_ids_must_be_a_batch_of_id_rows(bad):
    with pytest.raises(InvalidArgumentError, match="`ids`"):
        run_recurrent(build_language_model(VOCABULARY, units=4), bad)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(streams=4, sequence_length=10), r"too few .* at least 41 \(streams=4, "),
        (dict(streams=0), "`streams` must be a positive integer"),
        (dict(sequence_length=0), "`sequence_length` must be a positive integer"),
    ],
)
def test_sequence_loss_names_its_own_arguments(kwargs, match):
    model = build_language_model(VOCABULARY, units=4)
    with pytest.raises(InvalidArgumentError, match=match):
        sequence_loss(model, np.arange(2, 40, dtype="int32") % VOCABULARY, **kwargs)

