import keras
import numpy as np
import pytest

from seqrecipes import models
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.models import params
from seqrecipes.recipes.engine.backend import BACKENDS as TRAINING_BACKENDS

CELLS = ["simple_rnn", "lstm", "gru"]
VOCABULARY, EMBEDDING = 20, 4


def closed_form(cell, d, u):
    """The DESIGN.md formulas, written out again here so the test does not trust params.py."""
    one = u * (d + u) + u
    return {"simple_rnn": one, "lstm": 4 * one, "gru": 3 * (u * (d + u) + 2 * u)}[cell]


def check_table(model):
    table = params.parameter_table(model)
    assert "no formula" not in set(table["formula"])
    assert (table["count"] == table["keras_count"]).all(), table
    assert table.attrs["formula_total"] == table.attrs["total"] == model.count_params()
    assert table.attrs["mismatched"] == [] and table.attrs["no_formula"] == []
    return table


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("task", ["classifier", "tagger"])
def test_matrix_formulas_equal_keras(cell, bidirectional, depth, task):
    units = tuple(range(4, 4 + depth))
    builder = models.build_sequence_classifier if task == "classifier" else (
        models.build_sequence_tagger
    )
    model = builder(VOCABULARY, 3, embedding_dim=EMBEDDING, cell=cell, units=units,
                    bidirectional=bidirectional)
    table = check_table(model)
    assert len(table) == len(model.layers)
    directions = 2 if bidirectional else 1
    expected, width = VOCABULARY * EMBEDDING, EMBEDDING
    for u in units:
        expected += directions * closed_form(cell, width, u)
        width = directions * u
    expected += (width + 1) * 3  # the Dense head on the last width
    assert model.count_params() == expected
    recurrent = table[table["class"].str.contains("RNN|LSTM|GRU")]
    assert recurrent["formula"].str.startswith("2*(").all() == bidirectional
    assert recurrent["input_width"].tolist() == [EMBEDDING] + [directions * u for u in units[:-1]]


def test_lstm_formula_reads_like_the_textbook():
    model = keras.Sequential([keras.Input((None, 100)), keras.layers.LSTM(128, name="lstm")])
    row = params.parameter_table(model).iloc[0]
    assert row["formula"] == "4*(128*(100+128)+128)"
    assert row["count"] == row["keras_count"] == 117248
    assert row["input_width"] == 100 and row["output_shape"] == "(None, 128)"


@pytest.mark.parametrize("kernel_size", [3, (3, 4, 5)])
def test_conv_classifier_formulas(kernel_size):
    model = models.build_conv_classifier(VOCABULARY, 3, embedding_dim=EMBEDDING, filters=4,
                                         kernel_size=kernel_size)
    table = check_table(model)
    sizes = (kernel_size,) if isinstance(kernel_size, int) else kernel_size
    conv = table[table["class"] == "MaskedConv1D"]
    assert conv["formula"].tolist() == [f"({k}*{EMBEDDING}+1)*4" for k in sizes]
    expected = VOCABULARY * EMBEDDING + sum((k * EMBEDDING + 1) * 4 for k in sizes)
    assert model.count_params() == expected + (4 * len(sizes) + 1) * 3


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("task", ["classifier", "tagger"])
def test_numeric_input(cell, task):
    builder = models.build_sequence_classifier if task == "classifier" else (
        models.build_sequence_tagger
    )
    model = builder(None, 3, input_dim=3, cell=cell, units=4)
    table = check_table(model)
    assert table.iloc[0]["class"] == "Masking" and table.iloc[0]["count"] == 0
    assert table.attrs["embedding"] == 0
    assert table.iloc[1]["input_width"] == 3


@pytest.mark.parametrize(
    "reset_after, formula, count",
    [(True, "3*(4*(3+4)+2*4)", 108), (False, "3*(4*(3+4)+4)", 96)],
)
def test_gru_reset_after_adds_a_second_bias(reset_after, formula, count):
    layer = keras.layers.GRU(4, reset_after=reset_after, name="gru")
    model = keras.Sequential([keras.Input((None, 3)), layer])
    row = params.parameter_table(model).iloc[0]
    assert (row["formula"], row["count"], row["keras_count"]) == (formula, count, count)


