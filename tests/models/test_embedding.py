"""`models.Embedding` computes what Keras's does, and never reads a whole table to use a few rows.

The reason for the layer (and for `LazyAdam._gather`): once a table has been updated sparsely,
TensorFlow copies it on every dense read (`ReadVariableOp`), so a training step must touch it
only through `ResourceGather` and scatters. The graph tests below find the dense reads of a
traced step and name the variables they read.
"""

import json

import keras
import numpy as np
import pytest

from seqrecipes import models
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.models import Embedding, LazyAdam
from seqrecipes.models.lazy_adam import mark_row_sparse


def _pair(layer_class, mask_zero=True):
    keras.utils.set_random_seed(3)
    model = keras.Sequential([
        keras.Input((None,), dtype="int32"),
        layer_class(50, 6, mask_zero=mask_zero, name="embedding"),
        keras.layers.GRU(4), keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=LazyAdam(0.05), loss="binary_crossentropy")
    return model


def _batches():
    rng = np.random.default_rng(0)
    for length in (3, 7, 5):
        x = rng.integers(1, 50, size=(8, length))
        x[:2, -2:] = 0  # padding, masked
        x[3, :] = 7  # one token used many times in a batch
        yield x.astype("int32"), rng.integers(0, 2, size=(8, 1)).astype("float32")


def test_same_outputs_masks_and_training_as_keras_embedding():
    ours, theirs = _pair(Embedding), _pair(keras.layers.Embedding)
    theirs.set_weights(ours.get_weights())
    # On JAX only marked tables take LazyAdam's row update; Keras's table gets it too here,
    # so that both train the same way (on TensorFlow both give IndexedSlices).
    mark_row_sparse(theirs.layers[0].embeddings)
    x, _ = next(_batches())
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(ours.layers[0](x)),
                                  keras.ops.convert_to_numpy(theirs.layers[0](x)))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(ours.layers[0].compute_mask(x)),
                                  x != 0)
    for x, y in _batches():
        np.testing.assert_allclose(ours.train_on_batch(x, y), theirs.train_on_batch(x, y),
                                   rtol=1e-6)
    for mine, keras_weights in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(mine, keras_weights, rtol=1e-5, atol=1e-7)
    # the table did train: the rows used moved, an unused row did not
    table = ours.get_weights()[0]
    assert not np.allclose(table[7], _pair(Embedding).get_weights()[0][7])
    used = set(np.concatenate([x.ravel() for x, _ in _batches()]))
    unused = min(set(range(1, 50)) - used)
    np.testing.assert_array_equal(table[unused], _pair(Embedding).get_weights()[0][unused])


def test_saved_and_loaded_as_itself(tmp_path):
    model = _pair(Embedding)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.layers[0]) is Embedding
    x, _ = next(_batches())
    np.testing.assert_allclose(loaded.predict_on_batch(x), model.predict_on_batch(x), rtol=1e-6)


def _dense_reads(function, variables):
    """Paths of `variables` that the traced `function` reads whole (`ReadVariableOp`)."""
    graph = function.get_concrete_function().graph
    handles = {id(internal): external for external, internal in graph.captures}
    read = set()
    for op in graph.get_operations():
        if op.type == "ReadVariableOp":
            external = handles.get(id(op.inputs[0]))
            read.update(v.path for v in variables if external is v.value.handle)
    return read


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="TensorFlow only: its variables' copy-on-read mode and ResourceGather; JAX has "
    "no variables to read (Keras's own `call` runs there)",
)
def test_a_training_step_reads_no_table_whole():
    """Forward (gather), backward (IndexedSlices) and LazyAdam (gather, scatter): rows only."""
    model = _pair(Embedding)
    x, y = next(_batches())
    model.train_on_batch(x, y)  # builds the optimizer's moment tables
    optimizer = model.optimizer
    table = model.layers[0].embeddings
    index = optimizer._get_variable_index(table)
    tables = [table, optimizer._momentums[index], optimizer._velocities[index]]
    loss_fn = keras.losses.BinaryCrossentropy()

    import tensorflow as tf

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(gradients, model.trainable_variables)

    assert _dense_reads(step, tables) == set()
    # the check sees dense reads where they happen: Keras's own layer reads its table whole
    keras_model = _pair(keras.layers.Embedding)
    keras_model.build((None, None))
    keras_table = keras_model.layers[0].embeddings
    assert _dense_reads(tf.function(lambda: keras_model(x)), [keras_table]) == {
        keras_table.path}


