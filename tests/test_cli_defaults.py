"""Each recipe's defaults are written once, in its Python function: the command line's agree."""

import argparse
import inspect

import pytest

from seqrecipes.cli import build_parser
from seqrecipes.recipes import bilm, char_lm, ner, sentiment, seq2seq, timeseries, vectors
from seqrecipes.recipes.engine import flags as _cli

COMMANDS = [
    (["sentiment", "train"], sentiment.train),
    (["ner", "train"], ner.train),
    (["char-lm", "train"], char_lm.train),
    (["timeseries", "train"], timeseries.train),
    (["seq2seq", "train"], seq2seq.train),
    (["bilm", "train"], bilm.train),
    (["vectors", "train"], vectors.train),
]


@pytest.mark.parametrize("argv, function", COMMANDS, ids=[" ".join(c[0]) for c in COMMANDS])
def test_command_line_defaults_are_the_functions(argv, function):
    args = build_parser().parse_args(argv)
    given = _cli.keyword_arguments(args)
    parameters = inspect.signature(function).parameters
    compared = 0
    for name, value in given.items():
        default = parameters[name].default  # every flag is an argument of the function
        if isinstance(default, tuple):
            default = list(default)
        assert value == default, f"{' '.join(argv)} --{name.replace('_', '-')}"
        compared += 1
    assert compared >= 5


def test_bind_gives_the_signature_defaults_and_tuples():
    received = {}

    def run(*, units=(100,), rate=0.5, name="x"):
        received.update(units=units, rate=rate, name=name)

    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, nargs="+", default=[1])  # drifted
    parser.add_argument("--rate", type=float, default=argparse.SUPPRESS)  # left to `run`
    parser.add_argument("--name", default="y")  # drifted
    _cli.bind(parser, run)
    args = parser.parse_args([])
    assert args.func(args) == 0
    assert received == {"units": (100,), "rate": 0.5, "name": "x"}
    args = parser.parse_args(["--units", "8", "4"])
    args.func(args)
    assert received["units"] == (8, 4)