@pytest.mark.parametrize(
    "layer, input_shape, formula",
    [
        (keras.layers.SimpleRNN(4, use_bias=False), (None, 3), "4*(3+4)"),
        (keras.layers.LSTM(4, use_bias=False), (None, 3), "4*4*(3+4)"),
        (keras.layers.GRU(4, use_bias=False), (None, 3), "3*4*(3+4)"),
        (keras.layers.Dense(5, use_bias=False), (3,), "3*5"),
        (keras.layers.Conv1D(6, 3, use_bias=False), (None, 4), "3*4*6"),
        (keras.layers.Conv1D(6, 3, groups=2), (None, 4), "(3*2+1)*6"),
        (keras.layers.TimeDistributed(keras.layers.Dense(5)), (None, 3), "(3+1)*5"),
        (keras.layers.Bidirectional(keras.layers.LSTM(2), backward_layer=keras.layers.LSTM(
            3, go_backwards=True)), (None, 3), "(4*(2*(3+2)+2))+(4*(3*(3+3)+3))"),
        (keras.layers.GlobalAveragePooling1D(), (None, 3), "0"),
    ],
)
def test_variants(layer, input_shape, formula):
    model = keras.Sequential([keras.Input(input_shape), layer])
    table = check_table(model)
    assert table.iloc[0]["formula"] == formula


class Scale(keras.layers.Layer):
    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), name="scale")

    def call(self, inputs):
        return inputs * self.scale


class WiderDense(keras.layers.Dense):
    def build(self, input_shape):
        super().build(input_shape)
        self.extra = self.add_weight(shape=(self.units,), name="extra")


@pytest.mark.parametrize("layer", [Scale(name="custom"), WiderDense(3, name="custom")])
def test_unknown_layer_gets_no_formula_not_a_guess(layer):
    model = keras.Sequential([keras.Input((None, 3)), layer, keras.layers.Dense(2)])
    table = params.parameter_table(model)
    row = table.iloc[0]
    assert row["formula"] == "no formula"
    assert table["count"].isna().tolist() == [True, False]
    assert row["keras_count"] == layer.count_params() > 0
    assert table.attrs["formula_total"] is None
    assert table.attrs["no_formula"] == ["custom"]
    assert table.attrs["total"] == model.count_params()


def test_register_formula(monkeypatch):
    monkeypatch.setattr(params, "_FORMULAS", dict(params._FORMULAS))
    params.register_formula(Scale, lambda layer, d: f"{d}")
    model = keras.Sequential([keras.Input((None, 3)), Scale(name="scale")])
    check_table(model)
    # A wrong formula is shown as a mismatch, never hidden.
    params.register_formula(Scale, lambda layer, d: f"{d}+1")
    assert params.parameter_table(model).attrs["mismatched"] == ["scale"]


@pytest.mark.parametrize(
    "layer_class, formula, match",
    [(int, lambda layer, d: "0", "`layer_class`"), (Scale, "3", "`formula`")],
)
def test_register_formula_rejects_bad_arguments(layer_class, formula, match):
    with pytest.raises(InvalidArgumentError, match=match):
        params.register_formula(layer_class, formula)


@pytest.mark.parametrize("formula", ["__import__('os')", "2**8", "1/2", "4*("])
def test_formulas_are_arithmetic_only(formula):
    with pytest.raises(InvalidArgumentError, match="formula"):
        params.evaluate_formula(formula)


@pytest.mark.parametrize("builder", ["classifier", "conv"])
def test_count_does_not_grow_with_sequence_length(builder):
    def build(length):
        if builder == "conv":
            return models.build_conv_classifier(VOCABULARY, 3, filters=4, kernel_size=(3, 5),
                                                sequence_length=length)
        return models.build_sequence_classifier(VOCABULARY, 3, cell="lstm", units=(4, 4),
                                                bidirectional=True, sequence_length=length)

    assert build(10).count_params() == build(1000).count_params()
    model = build(None)
    counts = params.counts_by_length(model, (10, 1000))
    assert counts == {10: model.count_params(), 1000: model.count_params()}
    assert "does not grow with sequence length" in params.length_statement(counts)


def test_length_statement_reports_a_model_that_does_grow():
    model = keras.Sequential([
        keras.Input((7, 3)), keras.layers.LSTM(4, return_sequences=True),
        keras.layers.Flatten(), keras.layers.Dense(2),
    ])
    counts = params.counts_by_length(model, (10, 1000))
    assert counts[10] < counts[1000]
    assert "changes with sequence length" in params.length_statement(counts)


def test_counts_by_length_needs_a_time_axis():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(InvalidArgumentError, match="no time axis"):
        params.counts_by_length(model)
    text = keras.Input(shape=(), dtype="string", name="text")  # raw text, no vectorizer
    lookup = keras.layers.StringLookup(vocabulary=["a"], output_mode="one_hot")(text)
    with pytest.raises(InvalidArgumentError, match="'text' .*no time axis|no time axis"):
        params.counts_by_length(keras.Model(text, keras.layers.Dense(2)(lookup)))


