"""ELMo-style contextual features: forward and backward language models, their layers mixed.

Peters et al. (2018), "Deep contextualized word representations": a forward language model
reads a sentence left to right and predicts the next word, a backward one reads it right to
left and predicts the previous word. After training, every layer j of the two (the token
embedding is layer 0) gives each word a state `[h_fwd_j ; h_bwd_j]`, and a downstream model
uses the frozen language models through a learned mix of those layers:

    ELMo_t = gamma * sum_j softmax(s)_j * [h_fwd_j,t ; h_bwd_j,t]

with only `s` (one scalar per layer) and `gamma` trained by the downstream task.

`build_bilm` is the training model: two `build_language_model` stacks (every layer returns
sequences, `wiring.return_sequences(n, "many_to_many")`) side by side, the backward one fed
the reversed sentences. `BiLMFeatures` is the Keras layer that holds copies of their
embeddings and recurrent layers, frozen, and computes the mix from token ids.

Layer 0 (the embedding) has the width `units` of the recurrent layers, so that every layer
can be mixed (ELMo projects its character CNN to the LSTM width for the same reason).
"""

import keras

from seqrecipes import _validation
from seqrecipes.models import wiring
from seqrecipes.models.embedding import Embedding
from seqrecipes.models.language import build_language_model, recurrent_layers
from seqrecipes.models.recurrent import LAYER_CLASSES


def build_bilm(vocabulary_size, *, cell="lstm", units=128, num_layers=2, dropout=0.0,
               name="bilm"):
    """Builds a forward and a backward word language model, trained together.

    Inputs are a dict: `"forward_ids"` `(batch, steps)` (a sentence without its last token,
    right-padded with 0) and `"backward_ids"` (the reversed sentence without its last token,
    i.e. without the first word, right-padded). Outputs are a dict of next-token logits
    `"forward"` and `"backward"` `(batch, steps, vocabulary_size)`; train them with
    `SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)` so padding never counts.
    Right padding needs no mask: a step never reads a later step of its own direction.

    Args:
        vocabulary_size: int. Number of token ids (padding 0 and OOV 1 included).
        cell: str. "lstm", "gru" or "simple_rnn". Defaults to "lstm".
        units: int. Width of the embedding and of every recurrent layer. Defaults to 128.
        num_layers: int. Recurrent layers per direction. Defaults to 2.
        dropout: float. Dropout after each recurrent layer (training only). Defaults to 0.
        name: str. The model's name.

    Returns:
        A functional `keras.Model` holding the Sequential models "forward" and "backward".

    Example:

    >>> model = build_bilm(20, units=4, num_layers=2)
    >>> {name: output.shape for name, output in sorted(model.output.items())}
    {'backward': (None, None, 20), 'forward': (None, None, 20)}
    """
    _validation.check_positive_int("vocabulary_size", vocabulary_size)
    _validation.check_choice("cell", cell, wiring.CELLS)
    _validation.check_positive_int("units", units)
    _validation.check_positive_int("num_layers", num_layers)
    _validation.check_fraction("dropout", dropout)
    _validation.check_string("name", name)
    inputs, outputs = {}, {}
    for direction in ("forward", "backward"):
        language_model = build_language_model(
            vocabulary_size, cell=cell, units=(units,) * num_layers, embedding_dim=units,
            dropout=dropout, name=direction,
        )
        inputs[f"{direction}_ids"] = keras.Input(
            shape=(None,), dtype="int32", name=f"{direction}_ids"
        )
        outputs[direction] = language_model(inputs[f"{direction}_ids"])
    return keras.Model(inputs, outputs, name=name)


def _describe(language_model):
    """(vocabulary_size, cell, units, num_layers) of a `build_language_model` model."""
    layers = recurrent_layers(language_model)
    cells = {cls: key for key, cls in LAYER_CLASSES.items()}
    return (
        language_model.get_layer("embedding").input_dim,
        cells[type(layers[0])],
        layers[0].units,
        len(layers),
    )


def reversal_index(token_ids):
    """Positions that reverse the non-padding part of each right-padded row, padding in place.

    Row `[a, b, c, 0, 0]` gives `[2, 1, 0, 3, 4]`; the index is its own inverse.
    """
    steps = keras.ops.shape(token_ids)[1]
    lengths = keras.ops.sum(keras.ops.cast(keras.ops.not_equal(token_ids, 0), "int32"), axis=1)
    lengths = keras.ops.expand_dims(lengths, 1)
    positions = keras.ops.expand_dims(keras.ops.arange(steps, dtype="int32"), 0)
    return keras.ops.where(positions < lengths, lengths - 1 - positions, positions)


def _reverse(values, index):
    if len(values.shape) == 3:
        index = keras.ops.broadcast_to(
            keras.ops.expand_dims(index, -1), keras.ops.shape(values)
        )
    return keras.ops.take_along_axis(values, index, axis=1)


