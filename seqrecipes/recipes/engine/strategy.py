"""`--strategy default|mirrored|multi-worker`: a recipe's `train` on several devices, with the
backend's own distribution: TensorFlow's strategies, or Keras's distribution API on JAX.

One mechanism for every recipe: the command line's `train` runs inside `distributed(...)`, which
builds the `tf.distribute` strategy and enters its scope for the whole run, so every model is
built and compiled inside it (Keras's TensorFlow trainer takes the strategy in scope when the
model is created and distributes `fit` / `predict` with it). Nothing else in a recipe changes:

* `default`: no strategy (TensorFlow's default one), exactly the single-device behaviour.
* `mirrored`: `tf.distribute.MirroredStrategy()`, one replica per visible GPU (the CPU if none).
* `multi-worker`: `tf.distribute.MultiWorkerMirroredStrategy()`, configured by the standard
  `TF_CONFIG` environment variable, e.g. on the first of two machines::

      TF_CONFIG='{"cluster": {"worker": ["10.0.0.1:12345", "10.0.0.2:12345"]},
                  "task": {"type": "worker", "index": 0}}'

  (the second machine runs the same command with `"index": 1`).

On the JAX backend the same flag uses Keras's own distribution API instead (`keras.distribution`,
`jax_distribution`): `mirrored` is `keras.distribution.DataParallel` over every local device
(the GPUs, else the CPU), which replicates the variables and splits each batch along its first
axis; `multi-worker` is refused there (TF_CONFIG describes a TensorFlow cluster; a JAX one is
started differently, by `keras.distribution.initialize`). It covers `fit` only
(`data_parallel`): Keras 3.15's JAX loop lays out every batch as its first one and cannot split
a batch whose size the devices do not divide (`IndivisibleError`), which the bucketed pipelines
make at the end of every bucket. In `fit` such a batch is padded with rows of weight 0; the
evaluation and prediction after it run on the replicated weights without splitting.

`--batch-size` is the GLOBAL batch: each step takes that many examples, split evenly across all
replicas of all workers. `fit_resumable` sets `AutoShardPolicy.DATA` on the input pipelines (the
recipes' pipelines are built from in-memory tensors or read row by row, so there are no files
to shard by), so every worker reads the stream and keeps its own share of the batches.

Only the chief (task type "chief", or worker 0 when the cluster has no chief) writes the run
directory. The other workers must still take part in every collective step, including saving
(Keras's documented pattern, as in `keras.callbacks.BackupAndRestore`): they write their run and
training state to a temporary folder and delete it at the end. For tests only,
`SEQRECIPES_WORKER_RUN_DIR` names a folder a non-chief worker writes into instead and keeps.
"""

import contextlib
import json
import os
import pathlib
import shutil
import tempfile

from seqrecipes import _validation
from seqrecipes.errors import SeqrecipesError

# TensorFlow is imported inside the functions that use it: the command line imports this
# module (for STRATEGIES) to build its parser, and `--help` must not start TensorFlow.

STRATEGIES = ("default", "mirrored", "multi-worker")
WORKER_RUN_DIR_VARIABLE = "SEQRECIPES_WORKER_RUN_DIR"
_active = {"name": "default"}  # the --strategy of the `distributed` block in progress
_TF_CONFIG_FORMAT = (
    'TF_CONFIG=\'{"cluster": {"worker": ["host1:port", "host2:port"]}, '
    '"task": {"type": "worker", "index": 0}}\' (the same cluster on every machine, each with '
    "its own task index)"
)


def read_tf_config(environ=None):
    """Returns the parsed `TF_CONFIG` of `environ` (default `os.environ`), checked.

    Raises:
        SeqrecipesError: `TF_CONFIG` is missing, not JSON, or does not name a cluster with at
            least one worker and this process's task in it.
    """
    environ = os.environ if environ is None else environ
    raw = environ.get("TF_CONFIG")

    def fail(problem):
        raise SeqrecipesError(
            f"--strategy multi-worker needs the TF_CONFIG environment variable: {problem}. "
            f"Set it on every worker, e.g. {_TF_CONFIG_FORMAT}."
        )

    if not raw:
        fail("it is not set")
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        fail(f"it is not JSON ({error.msg} at character {error.pos}); received {raw!r}")
    if not isinstance(config, dict):
        fail(f"it must be a JSON object; received {raw!r}")
    cluster, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster, dict) or not cluster:
        fail(f'it has no "cluster" object; received {raw!r}')
    for role, addresses in cluster.items():
        if not isinstance(addresses, list) or not addresses or not all(
            isinstance(address, str) and ":" in address for address in addresses
        ):
            fail(f'"cluster"/"{role}" must be a non-empty list of "host:port"; received {raw!r}')
    if "worker" not in cluster and "chief" not in cluster:
        fail(f'"cluster" has no "worker" list; received {raw!r}')
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        fail(f'it has no "task" with "type" and "index"; received {raw!r}')
    role, index = task["type"], task["index"]
    if role not in cluster or not isinstance(index, int) or not 0 <= index < len(cluster[role]):
        fail(f'"task" {task} is not in "cluster" {cluster}')
    return config


