"""The `seqrecipes` command: argparse subcommands, one per recipe.

This module holds no recipe logic. Each recipe module defines `add_parser(subparsers)`, which
declares its flags (kebab-case, one-to-one with its `run()` keyword arguments) and sets
`func`, the function that receives the parsed flags. Our own errors are caught once, here:
``seqrecipes: error: <message>`` on stderr and exit status 2, the message's argument names
spelled as the command's flags (`errors.for_command_line`). Anything else is a bug and
propagates with its traceback.

Building the parser imports no TensorFlow (the recipe modules import it inside the functions
that train or predict), so `--help` answers at once; TensorFlow's start-up lines are kept off
the terminal (`seqrecipes._tf_logs`) unless `--verbose 2` or `SEQRECIPES_TF_LOGS=1` asks for
them. With no arguments at all, the command prints its help and exits with status 0.

The Keras backend is chosen once the flags are parsed and before anything imports Keras
(`recipes.engine.backend.for_command`): a `train`'s `--backend`, TensorFlow for the verbs that
load a saved model.
"""

import argparse
import contextlib
import importlib
import sys

from seqrecipes import _tf_logs
from seqrecipes.errors import SeqrecipesError, for_command_line

# Subcommand modules, in the order `seqrecipes --help` lists them.
RECIPE_MODULES = (
    "seqrecipes.recipes.sentiment.cli",
    "seqrecipes.recipes.ner.cli",
    "seqrecipes.recipes.char_lm",
    "seqrecipes.recipes.timeseries.cli",
    "seqrecipes.recipes.seq2seq",
    "seqrecipes.recipes.generate_from_vector",
    "seqrecipes.recipes.gradient_flow",
    "seqrecipes.recipes.inspect_cells",
    "seqrecipes.recipes.bilm",
    "seqrecipes.recipes.param_count",
    "seqrecipes.recipes.vectors.cli",
)


class UsageError(SeqrecipesError):
    """A command line that argparse could not parse."""


class ArgumentParser(argparse.ArgumentParser):
    """An `ArgumentParser` that raises instead of exiting, so `main` owns the exit status."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        raise UsageError(f"{message}\n(see `{self.prog} --help`)")


def build_parser():
    """Returns the `seqrecipes` parser with every recipe's subcommand."""
    from seqrecipes import __version__

    parser = ArgumentParser(
        prog="seqrecipes",
        description="Recurrent and convolutional sequence models for Keras 3, wired right.",
        epilog="TensorFlow's start-up log lines (oneDNN, CUDA probing) are hidden; "
        f"{_tf_logs.ENVIRONMENT_VARIABLE}=1 or --verbose 2 shows them. "
        "`seqrecipes RECIPE --help` lists a recipe's commands and flags.",
    )
    parser.add_argument("--version", action="version", version=f"seqrecipes {__version__}")
    subparsers = parser.add_subparsers(dest="recipe", metavar="RECIPE", required=True)
    for module_name in RECIPE_MODULES:
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def _invoked_actions(parser, args):
    """The flags and positionals of the command `args` ran: its parser's and its parents'."""
    actions = []
    while parser is not None:
        actions.extend(parser._actions)
        commands = [action for action in parser._actions
                    if isinstance(action, argparse._SubParsersAction)]
        parser = (commands[0].choices.get(getattr(args, commands[0].dest, None))
                  if commands else None)
    return actions


def main(argv=None):
    """Runs the command line `argv` (default: `sys.argv[1:]`) and returns the exit status.

    No arguments at all print the help (exit status 0).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = args = None
    try:
        parser = build_parser()
        if not argv:
            parser.print_help()
            return 0
        args = parser.parse_args(argv)
        from seqrecipes.recipes.engine import backend as _backend
        from seqrecipes.recipes.engine import strategy as _strategy

        _backend.for_command(args)  # before anything imports Keras

        if getattr(args, "verbose", None) == 2 or _tf_logs.requested():
            quiet = contextlib.nullcontext()
        else:
            quiet = _tf_logs.quiet_tensorflow_startup()
        with quiet:
            status = _strategy.run_handler(args)  # args.func(args), under --strategy
    except SystemExit as exit_:  # --help and --version
        return exit_.code if isinstance(exit_.code, int) else 0
    except SeqrecipesError as error:
        message = str(error)
        if args is not None:  # written in Python's words: name the flags instead
            message = for_command_line(message, _invoked_actions(parser, args))
        print(f"seqrecipes: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("seqrecipes: interrupted", file=sys.stderr)
        return 130
    return 0 if status is None else int(status)
