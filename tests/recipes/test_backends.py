"""`--backend`: which Keras backend a training runs on, chosen before Keras loads.

The end-to-end tests, one recipe per file, are tests/recipes/**/test_*_backends.py
(helpers in tests/backend_e2e.py).
"""

import json

import pytest

from seqrecipes.recipes.engine import backend as _backend
from tests.backend_e2e import BACKEND, OTHER_BACKEND
from tests.cli_runner import run_main


def test_backend_flag_refuses_an_unknown_backend(tmp_path):
    status, _, err = run_main("sentiment", "train", "--backend", "torch",
                              "--run-dir", tmp_path / "run")
    assert status == 2
    assert "--backend" in err and "'torch'" in err and "jax" in err
    assert not (tmp_path / "run").exists()


def test_backend_flag_is_refused_when_keras_runs_another(tmp_path):
    other = OTHER_BACKEND
    status, _, err = run_main("timeseries", "train", "--backend", other,
                              "--run-dir", tmp_path / "run")
    assert status == 2
    assert f"imported Keras with the {BACKEND!r} backend" in err
    assert f"--backend {other}" in err and "new process" in err
    assert not (tmp_path / "run").exists()


def test_choose_takes_the_flag_then_the_environment_then_the_default(monkeypatch):
    monkeypatch.setattr(_backend, "loaded", lambda: None)  # as before Keras is imported
    environ = {}
    assert _backend.choose(None, default="jax", environ=environ) == "jax"
    assert environ == {"KERAS_BACKEND": "jax"}
    environ = {"KERAS_BACKEND": "tensorflow"}
    assert _backend.choose(None, default="jax", environ=environ) == "tensorflow"
    assert _backend.choose("jax", environ=environ) == "jax"
    assert environ == {"KERAS_BACKEND": "jax"}
    with pytest.raises(_backend.BackendError, match="KERAS_BACKEND='torch'"):
        _backend.choose(None, environ={"KERAS_BACKEND": "torch"})


def test_choose_names_the_extra_when_jax_is_missing(monkeypatch):
    from seqrecipes.errors import MissingDependencyError

    monkeypatch.setattr(_backend, "loaded", lambda: None)
    monkeypatch.setattr(_backend.importlib.util, "find_spec", lambda name: None)
    environ = {}
    with pytest.raises(MissingDependencyError, match=r'pip install "seqrecipes\[jax\]"'):
        _backend.choose("jax", environ=environ)
    assert environ == {}  # nothing set: Keras is not half-configured
    # A recipe whose default is JAX trains on TensorFlow where JAX is not installed.
    assert _backend.choose(None, default="jax", environ=environ) == "tensorflow"
    assert environ == {"KERAS_BACKEND": "tensorflow"}


def test_a_resume_on_another_backend_is_refused(tmp_path):
    """An interrupted run resumes on the backend it started on only (other dropout masks)."""
    from seqrecipes.errors import RunDirectoryError
    from seqrecipes.recipes.engine import lock as _lock
    from seqrecipes.recipes.engine import training as _training

    run_dir = tmp_path / "run"
    other = OTHER_BACKEND
    state = {"config": {"seed": 1, "backend": other}, "history": [], "epochs_done": 0,
             "best_value": None, "best_epoch": None, "best_weights": None,
             "last_weights": None, "wait": 0, "stopped_early": False}
    (run_dir / ".training").mkdir(parents=True)
    (run_dir / ".training" / _training.STATE_FILE).write_text(json.dumps(state))
    try:
        with pytest.raises(RunDirectoryError, match=f"`backend`: {other!r} then, "
                           f"{BACKEND!r} now"):
            _training.prepare_run_dir(run_dir, {"seed": 1})
        config = {"seed": 1}
        _training.prepare_run_dir(run_dir, config, overwrite=True)  # the way out
        assert config["backend"] == BACKEND
    finally:
        _lock.release(run_dir)


