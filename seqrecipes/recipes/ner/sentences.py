"""Sentences given to `ner predict` and `ner explain`: arguments, --file or standard input.

One sentence a line, split on white space by the model; with --tokenized each line is a JSON
list of tokens instead.
"""

import json

from seqrecipes.errors import DataError
from seqrecipes.recipes.engine import flags as _cli


def read_sentences(args):
    """The sentences of `predict` and `explain`: arguments, --file or standard input, one a
    line; with --tokenized each is a JSON list of tokens. An empty input is refused."""
    sentences, source = _cli.read_texts(args, "sentences")
    if args.tokenized:
        where = ((lambda number: f"SENTENCE {number}") if source == "the arguments" else
                 (lambda number: f"{source}:{number}"))
        sentences = parse_token_lists(sentences, where)
    return _cli.require_texts(sentences, source, "sentences")


def parse_token_lists(lines, where):
    """Token lists from JSON lines (`--tokenized`); a blank line is an empty sentence."""
    sentences = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            sentences.append([])
            continue
        try:
            tokens = json.loads(line)
        except ValueError as error:
            tokens, reason = None, str(error)
        else:
            reason = "not a list of strings"
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise DataError(
                f"{where(number)}: with `tokenized` every sentence must be a JSON list of "
                f'tokens, e.g. ["Ada", "Lovelace"] ({reason}). Received: {line!r:.120}.'
            )
        sentences.append(tokens)
    return sentences
