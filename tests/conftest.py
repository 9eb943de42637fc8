"""Shared test set-up: quiet TensorFlow, a fixed seed, and the path of the shared datasets."""

import os
import pathlib
import shutil
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# JAX's persistent compilation cache, one folder per test session shared by the xdist workers
# and every child process they start (they inherit the environment; set before Keras imports
# JAX): many tests compile the same tiny programs, and JAX keys the cache by the program, so a
# hit is exactly the executable a compile would give. Measured: the JAX run of tests/models on
# two workers 214 -> 153 s. Every entry is kept (no minimum compile time or size); the folder
# goes at the end of the session (`pytest_unconfigure`), unless the environment named its own.
_JAX_CACHE = "JAX_COMPILATION_CACHE_DIR"
_OWN_JAX_CACHE = None  # the folder this process made: the controller's; workers inherit it
if _JAX_CACHE not in os.environ:
    _OWN_JAX_CACHE = os.environ[_JAX_CACHE] = tempfile.mkdtemp(
        prefix="seqrecipes-tests-jax-cache-")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "-1")

import keras  # noqa: E402
import pytest  # noqa: E402

SHARED_DATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)


@pytest.fixture
def shared_data():
    """The `../shared/data` folder, or a skip that says why when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real datasets not found at {SHARED_DATA} (../shared/data beside the repo)")
    return SHARED_DATA


# The slowest files first. pytest-xdist's `--dist loadfile` (setup.cfg) hands whole files to
# the two workers in collection order, so a long file collected last runs alone at the end
# while the other worker idles (CI's JAX run spent its last two minutes so). Measured with
# `--durations=0` on both backends (seconds of one worker, the other core busy): test_readme
# 178, test_distribute 155, test_attribution 149 (JAX), test_ner_portable 146, test_recurrent
# 137 (JAX), the sentiment backend tests ~115 (JAX), down to ~50. Files not named keep their
# order after these; a file's tests keep theirs (its module fixtures are built once).
SLOW_FIRST = (
    "tests/test_readme.py",
    "tests/recipes/engine/test_distribute.py",
    "tests/models/test_attribution.py",
    "tests/recipes/ner/test_ner_portable.py",
    "tests/models/test_recurrent.py",
    "tests/recipes/sentiment/test_sentiment_backends.py",
    "tests/recipes/ner/test_ner.py",
    "tests/recipes/sentiment/test_sentiment.py",
    "tests/recipes/test_contract.py",
    "tests/recipes/test_param_count.py",
    "tests/models/test_tagger.py",
    "tests/recipes/sentiment/test_sentiment_portable.py",
    "tests/models/test_bilm.py",
    "tests/models/test_seq2seq.py",
    "tests/test_bad_input.py",
    "tests/recipes/ner/test_ner_backends.py",
    "tests/recipes/engine/test_training.py",
)


def pytest_collection_modifyitems(config, items):
    rank = {path: index for index, path in enumerate(SLOW_FIRST)}

    def file_rank(item):
        path = pathlib.Path(item.path)
        if not path.is_relative_to(config.rootpath):
            return len(rank)
        return rank.get(path.relative_to(config.rootpath).as_posix(), len(rank))

    items[:] = sorted(items, key=file_rank)  # stable: the order within a rank is kept


def pytest_unconfigure(config):
    """The session's JAX cache folder goes with the process that made it (not a worker)."""
    if _OWN_JAX_CACHE is not None:
        shutil.rmtree(_OWN_JAX_CACHE, ignore_errors=True)
