"""The errors seqrecipes raises on purpose.

Every error a user can fix (a bad argument, a bad file) is a `SeqrecipesError`. The command line
catches exactly this class, prints ``seqrecipes: error: <message>`` and exits with status 2;
anything else is a bug and propagates with its traceback.
"""


class SeqrecipesError(Exception):
    """Base class of the errors a user can fix."""


class InvalidArgumentError(SeqrecipesError, ValueError, TypeError):
    """An argument has the wrong type or value, or two arguments conflict.

    It subclasses both `ValueError` and `TypeError` (as scikit-learn's
    `InvalidParameterError` does) so callers can catch either.
    """


class DataError(SeqrecipesError, ValueError):
    """An input file or its content is not what the reader expects.

    The message names the file (and the line, where there is one) and how to fix it.
    """


class DataFileNotFoundError(DataError, FileNotFoundError):
    """An input file does not exist."""


class NotIOBTagError(DataError):
    """A tag that is not ``O``, ``B-<type>`` or ``I-<type>`` where IOB tags are expected.

    `where` (``file:line``) and `tag` let a caller that cannot take the usual remedy (reading
    the tags unchecked) say what it can take instead.
    """

    def __init__(self, message, *, where, tag):
        super().__init__(message)
        self.where, self.tag = where, tag


class RunDirectoryError(SeqrecipesError, ValueError):
    """A run directory is missing, incomplete or written by an incompatible version."""


class MissingDependencyError(SeqrecipesError, ImportError):
    """An optional dependency is not installed; the message gives the `pip install` command."""


# --- The same message in the caller's words -------------------------------------------------
#
# Messages are written once, in Python's words: an argument is named `name` (in backticks) or
# shown as name=value (a Python literal), as the `_validation` helpers write them. A caller of
# the Python API reads them as they are. `seqrecipes.cli.main` passes a message through
# `for_command_line` with the actions (argparse's declared flags and positionals) of the
# command that ran, and every name that is one of them is shown as the command line spells it:
# `text_column` -> `--text-column`, scheme='none' -> --scheme none, data='x.csv' -> DATA
# x.csv. Names that are not flags of that command are left as they are.

import ast as _ast
import re as _re
import shlex as _shlex

_ASSIGNMENT = _re.compile(r"(?<![\w.\-`=])(`?)([a-z_][a-z0-9_]*)(`?)=(?=\S)")
_QUOTED_NAME = _re.compile(r"(?<![\w\-])`([a-z_][a-z0-9_]*)`(?!=)")
_BARE_VALUE = _re.compile(r"-?[\w.+\-]*\w")


def _literal_end(text, start):
    """The end of the Python literal (a repr) that starts at `text[start]`, or None."""
    opening = text[start]
    if opening in "'\"":
        index = start + 1
        while index < len(text):
            if text[index] == "\\":
                index += 2
                continue
            if text[index] == opening:
                return index + 1
            index += 1
        return None
    if opening in "([{":
        depth, index, quote = 0, start, None
        while index < len(text):
            char = text[index]
            if quote:
                if char == "\\":
                    index += 1
                elif char == quote:
                    quote = None
            elif char in "'\"":
                quote = char
            elif char in "([{":
                depth += 1
            elif char in ")]}":
                depth -= 1
                if depth == 0:
                    return index + 1
            index += 1
        return None
    match = _BARE_VALUE.match(text, start)
    return match.end() if match else None


def _flag(action):
    """How the command line spells `action`: its long option, or its METAVAR if positional."""
    if not action.option_strings:
        return action.metavar if isinstance(action.metavar, str) else action.dest.upper()
    longs = [option for option in action.option_strings if option.startswith("--")]
    return (longs or action.option_strings)[0]


def _shown_value(value):
    if isinstance(value, str):
        if value.isprintable() and "\\" not in value:
            return _shlex.quote(value)
        return repr(value)  # '\t': the flags that take such a value read the escape
    if isinstance(value, float) and value == int(value) and abs(value) < 1e15:
        return repr(value)
    return str(value)


def _command_line_assignment(action, value):
    """`name=value` as the command line writes it for `action`."""
    flag = _flag(action)
    takes_no_value = action.nargs == 0
    if not action.option_strings:
        return f"{flag} {_shown_value(value)}"
    if takes_no_value and isinstance(value, bool):
        negative = [option for option in action.option_strings if option.startswith("--no-")]
        if negative:  # --crf / --no-crf
            positive = [option for option in action.option_strings if option not in negative]
            return (positive or [flag])[0] if value else negative[0]
        return flag if value == bool(action.const) else f"no {flag}"
    if value is None:
        return f"no {flag}"
    if isinstance(value, (list, tuple)):
        return " ".join([flag, *(_shown_value(item) for item in value)])
    return f"{flag} {_shown_value(value)}"


def for_command_line(message, actions):
    """Returns `message` with every argument name of `actions` spelled as its flag.

    Args:
        message: str. An error message in Python's words (`name`, name=value).
        actions: the argparse actions of the command that ran (its flags and positionals).
    """
    by_name = {action.dest: action for action in actions
               if action.dest and action.dest != "help" and action.dest != "==SUPPRESS=="}
    pieces, position = [], 0
    for match in _ASSIGNMENT.finditer(message):
        action = by_name.get(match.group(2))
        if action is None or match.start() < position:
            continue
        end = _literal_end(message, match.end())
        if end is None:
            continue
        try:
            value = _ast.literal_eval(message[match.end():end])
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            continue
        shown = _command_line_assignment(action, value)
        if match.group(1) and not match.group(3):  # `name=value`, quoted whole
            if message[end:end + 1] != "`":
                continue
            end, shown = end + 1, f"`{shown}`"
        pieces.append(message[position:match.start()])
        pieces.append(shown)
        position = end
    pieces.append(message[position:])
    message = "".join(pieces)

    def name(match):
        action = by_name.get(match.group(1))
        return match.group(0) if action is None else f"`{_flag(action)}`"

    return _QUOTED_NAME.sub(name, message)
