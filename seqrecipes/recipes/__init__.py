"""Recipes: each takes a file to a trained, evaluated, saved model (`train(...)` and a CLI).

Every recipe that has a verb gives it the same name and the same shape (STYLE.md, "Naming"):

    seqrecipes RECIPE train [flags]                       Python: RECIPE.train(**flags)
    seqrecipes RECIPE evaluate RUN_DIR DATA               RECIPE.evaluate(run_dir, data)
    seqrecipes RECIPE predict RUN_DIR [TEXT ...] [--file FILE]   (no TEXT: standard input)
    seqrecipes RECIPE export RUN_DIR DIR [--overwrite] [--format F]
                                                          RECIPE.export(run_dir, dir)
    seqrecipes RECIPE explain RUN_DIR [TEXT ...] [--file FILE]   RECIPE.explain(run_dir, texts)

`--verbose 0` turns the progress display off; the summary and where the run went are printed
whatever it is, and `--quiet` silences standard output. `VERBS` lists each command's verbs
(tests/recipes/test_contract.py checks it against the real parsers); the diagnostic tools
(`params`, `gradient-flow`, `inspect-cells`) are single commands without verbs.
"""

VERBS = {  # command -> its verbs, in the order `--help` lists them
    "sentiment": ("train", "evaluate", "predict", "export", "explain"),
    "ner": ("train", "evaluate", "predict", "export", "explain"),  # evaluate: DATA may be left out
    "char-lm": ("train", "sample", "export"),
    "timeseries": ("train", "export"),
    "seq2seq": ("train", "predict"),
    "generate-from-vector": ("train",),
    "bilm": ("train",),
    "gradient-flow": (),
    "inspect-cells": (),
    "params": (),
    # No evaluate: unlabelled text has no reference to score vectors against; the recipe that
    # reads them (--word-vectors) measures what they add.
    "vectors": ("train", "predict"),
}
