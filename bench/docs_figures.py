"""Regenerates the README's figures for the char-lm, inspect-cells and timeseries recipes.

    python bench/docs_figures.py --char-lm-run bench/runs/char_lm     # after quality_char_lm.py

Runs the recipes with their defaults (the time-series ones on the embedded samples, in about a
minute) and `inspect-cells` on the given char-lm run (by default the Tiny Shakespeare model
that `bench/quality_char_lm.py` writes) over the first 3000 characters of Tiny Shakespeare,
then copies the figures the README shows into `docs/`. Without a char-lm run the heat map is
skipped.
"""

import argparse
import json
import os
import pathlib
import shutil
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHAKESPEARE = REPO.parent / "shared" / "data" / "tinyshakespeare" / "input.txt"
DOCS = REPO / "docs"

from seqrecipes.recipes import inspect_cells, timeseries  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--char-lm-run", default=str(REPO / "bench" / "runs" / "char_lm"))
    parser.add_argument("--text", default=str(SHAKESPEARE))
    parser.add_argument("--skip-timeseries", action="store_true")
    args = parser.parse_args(argv)
    DOCS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        if not args.skip_timeseries:
            for task, name in (("regression", "timeseries_regression.png"),
                               ("labelling", "timeseries_labelling.png")):
                result = timeseries.run(task=task, run_dir=scratch / task, verbose=0)
                shutil.copy(result.run_dir / "predictions.png", DOCS / name)
                print(task, json.dumps(result.metrics["test"]))
        if pathlib.Path(args.char_lm_run, "run.json").is_file():
            result = inspect_cells.run(args.char_lm_run, text=args.text, max_chars=3000,
                                       heatmap_chars=640, columns=64,
                                       run_dir=scratch / "inspect", verbose=1)
            for name, entry in result.metrics["best"].items():
                unit = entry["unit"].replace("/", "_").replace(":", "_")
                shutil.copy(result.run_dir / f"{name}_heatmap_{unit}.png",
                            DOCS / f"inspect_cells_{name}.png")
            shutil.copy(result.run_dir / "top_units.csv", DOCS / "inspect_cells_top_units.csv")
        else:
            print(f"No char-lm run at {args.char_lm_run}: heat maps skipped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
