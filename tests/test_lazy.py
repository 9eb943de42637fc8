"""The packages' re-exports are lazy (`seqrecipes._lazy`) and still behave as plain imports."""

import importlib
import os
import subprocess
import sys

import pytest

import seqrecipes

PACKAGES = ("seqrecipes", "seqrecipes.models", "seqrecipes.datasets")


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_resolves_and_is_listed(package):
    module = importlib.import_module(package)
    assert module.__all__, package
    listed = dir(module)
    for name in module.__all__:
        value = getattr(module, name)  # a wrong table entry fails here
        assert name in listed
        assert getattr(value, "__name__", name) == name or not callable(value)


def test_from_import_gives_the_defining_object():
    from seqrecipes import InvalidArgumentError, build_sequence_classifier
    from seqrecipes.errors import InvalidArgumentError as defined_error
    from seqrecipes.models.recurrent import build_sequence_classifier as defined

    assert build_sequence_classifier is defined
    assert InvalidArgumentError is defined_error


def test_submodules_still_import_through_the_package():
    from seqrecipes import datasets, models

    assert models.wiring.CELLS == ("simple_rnn", "lstm", "gru")
    assert datasets.korean.KOREAN_TOKENIZERS[0] == "syllables"


@pytest.mark.parametrize("package", PACKAGES)
def test_an_unknown_name_is_an_attribute_error(package):
    module = importlib.import_module(package)
    with pytest.raises(AttributeError, match="no_such_name"):
        module.no_such_name


def test_importing_the_packages_imports_no_tensorflow():
    code = (
        "import sys, seqrecipes, seqrecipes.models, seqrecipes.datasets\n"
        "from seqrecipes.models import wiring, options\n"
        "from seqrecipes.datasets import tabular, korean\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
    )
    root = os.path.dirname(os.path.dirname(seqrecipes.__file__))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": root}, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_submodule_not_yet_imported_is_an_attribute_of_its_package():
    # A fresh process: in this one an earlier test may have imported the submodule already.
    code = (
        "import seqrecipes.datasets as datasets, seqrecipes.models as models\n"
        "print(datasets.streaming.BOUNDARY_SAMPLE > 0, models.embedding.Embedding.__name__)\n"
    )
    root = os.path.dirname(os.path.dirname(seqrecipes.__file__))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": root}, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "Embedding"]
