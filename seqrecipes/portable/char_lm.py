"""A char-LM export served without TensorFlow: one step at a time, the states carried outside.

`seqrecipes char-lm export RUN DIR --format onnx|litert` writes the language model's step
graph (`seqrecipes.models.stepping.build_step_model`): the id of one character and every
recurrent state in, the next character's logits and the new states out. `CharLM` carries the
states between calls, so generating n characters costs n steps, and samples as the recipe's
`sample` does (`seqrecipes.sampling`, the same NumPy generator for the same seed).

The recipe reads a prompt in one call over all its characters, the reader one character at a
time: the same arithmetic per step, so the logits agree to float32 rounding (bench:
`bench/portable_export_ner.py`), and a sampled text is the same unless a draw falls within
that rounding of a boundary between two characters.
"""

import re

import numpy as np

from seqrecipes import _validation
from seqrecipes.portable.runtime import Session
from seqrecipes.sampling import check_prompt, next_token_distribution

FORBIDDEN = (0, 1)  # padding and unknown (seqrecipes.ids): never generated


def _position(name):
    # Keras's exporters name the outputs in order: "Identity:0", "Identity_1:0", ... (ONNX)
    # and "output_0", "output_1", ... (LiteRT).
    found = re.search(r"_(\d+)(?::\d+)?$", name)
    return int(found.group(1)) if found else 0


class CharLM:
    """Steps and samples the graph of a char-LM export.

    Args:
        export_dir: pathlib.Path. The export folder.
        description: dict. Its `seqrecipes.json`.
        threads: int or None. The runtime's intra-op threads (None: its default).
    """

    def __init__(self, export_dir, description, *, threads=None):
        self.description = description
        self.vocabulary = description["vocabulary"]
        self.state_names = description["state_names"]
        self.session = Session(export_dir, description, threads=threads)
        sizes = {spec["name"]: spec["shape"][-1] for spec in description["inputs"]}
        self.state_sizes = [sizes[name] for name in self.state_names]
        # Outputs: logits, then the states in `state_names` order.
        order = sorted(range(len(description["outputs"])),
                       key=lambda i: _position(description["outputs"][i]["name"]))
        self._order = order

    def zero_states(self, batch_size=1):
        """Zero states for `batch_size` streams: one float32 array per state name."""
        return [np.zeros((batch_size, size), "float32") for size in self.state_sizes]

    def step(self, ids, states=None):
        """One step: ids `(batch,)` and states -> `(logits (batch, vocabulary), states)`."""
        ids = np.asarray(ids, "int32").reshape(-1, 1)
        if states is None:
            states = self.zero_states(len(ids))
        feeds = {"token_ids": ids, **dict(zip(self.state_names, states))}
        outputs = self.session.run(feeds)
        outputs = [outputs[i] for i in self._order]
        return outputs[0], outputs[1:]

    def logits(self, ids, states=None):
        """Runs `ids` `(batch, steps)` step by step: `(logits (batch, steps, V), states)`."""
        ids = np.asarray(ids, "int32")
        steps = []
        for column in range(ids.shape[1]):
            logits, states = self.step(ids[:, column], states)
            steps.append(logits)
        return np.stack(steps, axis=1), states

    def encode(self, text):
        """Character ids of `text` (unknown characters: 1)."""
        index = {char: i for i, char in enumerate(self.vocabulary)}
        return [index.get(char, 1) for char in text]

    def sample(self, prompt="\n", *, length=500, temperature=1.0, top_k=None, seed=None):
        """Generates `length` characters after `prompt`, as `char-lm sample` does.

        Returns:
            The generated text (without the prompt).
        """
        _validation.check_positive_int("length", length)
        _validation.check_positive_float("temperature", temperature)
        _validation.check_positive_int("top_k", top_k, allow_none=True)
        check_prompt(prompt, self.vocabulary)
        rng = np.random.default_rng(seed)
        states = None
        for token in self.encode(prompt):
            logits, states = self.step([token], states)
        generated = []
        for _ in range(length):
            probabilities = next_token_distribution(
                logits[0], temperature=temperature, top_k=top_k, forbidden=FORBIDDEN)
            token = int(rng.choice(len(probabilities), p=probabilities))
            generated.append(token)
            logits, states = self.step([token], states)
        return "".join(self.vocabulary[token] for token in generated)


def load(export_dir, description, *, threads=None):
    """The `CharLM` of a char-LM export (`seqrecipes.portable.load` calls this)."""
    return CharLM(export_dir, description, threads=threads)