def test_every_builder_uses_it():
    built = [
        models.build_sequence_classifier(30, 2, units=4),
        models.build_conv_classifier(30, 2, filters=4, kernel_size=(2, 3)),
        models.build_bag_classifier(30, 2),
        models.build_ner_tagger(30, 5, units=(4,)),
        models.build_language_model(30, units=(4,)),
    ]
    for model in built:
        embeddings = [layer for layer in model.layers
                      if isinstance(layer, keras.layers.Embedding)]
        assert embeddings and all(type(layer) is Embedding for layer in embeddings), model.name


# --- Initial tables (pretrained word vectors): `token_embedding` and the builders' arguments --

VOCABULARY, WIDTH = 12, 4
TABLE = np.arange(VOCABULARY * WIDTH, dtype="float32").reshape(VOCABULARY, WIDTH) / 100
BUILDERS = {  # each builder that makes an embedding, with the least it needs
    "sequence_classifier": lambda **kw: models.build_sequence_classifier(
        VOCABULARY, 2, embedding_dim=WIDTH, units=3, **kw),
    "sequence_tagger": lambda **kw: models.build_sequence_tagger(
        VOCABULARY, 3, embedding_dim=WIDTH, units=3, **kw),
    "recurrent_encoder": lambda **kw: models.build_recurrent_encoder(
        VOCABULARY, embedding_dim=WIDTH, units=3, **kw),
    "conv_classifier": lambda **kw: models.build_conv_classifier(
        VOCABULARY, 2, embedding_dim=WIDTH, filters=3, kernel_size=(2, 3), **kw),
    "bag_classifier": lambda **kw: models.build_bag_classifier(
        VOCABULARY, 2, embedding_dim=WIDTH, **kw),
    "ner_tagger": lambda **kw: models.build_ner_tagger(
        VOCABULARY, 3, embedding_dim=WIDTH, units=3, **kw),
}


def _table(model):
    return model.get_layer("embedding").get_weights()[0]


@pytest.mark.parametrize("builder", sorted(BUILDERS))
def test_every_builder_starts_from_the_table_as_weights_not_config(builder, tmp_path):
    model = BUILDERS[builder](embeddings=TABLE, train_embeddings=False)
    np.testing.assert_array_equal(_table(model), TABLE)
    layer = model.get_layer("embedding")
    assert layer.trainable is False and not layer.trainable_weights
    config = json.dumps(keras.saving.serialize_keras_object(model))
    assert "weights" not in json.dumps(layer.get_config()) and str(TABLE[5, 1]) not in config
    model.save(tmp_path / "model.keras")  # the table is saved as a weight, frozen as it was
    loaded = keras.saving.load_model(tmp_path / "model.keras", compile=False)
    np.testing.assert_array_equal(_table(loaded), TABLE)
    assert loaded.get_layer("embedding").trainable is False


def test_frozen_table_is_unchanged_by_lazy_adam_and_a_fine_tuned_one_changes():
    x, y = next(_batches())
    x = np.minimum(x, VOCABULARY - 1)
    for train_embeddings in (False, True):
        keras.utils.set_random_seed(3)
        model = models.build_sequence_classifier(
            VOCABULARY, 2, embedding_dim=WIDTH, units=3, embeddings=TABLE,
            train_embeddings=train_embeddings)
        model.compile(optimizer=LazyAdam(0.05), loss="binary_crossentropy")
        before = [w.copy() for w in model.get_weights()]
        model.fit(x, y, epochs=2, verbose=0)
        changed = not np.array_equal(_table(model), TABLE)
        assert changed is train_embeddings
        assert not np.array_equal(model.get_weights()[-1], before[-1])  # the head trains


@pytest.mark.parametrize("embeddings, message", [
    (TABLE[:, :3], r"\[12, 4\] matrix\. Received: embeddings of shape \(12, 3\)\. "
                   r"Pass embedding_dim=3\."),
    (TABLE[:5], r"Received: embeddings of shape \(5, 4\)\.$"),
    ("vectors.txt", "matrix of numbers .*Received: embeddings of type str"),
    (np.full((VOCABULARY, WIDTH), np.nan), "NaN or infinite values .*row 0"),
])
def test_a_table_of_the_wrong_shape_or_values_is_refused(embeddings, message):
    for builder in BUILDERS.values():
        with pytest.raises(InvalidArgumentError, match=message):
            builder(embeddings=embeddings)


def test_train_embeddings_must_be_a_bool_and_numeric_input_takes_no_table():
    with pytest.raises(InvalidArgumentError, match="`train_embeddings` must be True or False"):
        models.build_bag_classifier(VOCABULARY, embedding_dim=WIDTH, train_embeddings="no")
    with pytest.raises(InvalidArgumentError, match="not numeric input"):
        models.build_sequence_classifier(input_dim=3, embeddings=TABLE)
