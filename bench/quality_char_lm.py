"""Character language model quality on Tiny Shakespeare: validation nats (and bits) per character.

Trains `seqrecipes.recipes.char_lm.run` on karpathy/char-rnn's `input.txt`, first 90% of the
characters for training and the last 10% for validation (the char-rnn / nanoGPT convention),
and prints the validation loss in nats and bits per character, the wall time of training and
a 500-character sample. The target is <= 1.50 nats per character within 30 minutes of
training on a 2-core CPU. The defaults below are the configuration that reached it (see the
README section "Character language model" for what else was tried).

    python bench/quality_char_lm.py
    python bench/quality_char_lm.py --mode windows --epochs 3

The text is read from ../shared/data/tinyshakespeare beside the repository (never downloaded),
or from `--data`. The run directory goes to `bench/runs/char_lm` (ignored by git) unless
`--run-dir` says otherwise.
"""

import argparse
import json
import math
import os
import pathlib
import shutil
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data" / "tinyshakespeare" / "input.txt"
TARGET_NATS = 1.50
BUDGET_SECONDS = 30 * 60

from seqrecipes.recipes import char_lm  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--mode", default="stateful", choices=char_lm.MODES)
    parser.add_argument("--cell", default="gru")
    parser.add_argument("--units", type=int, nargs="+", default=[256, 256])
    parser.add_argument("--embedding-dim", type=int, default=64)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--sequence-length", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=0.002)
    parser.add_argument("--lr-schedule", default="cosine")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--run-dir", default=str(REPO / "bench" / "runs" / "char_lm"))
    parser.add_argument("--verbose", type=int, default=2)
    args = parser.parse_args(argv)
    if not pathlib.Path(args.data).is_file():
        print(f"Tiny Shakespeare not found at {args.data}; pass --data.", file=sys.stderr)
        return 1
    # A timing starts from scratch: an interrupted earlier run in --run-dir would be resumed.
    state = pathlib.Path(args.run_dir) / ".training"
    if state.is_dir():
        print(f"removing the interrupted run's state in {state}")
        shutil.rmtree(state)
    started = time.perf_counter()
    result = char_lm.run(
        data=args.data, validation_fraction=0.1, mode=args.mode, cell=args.cell,
        units=tuple(args.units), embedding_dim=args.embedding_dim, dropout=args.dropout,
        sequence_length=args.sequence_length, lr_schedule=args.lr_schedule,
        prompt="\n", sample_length=500, temperature=0.8, top_k=None,
        run_dir=args.run_dir, overwrite=True, epochs=args.epochs, batch_size=args.batch_size,
        learning_rate=args.learning_rate, clipnorm=5.0, patience=args.patience,
        seed=args.seed, verbose=args.verbose,
    )
    total = time.perf_counter() - started
    metrics = result.metrics
    print()
    print(f"configuration: {vars(args)}")
    for row in result.history:
        print(f"  epoch {row['epoch']:2d}: train {row['loss']:.4f}  validation "
              f"{row['val_loss']:.4f} nats/char")
    print(f"validation loss (best epoch {metrics['best_epoch']}, {metrics['validation_context']})"
          f": {metrics['validation_loss']:.4f} nats/char = "
          f"{metrics['validation_bits_per_char']:.4f} bits/char")
    print(f"  with the state carried through the validation text: "
          f"{metrics['validation_loss_carried_state']:.4f} nats/char "
          f"({metrics['validation_loss_carried_state'] / math.log(2):.4f} bits)")
    print(f"  from a zero state every {args.sequence_length} characters: "
          f"{metrics['validation_loss_windows']:.4f} nats/char "
          f"({metrics['validation_loss_windows'] / math.log(2):.4f} bits)")
    print(f"training {metrics['training_seconds']:.0f} s (validation included), whole run "
          f"{total:.0f} s; {metrics['epochs_trained']} epochs of "
          f"{metrics['training_characters']:,} characters")
    met = metrics["validation_loss"] <= TARGET_NATS and metrics["training_seconds"] <= BUDGET_SECONDS
    print(f"target <= {TARGET_NATS} nats within {BUDGET_SECONDS // 60} min: "
          f"{'met' if met else 'NOT met'}")
    print("\nsample (temperature 0.8, 500 characters after a line break):")
    print(result.sample)
    summary = {"configuration": vars(args), "metrics": metrics, "whole_run_seconds": total,
               "sample": result.sample}
    print(json.dumps(summary["metrics"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