def make_strategy(name, *, devices=None):
    """Returns the `tf.distribute.Strategy` for `--strategy name`.

    Args:
        name: str. "default", "mirrored" or "multi-worker".
        devices: for "mirrored" only, the devices to mirror on (default: all GPUs, else the
            CPU), e.g. `["/cpu:0"]`.

    Example:

    >>> make_strategy("mirrored", devices=["/cpu:0"]).num_replicas_in_sync
    1
    """
    import tensorflow as tf

    name = _validation.check_choice("strategy", name, STRATEGIES)
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices)
    read_tf_config()  # a clear message before TensorFlow's own
    return tf.distribute.MultiWorkerMirroredStrategy()


def jax_distribution(name):
    """Returns the `keras.distribution.Distribution` for `--strategy name` on JAX (None: one
    device).

    Raises:
        SeqrecipesError: `name` is "multi-worker", which trains on TensorFlow only.
    """
    import keras

    name = _validation.check_choice("strategy", name, STRATEGIES)
    if name == "default":
        return None
    if name == "multi-worker":
        raise SeqrecipesError(
            "strategy='multi-worker' trains on the TensorFlow backend only: its cluster is "
            "TensorFlow's (TF_CONFIG), and the JAX backend has none of it. Pass "
            "backend='tensorflow' to train on several machines, or strategy='mirrored' to "
            "train on every device of this one with JAX."
        )
    return keras.distribution.DataParallel(devices=keras.distribution.list_devices())


@contextlib.contextmanager
def data_parallel(model, datasets, class_weight=None):
    """Within it, `model.fit` runs under the JAX distribution of `--strategy` (if any).

    Yields `(datasets, class_weight)` to give `fit`: unchanged without a JAX distribution.
    With one, the model's, its optimizer's and its metrics' variables are laid out on the
    distribution's devices (the model was built before, outside it), its scope is entered,
    and each dataset's batches are padded to a multiple of the devices by repeating their
    last row with sample weight 0 (`class_weight` folded into the weights, as Keras refuses
    both). A padded batch's loss is then averaged over its padded size: the last batch of a
    bucket, n rows padded by fewer than the devices, counts n / (n + padding) of its weight.
    """
    distribution = _active.get("distribution")
    if distribution is None:
        yield datasets, class_weight
        return
    import jax

    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    optimizer_variables = model.optimizer.variables if model.optimizer is not None else []
    with distribution.scope():
        for variable in [*model.variables, *model.metrics_variables, *optimizer_variables]:
            layout = distribution.get_variable_layout(variable).backend_layout
            variable.assign(jax.device_put(variable.value, layout))
        replicas = int(distribution.device_mesh.devices.size)
        yield ([_padded(dataset, replicas, class_weight) for dataset in datasets], None)


def _padded(dataset, replicas, class_weight):
    import tensorflow as tf

    if not isinstance(dataset, tf.data.Dataset):
        return dataset
    table = None
    if class_weight:
        keys = sorted(class_weight)
        table = tf.scatter_nd([[key] for key in keys],
                              tf.constant([class_weight[key] for key in keys], tf.float32),
                              [max(keys) + 1])

    def pad(x, y, weight=None):
        rows = tf.shape(tf.nest.flatten(x)[0])[0]
        extra = (replicas - rows % replicas) % replicas
        if weight is None:
            weight = (tf.ones([rows]) if table is None
                      else tf.gather(table, tf.cast(tf.reshape(y, [rows]), tf.int32)))

        def grow(tensor):
            return tf.concat([tensor, tf.repeat(tensor[-1:], extra, axis=0)], axis=0)

        weight = tf.concat([tf.cast(weight, tf.float32),
                            tf.zeros(tf.concat([[extra], tf.shape(weight)[1:]], 0))], axis=0)
        return tf.nest.map_structure(grow, x), tf.nest.map_structure(grow, y), weight

    return dataset.map(pad)


