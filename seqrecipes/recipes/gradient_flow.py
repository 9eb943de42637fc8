"""Gradient-flow recipe: vanishing gradients through time, and what clipping does to exploding ones.

    seqrecipes gradient-flow --steps 100 --units 32

One batch of random sequences goes through a SimpleRNN, an LSTM and a GRU (Keras's default
initialisation, same `units`), each followed by a `Dense(1)` head; the loss is the squared
error of the head on the *last* step. `tf.GradientTape` gives d(loss)/d(input at step t) for
every t, and `gradient_flow.png` plots its norm against t on a log scale: how much the last
step's error can still teach the first steps. Two more networks show why gates help: an LSTM
whose forget gate and a GRU whose update gate are biased to keep the state (`keep_bias`), the
regime training can reach and a SimpleRNN has no gate for. A sixth, a SimpleRNN whose
recurrent kernel is scaled to a spectral radius above 1, makes the norm *grow* going back in
time (exploding); `clipping.png` shows it and, for a sweep of spectral radii, the
weight-gradient norm before and after `tf.clip_by_global_norm` and the largest update an
`SGD(clipnorm=...)` step actually makes: clipping bounds the step, whatever the raw norm.

Nothing is trained. The run directory holds the six networks as one `model.keras` (the exact
weights behind the figures), `metrics.json` (the per-step norms, the sweep and the summary
table, also in `table.txt`) and the two figures.
"""

import dataclasses
import pathlib

import numpy as np

from seqrecipes import _validation
from seqrecipes.models import wiring
from seqrecipes.recipes.engine import artifacts as _artifacts
from seqrecipes.recipes.engine import flags as _cli
from seqrecipes.recipes.engine import plots as _plots
from seqrecipes.recipes.engine import training as _training

RECIPE = "gradient-flow"
CELLS = ("simple_rnn", "lstm", "gru")
# LSTM and GRU with the gate that keeps the state (LSTM's forget gate, GRU's update gate z)
# biased open: the regime training can reach and a SimpleRNN has no gate for.
KEEPING = {"lstm_keep": "lstm", "gru_keep": "gru"}
EXPLODING = "exploding_simple_rnn"
BRANCHES = {**{cell: cell for cell in CELLS}, **KEEPING, EXPLODING: "simple_rnn"}
SWEEP = tuple(np.round(np.arange(0.5, 3.51, 0.25), 2).tolist())  # spectral radii for clipping


@dataclasses.dataclass
class GradientFlowResult:
    """What `run` produced."""

    run_dir: pathlib.Path
    metrics: dict
    table: str


def _build(steps, input_dim, units, spectral_radius, keep_bias):
    """One input, one recurrent branch per entry of `BRANCHES`, each with a `Dense(1)` head."""
    import keras

    from seqrecipes.models.recurrent import recurrent_layer

    inputs = keras.Input(shape=(steps, input_dim), name="sequence")
    last_only = wiring.return_sequences(1, "many_to_one")[0]  # the head reads the last step
    outputs = []
    for name, cell in BRANCHES.items():
        hidden = recurrent_layer(cell, units, return_sequences=last_only, name=name)(inputs)
        outputs.append(keras.layers.Dense(1, name=f"{name}_head")(hidden))
    model = keras.Model(inputs, outputs, name="gradient_flow")
    _set_spectral_radius(model.get_layer(EXPLODING), spectral_radius)
    for name in KEEPING:
        _set_keep_bias(model.get_layer(name), keep_bias)
    return model


def _set_keep_bias(layer, value):
    """Sets the bias of LSTM's forget gate (gates i, f, c, o) or GRU's update gate (z, r, h)."""
    import keras

    cell, units = layer.cell, layer.cell.units
    bias = keras.ops.convert_to_numpy(cell.bias).copy()
    if isinstance(cell, keras.layers.LSTMCell):
        bias[units : 2 * units] = value
    elif bias.ndim == 2:  # GRU with reset_after=True: input and recurrent biases, summed
        bias[0, :units], bias[1, :units] = value, 0.0
    else:
        bias[:units] = value
    cell.bias.assign(bias)


def _set_spectral_radius(layer, radius):
    """Scales the recurrent kernel so that its largest |eigenvalue| is `radius`."""
    import keras

    kernel = layer.cell.recurrent_kernel
    value = keras.ops.convert_to_numpy(kernel)
    kernel.assign(value * (radius / np.max(np.abs(np.linalg.eigvals(value)))))


def _input_gradient_norms(model, x, target):
    """Returns {branch: norm of d(loss)/d(x_t) for t = 0..T-1, averaged over sequences}."""
    import tensorflow as tf

    @tf.function  # one graph: far faster than running the recurrent loops op by op
    def per_step_norms(x, target):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            losses = [tf.reduce_mean((output - target) ** 2) for output in model(x)]
        norms = []
        for loss in losses:
            gradient = tf.cast(tape.gradient(loss, x), tf.float64)  # float64: no underflow
            per_step = tf.norm(gradient, axis=-1)  # in the squares of gradients below 1e-19
            norms.append(tf.reduce_mean(per_step, axis=0))
        return norms

    names = [name.removesuffix("_head") for name in model.output_names]
    return {name: norm.numpy() for name, norm in zip(names, per_step_norms(x, target))}