def text_model(*, flatten=False):
    """Raw texts (batch,) -> TextVectorization -> a nested token-id model, as recipes save.

    With `flatten`, texts are cut to 5 tokens and the nested model ends in Flatten and Dense,
    whose count grows with the number of steps.
    """
    length = 5 if flatten else None
    vectorizer = keras.layers.TextVectorization(output_sequence_length=length,
                                                name="text_vectorizer")
    vectorizer.adapt(["a good film", "a bad film"])
    core = keras.Sequential([
        keras.Input((length,), dtype="int32", name="token_ids"),
        keras.layers.Embedding(VOCABULARY, EMBEDDING, name="embedding"),
        keras.layers.Flatten(name="pool") if flatten else (
            keras.layers.GlobalAveragePooling1D(name="pool")
        ),
        keras.layers.Dense(2, name="head"),
    ], name="core")
    text = keras.Input(shape=(), dtype="string", name="text")
    return keras.Model(text, core(vectorizer(text)))


def test_raw_text_steps_are_the_token_ids_after_the_vectorizer():
    model = text_model()
    table = check_table(model)  # the string input and the vectorizer count 0, no guess
    assert table["layer"].tolist() == ["text", "text_vectorizer", "core/embedding",
                                       "core/pool", "core/head"]
    assert params.time_axes(model) == ["the token ids out of 'text_vectorizer'"]
    assert params.counts_by_length(model) == {10: model.count_params(),
                                              1000: model.count_params()}


def test_raw_text_length_reaches_the_layers_after_the_vectorizer():
    # Flatten before Dense makes the count depend on the steps: only if the vectorizer's
    # output length is what varies do the two counts differ, by the Dense's extra rows.
    counts = params.counts_by_length(text_model(flatten=True), (10, 1000))
    assert counts[1000] - counts[10] == (1000 - 10) * EMBEDDING * 2


def test_token_strings_and_vectors_beside_a_sequence():
    tokens = keras.Input((None,), dtype="string", name="tokens")
    lookup = keras.layers.StringLookup(vocabulary=["a", "b"], name="token_lookup")
    words = keras.layers.Embedding(VOCABULARY, EMBEDDING)(lookup(tokens))
    vector = keras.Input((3,), name="vector")  # one per example: no steps, kept as it is
    state = keras.layers.Dense(4, name="initial_h")(vector)
    outputs = keras.layers.GRU(4, name="gru")(words, initial_state=state)
    model = keras.Model([tokens, vector], outputs)
    check_table(model)
    assert params.time_axes(model) == ["input 'tokens'"]
    assert params.counts_by_length(model, (10, 1000)) == {10: model.count_params(),
                                                         1000: model.count_params()}


def test_a_custom_layer_without_weights_counts_0():
    class Halve(keras.layers.Layer):
        def call(self, inputs):
            return inputs / 2

    model = keras.Sequential([keras.Input((None, 3)), Halve(name="halve"), keras.layers.LSTM(2)])
    assert check_table(model).iloc[0]["formula"] == "0"


def test_nested_model_rows_add_up():
    inner = keras.Sequential([keras.layers.LSTM(4, name="lstm")], name="inner")
    model = keras.Sequential([keras.Input((None, 3)), inner, keras.layers.Dense(2, name="head")])
    table = check_table(model)
    assert table["layer"].tolist() == ["inner/lstm", "head"]


def test_frozen_embedding_is_counted_as_non_trainable():
    model = models.build_sequence_classifier(VOCABULARY, 3, embedding_dim=EMBEDDING, units=4)
    model.get_layer("embedding").trainable = False
    table = check_table(model)
    assert table.loc[table["layer"] == "embedding", "trainable"].item() is False
    assert table.attrs["non_trainable"] == table.attrs["embedding"] == VOCABULARY * EMBEDDING
    assert table.attrs["trainable"] + table.attrs["non_trainable"] == model.count_params()


def test_unbuilt_model_and_non_model_are_refused():
    with pytest.raises(InvalidArgumentError, match="not built"):
        params.parameter_table(keras.Sequential([keras.layers.Dense(2)]))
    with pytest.raises(InvalidArgumentError, match="`model` must be a keras.Model"):
        params.parameter_table(keras.layers.Dense(2))


# --- wiring diagnosis -------------------------------------------------------------------------


def broken_stack(cell=keras.layers.LSTM, bidirectional=False, depth=2):
    def recurrent(name):
        layer = cell(4, name=name)
        return keras.layers.Bidirectional(layer, name=name) if bidirectional else layer

    return [keras.Input((None,)), keras.layers.Embedding(VOCABULARY, 4, name="embedding")] + [
        recurrent(f"rnn_{index}") for index in range(depth)
    ] + [keras.layers.Dense(2, name="head")]


