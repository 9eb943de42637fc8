"""`errors.for_command_line`: one message, written in Python's words, shown with the flags."""

import argparse

import pytest

from seqrecipes.errors import for_command_line


def actions():
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir", metavar="RUN_DIR")
    parser.add_argument("data", metavar="DATA")
    parser.add_argument("--text-column")
    parser.add_argument("--scheme")
    parser.add_argument("--delimiter")
    parser.add_argument("--units", type=int, nargs="+")
    parser.add_argument("--crf", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--model")
    return parser._actions


CASES = [
    ("`data`: no such file: 'x.csv'.", "`DATA`: no such file: 'x.csv'."),
    ("x.csv: `text_column`='review_text' is not a column.",
     "x.csv: --text-column review_text is not a column."),
    ("Pass scheme='none' to read tags unchecked.", "Pass --scheme none to read tags unchecked."),
    ("pass delimiter='\\t' if tokens hold spaces", "pass --delimiter '\\t' if tokens hold spaces"),
    ("`units` must be positive. Received: units=(0, 3) (tuple).",
     "`--units` must be positive. Received: --units 0 3 (tuple)."),
    ("Received: crf=False.", "Received: --no-crf."),
    ("Received: crf=True.", "Received: --crf."),
    ("pass overwrite=True to replace it.", "pass --overwrite to replace it."),
    ("Received: overwrite=False.", "Received: no --overwrite."),
    ("`model='cnn'` has no convolutions", "`--model cnn` has no convolutions"),
    ("a run_dir='my runs/a' here", "a RUN_DIR 'my runs/a' here"),
    ("`units` is 4.", "`--units` is 4."),  # a sentence's full stop is not part of the name
    # Names that are no flag of this command stay as they are.
    ("Pass `class_names`, or classes=['a'] and learning_rate=0.5.",
     "Pass `class_names`, or classes=['a'] and learning_rate=0.5."),
    # Flags already spelled, and attribute or keyword look-alikes, are left alone.
    ("--units=4 and model.units=4 and x_units=4", "--units=4 and model.units=4 and x_units=4"),
    # A value that is not a Python literal is left as written.
    ("scheme=iob9x?", "scheme=iob9x?"),
]


@pytest.mark.parametrize("message, expected", CASES, ids=[case[0] for case in CASES])
def test_argument_names_become_the_command_line_s(message, expected):
    assert for_command_line(message, actions()) == expected


def test_without_actions_the_message_is_unchanged():
    message = "`units` must be a positive integer. Received: units=0 (int)."
    assert for_command_line(message, []) == message