def _clipping_sweep(model, x, target, clip_norm):
    """Weight-gradient norms of the exploding branch for each spectral radius in `SWEEP`."""
    import keras

    import tensorflow as tf

    layer, head = model.get_layer(EXPLODING), model.get_layer(f"{EXPLODING}_head")
    variables = layer.trainable_variables + head.trainable_variables
    original = [keras.ops.convert_to_numpy(v) for v in variables]
    branch = keras.Model(model.input, model.get_layer(f"{EXPLODING}_head").output)
    sweep = {"spectral_radius": list(SWEEP), "raw_global_norm": [],
             "clipped_global_norm": [], "sgd_clipnorm_largest_update": []}

    @tf.function  # reads the variables' current values at each call
    def weight_gradients(x, target):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((branch(x) - target) ** 2)
        return tape.gradient(loss, variables)

    for radius in SWEEP:
        _set_spectral_radius(layer, radius)
        gradients = weight_gradients(x, target)
        clipped, raw_norm = tf.clip_by_global_norm(gradients, clip_norm)
        # The optimizer's own clipping, measured: one SGD step on copies of the weights.
        copies = [keras.Variable(v) for v in variables]
        optimizer = keras.optimizers.SGD(learning_rate=1.0, clipnorm=clip_norm)
        optimizer.apply(gradients, copies)
        updates = [np.linalg.norm(keras.ops.convert_to_numpy(c) - keras.ops.convert_to_numpy(v))
                   for c, v in zip(copies, variables)]
        sweep["raw_global_norm"].append(float(raw_norm))
        sweep["clipped_global_norm"].append(float(tf.linalg.global_norm(clipped)))
        sweep["sgd_clipnorm_largest_update"].append(float(max(updates)))
        for variable, value in zip(variables, original):
            variable.assign(value)
    return sweep


def _summary(norms):
    first, last = float(norms[0]), float(norms[-1])
    ratio = first / last if last > 0 else float("nan")
    return {
        "norm_first_step": first,
        "norm_last_step": last,
        "ratio_first_to_last": ratio,
        # The geometric mean of the per-step change going back in time (< 1: vanishing).
        "factor_per_step": ratio ** (1 / (len(norms) - 1)) if ratio > 0 else 0.0,
    }


def _table(summaries, steps):
    lines = [f"{'network':<22}{'|dL/dx_0|':>12}{f'|dL/dx_{steps - 1}|':>13}"
             f"{'ratio':>11}{'per step':>10}"]
    for name, row in summaries.items():
        lines.append(f"{name:<22}{row['norm_first_step']:>12.3e}{row['norm_last_step']:>13.3e}"
                     f"{row['ratio_first_to_last']:>11.2e}{row['factor_per_step']:>10.3f}")
    return "\n".join(lines)


def _flow_figure(norms, steps, keep_bias):
    plt = _plots.pyplot()

    figure, axis = plt.subplots(figsize=(7.5, 4.2))
    colors = {"simple_rnn": "tab:blue", "lstm": "tab:orange", "gru": "tab:green"}
    for name in CELLS:
        axis.semilogy(range(steps), norms[name], color=colors[name],
                      label=f"{name} (Keras default initialisation)")
    for name, cell in KEEPING.items():
        gate = "forget" if cell == "lstm" else "update (z)"
        axis.semilogy(range(steps), norms[name], color=colors[cell], linestyle="--",
                      label=f"{cell}, {gate} gate bias {keep_bias:g}")
    axis.set_xlabel("input step t (the loss is on the last step)")
    axis.set_ylabel("||d loss / d x_t||")
    axis.set_title(f"Gradient flow through {steps} steps (untrained networks)")
    axis.grid(alpha=0.3, which="both")
    axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


def _clipping_figure(norms, sweep, steps, spectral_radius, clip_norm):
    plt = _plots.pyplot()

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.semilogy(range(steps), norms["simple_rnn"], label="simple_rnn (default init)")
    left.semilogy(range(steps), norms[EXPLODING],
                  label=f"simple_rnn, spectral radius {spectral_radius:g}")
    left.set_xlabel("input step t (the loss is on the last step)")
    left.set_ylabel("||d loss / d x_t||")
    left.set_title("Exploding: the norm grows going back in time")
    right.semilogy(sweep["spectral_radius"], sweep["raw_global_norm"], marker="o",
                   label="raw gradient (global norm)")
    right.semilogy(sweep["spectral_radius"], sweep["clipped_global_norm"], marker="s",
                   label="tf.clip_by_global_norm")
    right.semilogy(sweep["spectral_radius"], sweep["sgd_clipnorm_largest_update"], "x",
                   markersize=9, label="SGD(clipnorm) step / learning rate (largest weight)")
    right.axhline(clip_norm, color="gray", linestyle="--", label=f"clip norm {clip_norm:g}")
    right.set_xlabel("spectral radius of the recurrent kernel")
    right.set_ylabel("norm")
    right.set_title("Clipping bounds the update")
    for axis in (left, right):
        axis.grid(alpha=0.3, which="both")
        axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


