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


class RunDirectoryError(SeqrecipesError, ValueError):
    """A run directory is missing, incomplete or written by an incompatible version."""


class MissingDependencyError(SeqrecipesError, ImportError):
    """An optional dependency is not installed; the message gives the `pip install` command."""