def is_chief(strategy):
    """True unless `strategy` is multi-worker and this process is not its chief."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def shard_by_data(dataset):
    """`dataset` with tf.data auto-sharding by DATA (a no-op for anything not a Dataset)."""
    import tensorflow as tf

    if not isinstance(dataset, tf.data.Dataset):
        return dataset
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
    )
    return dataset.with_options(options)


def prepare_model(model, train_data):
    """Works around Keras 3.15 failing `fit` under a multi-worker strategy; call before `fit`.

    Keras's TensorFlow trainer remembers the strategy in scope when a model is created and
    then, at every `fit` / `evaluate` / `predict`, reduces a distributed input batch across
    workers (`strategy.reduce("MEAN", (x, y))`, trainer.py `_maybe_symbolic_build`), which
    `CollectiveAllReduceStrategy` cannot do with a tuple: it fails as soon as there are two
    workers. Here the model, its loss, metrics and optimizer are built from one local batch
    instead, and the remembered strategy is dropped: `model.distribute_strategy` then falls
    back to the strategy in scope (the same one, since the whole run is inside it), so training
    is still distributed.

    Keras 3.15 also reduces each step's logs across workers with `strategy.reduce("MEAN", v,
    axis=0)` (trainer.py `one_step_on_data`, reduction "auto" hard-coded), which fails on the
    scalar figures every step returns: the model's `train_step` / `test_step` are wrapped so
    that they return each scalar as a vector of one, which that reduction averages over the
    workers. (The epoch's logs, which early stopping and the history read, are read from the
    metrics' sum-aggregated variables at the end of the epoch: the same on every worker.)
    No-op for any other strategy.
    """
    import tensorflow as tf

    strategy = tf.distribute.get_strategy()
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return
    if getattr(model, "_distribute_strategy", None) is None:
        return
    batch = next(iter(train_data))
    with strategy.scope():
        model._symbolic_build(data_batch=batch)
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
    model._distribute_strategy = None
    for name in ("train_step", "test_step"):
        setattr(model, name, _with_vector_logs(getattr(model, name)))


def _with_vector_logs(step):
    import tensorflow as tf

    def vector_logs(data):
        return tf.nest.map_structure(
            lambda value: tf.reshape(value, [1]) if value.shape.rank == 0 else value, step(data)
        )

    return vector_logs


@contextlib.contextmanager
def distributed(name, run_dir, *, devices=None):
    """Runs a training run under `--strategy name`; yields the run directory to write.

    The strategy's scope is entered for the whole block, so the models are built and compiled
    inside it. The chief gets `run_dir`; any other worker gets a temporary folder, deleted at
    the end (or `$SEQRECIPES_WORKER_RUN_DIR`, kept, for tests).
    """
    import keras

    from seqrecipes import _seeding

    if keras.backend.backend() == "jax":
        _active.update(name=name, distribution=jax_distribution(name))  # for `data_parallel`
        try:
            yield run_dir
        finally:
            _active.update(name="default", distribution=None)
        return
    if name == "multi-worker":
        read_tf_config()  # a clear error before TensorFlow waits for the cluster
        state = pathlib.Path(run_dir) / ".training" / "state.json"
        if state.is_file():
            # Only the chief keeps training state: the other workers would start afresh, run
            # other epochs and wait for each other for ever.
            raise SeqrecipesError(
                f"{str(run_dir)!r} holds an interrupted run, and resuming a multi-worker run is "
                "not supported yet: stop every worker, then start them all again with a new "
                "--run-dir (or resume this one on one machine, without --strategy multi-worker)."
            )
    strategy = make_strategy(name, devices=devices)
    # The process-wide epoch counter the pipelines read must be an ordinary variable on the
    # host, not a mirrored one: create it before the scope is entered.
    _seeding.epoch_variable()
    temporary = None
    if not is_chief(strategy):
        run_dir = os.environ.get(WORKER_RUN_DIR_VARIABLE)
        if not run_dir:
            temporary = run_dir = tempfile.mkdtemp(prefix="seqrecipes-worker-")
            shutil.rmtree(temporary)  # the recipe wants a new or empty run directory
    _active["name"] = name
    try:
        if name == "default":
            yield run_dir
        else:
            with strategy.scope():
                yield run_dir
    finally:
        _active["name"] = "default"
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)


def describe_current():
    """How the run in progress is distributed, for its config.json: `--strategy` ("default"
    outside `distributed`), TensorFlow's strategy class (on JAX: Keras's distribution class,
    None for one device), the replicas (all workers' devices together) and the number of
    workers."""
    import keras
    import tensorflow as tf

    if keras.backend.backend() == "jax":
        distribution = _active.get("distribution")
        replicas = 1 if distribution is None else int(distribution.device_mesh.devices.size)
        return {"strategy": _active["name"],
                "keras_distribution": type(distribution).__name__ if distribution else None,
                "replicas": replicas, "workers": 1}

    strategy = tf.distribute.get_strategy()
    resolver = getattr(strategy, "cluster_resolver", None)
    workers = 1
    if resolver is not None:
        cluster = resolver.cluster_spec().as_dict()
        workers = len(cluster.get("worker", [])) + len(cluster.get("chief", [])) or 1
    return {"strategy": _active["name"], "tf_strategy": type(strategy).__name__,
            "replicas": int(strategy.num_replicas_in_sync), "workers": workers}


def run_handler(args):
    """Calls `args.func(args)`, under `args.strategy` when the subcommand has that flag."""
    name = getattr(args, "strategy", None)
    if name is None:
        return args.func(args)
    with distributed(name, args.run_dir) as run_dir:
        args.run_dir = run_dir
        return args.func(args)