@_training.releases_locks
def run(
    *,
    steps=100,
    units=32,
    input_dim=8,
    num_sequences=16,
    spectral_radius=3.0,
    keep_bias=3.0,
    clip_norm=10.0,
    run_dir="runs/gradient-flow",
    overwrite=False,
    seed=1234,
    verbose=1,
):
    """Measures gradient flow through time and writes the run directory.

    Args:
        steps: int. Sequence length T. Defaults to 100.
        units: int. Width of every recurrent layer. Defaults to 32.
        input_dim: int. Features per step. Defaults to 8.
        num_sequences: int. Random sequences (standard normal) the norms are averaged over.
        spectral_radius: float. Of the exploding SimpleRNN's recurrent kernel. Defaults to 3.
        keep_bias: float. Bias of the LSTM's forget gate and the GRU's update gate in the
            `lstm_keep` / `gru_keep` networks (sigmoid(3) = 0.95 of the state kept per step).
        clip_norm: float. The clipping threshold shown. Defaults to 10, between the raw
            gradient norms of small and large spectral radii, so both regimes show.
        run_dir, overwrite, seed, verbose: as every recipe has them.

    Returns:
        A `GradientFlowResult`.
    """
    import keras

    import tensorflow as tf

    for name, value in (("units", units), ("input_dim", input_dim),
                        ("num_sequences", num_sequences)):
        _validation.check_positive_int(name, value)
    _validation.check_positive_int("steps", steps)
    _validation.check_conflict(
        steps < 2, f"`steps` must be at least 2 to compare the first and last steps. "
                   f"Received: steps={steps!r}.",
    )
    _validation.check_positive_float("spectral_radius", spectral_radius)
    _validation.check_non_negative_float("keep_bias", keep_bias)
    _validation.check_positive_float("clip_norm", clip_norm)
    _validation.check_bool("overwrite", overwrite)
    _validation.check_seed("seed", seed)
    _validation.check_non_negative_int("verbose", verbose)
    config = {
        "recipe": RECIPE, "steps": steps, "units": units, "input_dim": input_dim,
        "num_sequences": num_sequences, "spectral_radius": spectral_radius, "keep_bias": keep_bias,
        "clip_norm": clip_norm, "seed": seed, "overwrite": overwrite, "verbose": verbose,
    }
    # Nothing is trained, but the same checks apply (no accidental overwrite, no foreign dir).
    _training.prepare_run_dir(run_dir, config, overwrite=overwrite)

    rng = np.random.default_rng(seed)
    x = tf.constant(rng.normal(size=(num_sequences, steps, input_dim)), tf.float32)
    target = tf.constant(rng.normal(size=(num_sequences, 1)), tf.float32)
    keras.utils.set_random_seed(seed)
    model = _build(steps, input_dim, units, spectral_radius, keep_bias)

    norms = _input_gradient_norms(model, x, target)
    sweep = _clipping_sweep(model, x, target, clip_norm)
    summaries = {name: _summary(norms[name]) for name in BRANCHES}
    table = _table(summaries, steps)
    metrics = {
        "summary": summaries,
        "input_gradient_norms": {name: values.tolist() for name, values in norms.items()},
        "clipping": {"clip_norm": clip_norm, **sweep},
    }
    path = _artifacts.write_run(
        run_dir, model=model, config=config, metrics=metrics,
        figures={
            "gradient_flow.png": _flow_figure(norms, steps, keep_bias),
            "clipping.png": _clipping_figure(norms, sweep, steps, spectral_radius, clip_norm),
        },
        files={"table.txt": table + "\n"},
    )
    if verbose:
        print(table)
        print(f"run written to {path}")
    return GradientFlowResult(path, metrics, table)


def add_parser(subparsers):
    """Declares `seqrecipes gradient-flow`."""
    parser = subparsers.add_parser(
        "gradient-flow",
        help="vanishing / exploding gradients through time in SimpleRNN, LSTM, GRU; clipping",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("--steps", type=int, default=100, help="sequence length T")
    parser.add_argument("--units", type=int, default=32)
    parser.add_argument("--input-dim", type=int, default=8)
    parser.add_argument("--num-sequences", type=int, default=16,
                        help="random sequences the norms are averaged over")
    parser.add_argument("--spectral-radius", type=float, default=3.0,
                        help="of the exploding SimpleRNN's recurrent kernel")
    parser.add_argument("--keep-bias", type=float, default=3.0,
                        help="forget-gate (LSTM) / update-gate (GRU) bias of the *_keep nets")
    parser.add_argument("--clip-norm", type=float, default=10.0)
    parser.add_argument("--run-dir", default="runs/gradient-flow")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a complete run already in --run-dir")
    parser.add_argument("--seed", type=int, default=1234)
    _cli.add_quiet_flag(parser)  # prints the table, else nothing (verbose=0 in Python)
    _cli.bind(parser, run)