def test_a_size_rule_takes_jax_for_large_training_files_only(tmp_path, monkeypatch, capsys):
    """`PreferJax` with a size: JAX's compiles pay off on large data only; a stateful mode
    and multi-worker stay on TensorFlow."""
    import argparse

    monkeypatch.setattr(_backend, "loaded", lambda: None)  # as before Keras is imported
    monkeypatch.setattr(_backend.importlib.util, "find_spec", lambda name: object())
    environ = {}
    rule = _backend.PreferJax(data="train", min_bytes=1000, unless=(("mode", "stateful"),))
    small, large = tmp_path / "small.txt", tmp_path / "large.txt"
    small.write_text("x" * 999)
    large.write_text("x" * 1000)

    def command(**flags):
        monkeypatch.setattr(_backend.os, "environ", dict(environ))  # choose() sets it
        values = {"train": None, "mode": "windows", "strategy": "default", "backend": None,
                  "quiet": False, "default_backend": rule}
        return argparse.Namespace(**{**values, **flags})

    assert rule(command(train=str(small))) == "tensorflow"
    assert rule(command(train=str(large))) == "jax"
    assert rule(command(train=str(large), mode="stateful")) == "tensorflow"
    assert rule(command(train=str(large), strategy="multi-worker")) == "tensorflow"
    assert rule(command(train=str(large), strategy="mirrored")) == "jax"
    assert rule(command(train=str(tmp_path / "missing.txt"))) == "tensorflow"  # said later
    assert rule(command()) == "tensorflow"  # no file: the embedded sample

    assert _backend.for_command(command(train=str(large))) == "jax"
    out = capsys.readouterr().out
    assert "Training on JAX" in out and "--train file of 0.001 MB or more" in out
    assert "--backend tensorflow" in out
    assert _backend.for_command(command(train=str(small))) == "tensorflow"
    assert _backend.for_command(command(train=str(large), backend="tensorflow")) == "tensorflow"
    assert _backend.for_command(command(train=str(large), quiet=True)) == "jax"
    assert capsys.readouterr().out == ""  # said once, and not when TF or --quiet
    # The environment's KERAS_BACKEND still comes before the rule.
    environ = {"KERAS_BACKEND": "tensorflow"}
    assert _backend.for_command(command(train=str(large))) == "tensorflow"
    # JAX not installed: the rule's JAX falls back to TensorFlow, as any default of JAX.
    environ = {}
    monkeypatch.setattr(_backend.importlib.util, "find_spec", lambda name: None)
    assert _backend.for_command(command(train=str(large))) == "tensorflow"
    assert _backend.describe(rule).startswith(
        "jax when installed and --train is a file of at least 0.001 MB")
    assert _backend.describe(rule).endswith(
        "tensorflow otherwise, and with --strategy multi-worker, --mode stateful")


def test_each_recipe_names_its_default_backend_in_its_train_flags(tmp_path):
    """`flags.DEFAULT_BACKENDS` reaches the parsed command: NER takes JAX for a large file."""
    from seqrecipes.cli import build_parser

    large = tmp_path / "train.txt"
    large.write_bytes(b"EU B-ORG\nrejects O\n\n" * 150_000)  # 3.15 MB of CoNLL
    small = tmp_path / "small.txt"
    small.write_bytes(b"EU B-ORG\n\n")

    def default(*argv):
        args = build_parser().parse_args(list(argv))
        rule = args.default_backend
        return rule(args) if callable(rule) else rule

    assert default("ner", "train", "--train", str(large)) == "jax"
    assert default("ner", "train", "--train", str(small)) == "tensorflow"
    assert default("ner", "train") == "tensorflow"  # the embedded sample
    assert default("ner", "train", "--train", str(large), "--strategy",
                   "multi-worker") == "tensorflow"
    assert default("sentiment", "train", "--data", str(large)) == "tensorflow"
    assert default("char-lm", "train") == "jax"  # the embedded play: one shape, one compile
    assert default("char-lm", "train", "--mode", "stateful") == "tensorflow"
    assert default("timeseries", "train") == "tensorflow"


def test_a_rule_without_a_size_takes_jax_where_installed(monkeypatch, capsys):
    import argparse

    monkeypatch.setattr(_backend, "loaded", lambda: None)
    monkeypatch.setattr(_backend.importlib.util, "find_spec", lambda name: object())
    monkeypatch.setattr(_backend.os, "environ", {})
    rule = _backend.PreferJax(unless=(("mode", "stateful"),))
    args = argparse.Namespace(mode="windows", strategy="default", backend=None, quiet=False,
                              default_backend=rule)
    assert _backend.for_command(args) == "jax"
    assert "Training on JAX, this recipe's default where JAX is installed" in (
        capsys.readouterr().out)
    assert _backend.describe(rule) == (
        "jax when installed, where it trains faster (measured); tensorflow otherwise, and "
        "with --strategy multi-worker, --mode stateful")


def test_ner_takes_jax_from_3_mb_and_the_cnn_tensorflow_whatever_the_size(tmp_path):
    """JAX repays its compiles on a large file with the BiLSTM, not with the dilated CNN
    (CoNLL-2003: a first epoch of 168 s of compiles against TensorFlow's epochs of ~15 s), and
    on 1 MB TensorFlow wins with the BiLSTM too (`flags.DEFAULT_BACKENDS`)."""
    import argparse

    from seqrecipes.recipes.engine.flags import DEFAULT_BACKENDS

    rule = DEFAULT_BACKENDS["ner"]
    for size, rnn_backend in ((1_000_000, "tensorflow"), (2_999_999, "tensorflow"),
                              (3_000_000, "jax")):
        train = tmp_path / f"train_{size}.txt"
        train.write_bytes(b"x" * size)
        args = dict(train=str(train), strategy="default")
        assert rule(argparse.Namespace(encoder="rnn", **args)) == rnn_backend, size
        assert rule(argparse.Namespace(encoder="cnn", **args)) == "tensorflow", size
    assert _backend.describe(rule).endswith("--strategy multi-worker, --encoder cnn")
