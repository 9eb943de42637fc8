"""Every test in tests/models runs on TensorFlow and on JAX, and carries the `backends` mark.

CI runs them on the second backend with Keras's own switch:
`KERAS_BACKEND=jax python -m pytest -m backends`. (A `pytestmark` in a conftest marks only the
conftest's own tests, so the mark is added here, to every test collected under this folder.)
"""

import pathlib

import pytest

_HERE = pathlib.Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _HERE in pathlib.Path(item.path).parents:
            item.add_marker(pytest.mark.backends)