@pytest.mark.parametrize("cell", [keras.layers.LSTM, keras.layers.GRU, keras.layers.SimpleRNN])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_classic_broken_sequential_is_explained(cell, bidirectional):
    layers = broken_stack(cell, bidirectional)
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=2") as caught:
        keras.Sequential(layers)
    assert "'rnn_1'" in str(caught.value)  # Keras names the layer that receives the input
    explanation = models.explain_build_error(caught.value, layers)
    assert explanation.startswith("'rnn_0'")  # we name the one to change
    assert "return_sequences=True" in explanation and "Wiring rule" in explanation
    if bidirectional:
        assert f"to the {cell.__name__} inside 'rnn_0'" in explanation
    [finding] = models.diagnose_wiring(layers)
    assert (finding.kind, finding.layer, finding.consumer) == (
        "final_output_feeds_sequence_layer", "rnn_0", "rnn_1")


def test_every_break_in_a_deep_stack_is_reported():
    findings = models.diagnose_wiring(broken_stack(depth=3))
    assert [(f.layer, f.consumer) for f in findings] == [("rnn_0", "rnn_1"), ("rnn_1", "rnn_2")]


def test_final_output_into_conv1d_and_through_dropout():
    layers = [keras.Input((None, 3)), keras.layers.GRU(4, name="gru"),
              keras.layers.Dropout(0.1), keras.layers.Conv1D(2, 3, name="conv")]
    [finding] = models.diagnose_wiring(layers)
    assert (finding.layer, finding.consumer) == ("gru", "conv")


def test_tagger_whose_last_layer_drops_the_steps():
    layers = broken_stack(bidirectional=True, depth=1)
    keras.Sequential(layers)  # builds without complaint ...
    [finding] = models.diagnose_wiring(layers, task="many_to_many")  # ... but is no tagger
    assert (finding.kind, finding.layer, finding.consumer) == ("tagger_drops_steps", "rnn_0",
                                                               "head")
    assert "one per step" in finding.message and "return_sequences=True" in finding.fix


@pytest.mark.skipif(keras.backend.backend() not in TRAINING_BACKENDS,
                    reason="reads the fit error of the backends seqrecipes trains on; PyTorch's "
                    "words differ")
def test_dense_on_3d_input_where_2d_was_meant():
    layers = [keras.Input((None,)), keras.layers.Embedding(VOCABULARY, 4),
              keras.layers.LSTM(4, return_sequences=True, name="lstm"),
              keras.layers.Dense(3, activation="softmax", name="head")]
    model = keras.Sequential(layers)
    [finding] = models.diagnose_wiring(model, task="many_to_one")
    assert (finding.kind, finding.layer, finding.consumer) == ("dense_on_sequences", "lstm",
                                                               "head")
    assert "return_sequences=False to 'lstm'" in finding.fix and "pooling" in finding.fix
    # The mistake surfaces only in fit; the explanation infers the task from Keras's error.
    model.compile(loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="target.shape") as caught:
        model.fit(np.array([[3, 4, 5]]), np.array([1]), verbose=0)
    assert "return_sequences=False to 'lstm'" in models.explain_build_error(caught.value, model)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("task", ["many_to_one", "many_to_many"])
def test_builders_pass_the_diagnosis(cell, bidirectional, task):
    builder = models.build_sequence_classifier if task == "many_to_one" else (
        models.build_sequence_tagger
    )
    model = builder(VOCABULARY, 3, cell=cell, units=(4, 4, 4), bidirectional=bidirectional)
    assert models.diagnose_wiring(model, task=task) == []


def test_unrelated_errors_are_not_explained():
    assert models.explain_build_error(ValueError("out of memory"), broken_stack()) is None


@pytest.mark.parametrize(
    "argument, kwargs, match",
    [
        ("functional", {}, "follows a chain of layers"),
        ("string", {}, "`model_or_layers` must be"),
        ("layers", {"task": "one_to_many"}, "`task` must be one of"),
    ],
)
def test_diagnosis_bad_arguments(argument, kwargs, match):
    value = {
        "functional": models.build_recurrent_encoder(VOCABULARY, units=4),
        "string": "lstm",
        "layers": broken_stack(),
    }[argument]
    with pytest.raises(InvalidArgumentError, match=match):
        models.diagnose_wiring(value, **kwargs)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("num_layers", [1, 2])
def test_bilm_features_formula(cell, num_layers):
    features = models.BiLMFeatures(VOCABULARY, cell=cell, units=3, num_layers=num_layers,
                                   name="bilm_features")
    inputs = keras.Input((None,), dtype="int32")
    model = keras.Model(inputs, keras.layers.Dense(2)(features(inputs)))
    table = check_table(model)
    row = table.set_index("layer").loc["bilm_features"]
    one = closed_form(cell, 3, 3)
    assert row["count"] == 2 * (VOCABULARY * 3 + num_layers * one) + num_layers + 2
