"""The small datasets shipped inside the package (`seqrecipes/datasets/samples/`).

They were written for this project (see ``samples/README.md``), so recipes, tests and examples
run with no download and no real dataset at hand.
"""

import importlib.resources
import pathlib

from seqrecipes.errors import InvalidArgumentError

_NOT_SAMPLES = {"README.md", "__init__.py"}


def sample_names():
    """The file names of the embedded samples, sorted."""
    folder = importlib.resources.files("seqrecipes.datasets") / "samples"
    return sorted(
        entry.name
        for entry in folder.iterdir()
        if entry.is_file() and entry.name not in _NOT_SAMPLES and not entry.name.startswith(".")
    )


def sample_path(name):
    """Returns the path of an embedded sample file.

    Args:
        name: str. A file name from `sample_names()`, with or without its extension when that
            is unambiguous (``"sentiment_ko"`` -> ``sentiment_ko.tsv``).

    Returns:
        A `pathlib.Path` to the file inside the installed package.

    Raises:
        InvalidArgumentError: no such sample; the message lists the available names.

    Example:

    >>> sample_path("sentiment_ko").name
    'sentiment_ko.tsv'
    """
    names = sample_names()
    matches = [n for n in names if n == name] or [
        n for n in names if isinstance(name, str) and n.rsplit(".", 1)[0] == name
    ]
    if len(matches) != 1:
        shown = ", ".join(repr(n) for n in names)
        raise InvalidArgumentError(
            f"`name` must be one of the embedded samples: {shown}. Received: name={name!r} "
            f"({type(name).__name__})."
        )
    folder = importlib.resources.files("seqrecipes.datasets") / "samples"
    return pathlib.Path(str(folder / matches[0]))