@keras.saving.register_keras_serializable(package="seqrecipes")
class BiLMFeatures(keras.layers.Layer):
    """Contextual word features from frozen forward and backward language models (ELMo).

    Input: token ids `(batch, steps)` in the language models' vocabulary, right-padded with
    0 (as every seqrecipes pipeline pads). The forward stack reads each row as it is, the
    backward stack reads the non-padding part reversed, and layer j's states are
    concatenated, `[h_fwd_j ; h_bwd_j]` (layer 0 is the token embedding of each direction).
    Output: `gamma * sum_j softmax(mixing_weights)_j * layer_j`, `(batch, steps, 2 * units)`,
    zero at padding and carrying the mask `token_ids != 0`. A word's features depend only on
    the words of its own row, never on how much padding follows.

    The language models' weights are not trainable (build the layer with
    `BiLMFeatures.from_bilm(model)` to copy them from a trained `build_bilm` model); only
    `mixing_weights` (one per layer, zeros: an equal mix to start) and `gamma` (1) are.

    Args:
        vocabulary_size: int. The language models' number of token ids.
        cell: str. Their cell, "lstm", "gru" or "simple_rnn". Defaults to "lstm".
        units: int. Their width (embedding and every recurrent layer). Defaults to 128.
        num_layers: int. Recurrent layers per direction. Defaults to 2.
        **kwargs: `keras.layers.Layer` arguments (`name`, ...).

    Example:

    >>> features = BiLMFeatures(20, units=4, num_layers=2)
    >>> tuple(features(keras.ops.convert_to_tensor([[5, 6, 7, 0]])).shape)
    (1, 4, 8)
    >>> [weight.name for weight in features.trainable_weights]
    ['mixing_weights', 'gamma']
    """

    def __init__(self, vocabulary_size, *, cell="lstm", units=128, num_layers=2, **kwargs):
        super().__init__(**kwargs)
        _validation.check_positive_int("vocabulary_size", vocabulary_size)
        _validation.check_choice("cell", cell, wiring.CELLS)
        _validation.check_positive_int("units", units)
        _validation.check_positive_int("num_layers", num_layers)
        self.vocabulary_size, self.cell = vocabulary_size, cell
        self.units, self.num_layers = units, num_layers
        flags = wiring.return_sequences(num_layers, "many_to_many")
        self.forward_embedding = Embedding(
            vocabulary_size, units, trainable=False, name="forward_embedding"
        )
        self.backward_embedding = Embedding(
            vocabulary_size, units, trainable=False, name="backward_embedding"
        )
        self.forward_layers = [
            LAYER_CLASSES[cell](units, return_sequences=flag, trainable=False,
                                 name=f"forward_{cell}_{index + 1}")
            for index, flag in enumerate(flags)
        ]
        self.backward_layers = [
            LAYER_CLASSES[cell](units, return_sequences=flag, trainable=False,
                                 name=f"backward_{cell}_{index + 1}")
            for index, flag in enumerate(flags)
        ]

    @classmethod
    def from_bilm(cls, model, **kwargs):
        """A `BiLMFeatures` holding (copies of) the weights of a trained `build_bilm` model."""
        forward, backward = model.get_layer("forward"), model.get_layer("backward")
        vocabulary_size, cell, units, num_layers = _describe(forward)
        layer = cls(vocabulary_size, cell=cell, units=units, num_layers=num_layers, **kwargs)
        layer.build((None, None))
        for embedding, stack, language_model in (
            (layer.forward_embedding, layer.forward_layers, forward),
            (layer.backward_embedding, layer.backward_layers, backward),
        ):
            embedding.set_weights(language_model.get_layer("embedding").get_weights())
            for mine, trained in zip(stack, recurrent_layers(language_model)):
                mine.set_weights(trained.get_weights())
        return layer

    def build(self, input_shape):
        for embedding in (self.forward_embedding, self.backward_embedding):
            embedding.build(input_shape)
        for stack in (self.forward_layers, self.backward_layers):
            for layer in stack:
                layer.build((None, None, self.units))
        self.mixing_weights = self.add_weight(
            shape=(self.num_layers + 1,), initializer="zeros", name="mixing_weights"
        )
        self.gamma = self.add_weight(shape=(), initializer="ones", name="gamma")
        self.built = True

    def _states(self, token_ids, embedding, stack):
        states = [embedding(token_ids)]
        for layer in stack:
            states.append(layer(states[-1]))
        return states

    def layer_states(self, token_ids):
        """The `num_layers + 1` unmixed states `[h_fwd_j ; h_bwd_j]`, each `(b, steps, 2u)`."""
        token_ids = keras.ops.cast(token_ids, "int32")
        index = reversal_index(token_ids)
        forward = self._states(token_ids, self.forward_embedding, self.forward_layers)
        backward = self._states(
            _reverse(token_ids, index), self.backward_embedding, self.backward_layers
        )
        return [
            keras.ops.concatenate([f, _reverse(b, index)], axis=-1)
            for f, b in zip(forward, backward)
        ]

    def call(self, token_ids):
        states = keras.ops.stack(self.layer_states(token_ids), axis=0)  # (layers, b, t, 2u)
        weights = keras.ops.softmax(self.mixing_weights)
        mixed = keras.ops.einsum("l,lbtd->btd", weights, states) * self.gamma
        mask = keras.ops.cast(keras.ops.not_equal(token_ids, 0), mixed.dtype)
        return mixed * keras.ops.expand_dims(mask, -1)

    def compute_mask(self, token_ids, mask=None):
        return keras.ops.not_equal(token_ids, 0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, 2 * self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "cell": self.cell,
            "units": self.units,
            "num_layers": self.num_layers,
        }


def _bilm_features_formula(layer, d):
    # Two frozen language models (an Embedding V*u, then `num_layers` recurrent layers whose
    # input is u wide) plus the learned mix: one weight per layer and the embedding, and gamma.
    from seqrecipes.models.params import layer_formula

    recurrent = layer_formula(layer.forward_layers[0], layer.units)
    if recurrent is None:
        return None
    v, u, n = layer.vocabulary_size, layer.units, layer.num_layers
    return f"2*({v}*{u}+{n}*({recurrent}))+{n + 1}+1"


def _register():
    from seqrecipes.models.params import register_formula  # params does not import this module

    register_formula(BiLMFeatures, _bilm_features_formula)


_register()
