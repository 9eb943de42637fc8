"""tests/conftest.py's SLOW_FIRST: the files it puts first exist, and come first."""

import pathlib

from tests import conftest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_every_file_named_slow_first_exists():
    missing = [path for path in conftest.SLOW_FIRST if not (ROOT / path).is_file()]
    assert not missing, f"tests/conftest.py SLOW_FIRST names files that are gone: {missing}"


def test_the_slow_files_are_collected_first_in_their_order(request):
    collected = list(dict.fromkeys(
        pathlib.Path(item.path).relative_to(ROOT).as_posix() for item in request.session.items))
    present = [path for path in conftest.SLOW_FIRST if path in collected]
    assert collected[:len(present)] == present
