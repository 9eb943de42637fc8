"""Every command README.md shows, run exactly as printed, one after another, in a fresh folder.

    python bench/readme_commands.py             # every runnable command, as a shell runs it
    python bench/readme_commands.py --list      # each command and where it is checked

The fresh folder holds the files the commands name (`reviews.csv`, `train.txt`, `input.txt`,
...), written from the embedded samples: the files a user would bring. `tests/test_readme.py`
runs the quick commands in-process and checks that every other one parses exactly as printed;
this script runs all of them in order through `bash`, as a user's shell would, and prints each
one's exit status, seconds and last output line. Commands that cannot run on one machine (the
two-machine example) are listed with the reason.

README figures measured on the embedded samples are re-measured here: each run's summary line
is printed, so a figure that drifted shows.
"""

import argparse
import contextlib
import gzip
import io
import os
import pathlib
import re
import shlex
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
README = REPO / "README.md"

MULTI_MACHINE = "needs two machines at 10.0.0.1 and 10.0.0.2 (tests/recipes/engine/test_distribute.py runs two workers on 127.0.0.1)"

# Where each README command is checked. "test": run by tests/test_readme.py (quick on the
# embedded samples); "bench": parsed as printed by the test, run by this script (minutes);
# anything else is the reason it cannot run here. A README command missing from this table,
# or an entry no longer in README, fails tests/test_readme.py: README cannot drift from it.
WHERE = {
    # Set-up: CI runs the test command itself (.ci/run); the main job's command runs below.
    'python3 -m venv .venv && . .venv/bin/activate && pip install -q . && seqrecipes sentiment train':
        "test",
    'python3 -m venv .venv && . .venv/bin/activate && pip install -q ".[test]" && python -m pytest && KERAS_BACKEND=jax python -m pytest -m backends':
        "CI runs it: .ci/run executes this line from a fresh clone",
    'seqrecipes params --model gru --units 128 64 --bidirectional --embedding-dim 100':
        "test",
    'seqrecipes sentiment train --data reviews.csv --text-column text --label-column label --run-dir runs/reviews':
        "test",
    'seqrecipes sentiment evaluate runs/reviews held_out.csv':
        "test",
    'seqrecipes sentiment predict runs/reviews "What a wonderful film" "Dull."':
        "test",
    'echo "A film I will not forget" | seqrecipes sentiment predict runs/reviews':
        "test",
    'seqrecipes sentiment export runs/reviews served/sentiment':
        "test",
    'seqrecipes params --model-file runs/reviews/model.keras':
        "test",
    "seqrecipes sentiment train --stream --data 'shards/train-*.tsv.gz' --run-dir runs/stream --validation valid.tsv --test test.tsv --vocabulary-sample 100000 --shuffle-buffer 10000":
        "test",
    "seqrecipes sentiment train --stream --data 'shards/train-*.tsv.gz' --run-dir runs/stream-vocabulary --validation valid.tsv --test test.tsv --vocabulary-file vocabulary.txt":
        "test",
    'seqrecipes ner train --train train.txt --dev valid.txt --test test.txt':
        "bench",
    'seqrecipes ner evaluate runs/ner test.txt':
        "bench",
    'seqrecipes ner predict runs/ner "John Smith flew to Paris with Acme Corp on Monday ."':
        "bench",
    'echo "Ada Lovelace met Charles Babbage in London ." | seqrecipes ner predict runs/ner':
        "bench",
    'seqrecipes ner export runs/ner served/ner':
        "bench",
    'seqrecipes vectors train --data corpus.txt --run-dir runs/vectors':
        "test",
    'seqrecipes vectors predict runs/vectors film':
        "test",
    'seqrecipes sentiment train --data reviews.csv --model gru --word-vectors runs/vectors/vectors.vec --run-dir runs/reviews-vectors':
        "test",
    'seqrecipes vectors train --data train.txt --algorithm fasttext --buckets 100000 --run-dir runs/ner-vectors':
        "bench",
    'seqrecipes ner train --train train.txt --dev valid.txt --word-vectors runs/ner-vectors/vectors.bin --run-dir runs/ner-vectors-run':
        "bench",
    'seqrecipes sentiment explain runs/reviews "What a wonderful film" "Dull." --html why.html --png why.png':
        "test",
    'seqrecipes sentiment explain runs/reviews --top 15 --png top.png':
        "test",
    'seqrecipes ner explain runs/ner "John Smith flew to Paris ."':
        "bench",
    'seqrecipes ner explain runs/ner "John Smith flew to Paris ." --token 4 --tag B-LOC':
        "bench",
    'seqrecipes sentiment export runs/reviews served/sentiment-onnx --format onnx':
        "test",
    'seqrecipes ner export runs/ner served/ner-onnx --format onnx':
        "bench",
    'seqrecipes char-lm export runs/char-lm served/char-lm-litert --format litert':
        "bench",
    'python bench/explain_faithfulness.py':
        "real data (IMDB and NSMC, minutes): run by hand; README's table below it is its output",
    # "bench": on a CPU, MirroredStrategy makes a multi-device iterator for every epoch's
    # train and validation pass (~1 s an epoch, measured with cProfile: make_iterator,
    # multi_device_iterator_init), so this run takes ~30 s against ~9 s without it; a GPU
    # machine's epochs hide that. tests/recipes/engine/test_distribute.py trains under it.
    'seqrecipes sentiment train --data reviews.tsv --strategy mirrored --batch-size 256 --run-dir runs/mirrored':
        "bench",
    'export TF_CONFIG=\'{"cluster": {"worker": ["10.0.0.1:12345", "10.0.0.2:12345"]}, "task": {"type": "worker", "index": 0}}\'':
        MULTI_MACHINE,
    'seqrecipes sentiment train --data reviews.tsv --strategy multi-worker --run-dir runs/big':
        MULTI_MACHINE,
    'export TF_CONFIG=\'{"cluster": {"worker": ["10.0.0.1:12345", "10.0.0.2:12345"]}, "task": {"type": "worker", "index": 1}}\'':
        MULTI_MACHINE,
    'seqrecipes sentiment train --data reviews.tsv --strategy multi-worker --run-dir runs/big':
        MULTI_MACHINE,
    'seqrecipes char-lm train':
        "bench",
    'seqrecipes char-lm train --data input.txt --mode stateful --dropout 0.1 --sequence-length 50 --batch-size 32 --epochs 10 --run-dir runs/shakespeare':
        "bench",
    'seqrecipes char-lm sample runs/char-lm --prompt "ROMEO:" --temperature 0.8 --top-k 5 --length 500':
        "bench",
    'seqrecipes inspect-cells runs/char-lm':
        "bench",
    'seqrecipes inspect-cells runs/char-lm --text input.txt --max-chars 3000 --run-dir runs/cells-input':
        "bench",
    'seqrecipes inspect-cells runs/char-lm --unit gru_2/h:117 --run-dir runs/cells-unit':
        "bench",
    'seqrecipes timeseries train':
        "bench",
    'seqrecipes timeseries train --data prices.csv --column close --window 30 --horizon 1 --run-dir runs/prices':
        "bench",
    'seqrecipes timeseries train --task labelling --run-dir runs/regimes':
        "bench",
    'seqrecipes seq2seq train --task reverse --run-dir runs/reverse':
        "bench",
    'seqrecipes seq2seq predict runs/reverse 4071 123456':
        "bench",
    'seqrecipes seq2seq train --task addition --run-dir runs/addition':
        "bench",
    'seqrecipes seq2seq train --task dates --bidirectional --encoder-layers 2 --run-dir runs/dates':
        "bench",
    'seqrecipes generate-from-vector train --max-digits 6 --noise 0.2':
        "bench",
    'seqrecipes gradient-flow --steps 100 --units 32':
        "bench",
    'seqrecipes bilm train --data corpus.txt --tokenizer whitespace':
        "bench",
    # A JAX process of its own: the tests' process has imported Keras on TensorFlow already.
    'seqrecipes ner train --backend jax --run-dir runs/ner-jax':
        "bench",
    'seqrecipes ner train --train small.conll --bilm runs/bilm --run-dir runs/ner-bilm':
        "bench",
}



def readme_blocks(path=README):
    """The commands of README's ```console and ```bash blocks, one list per block, in order.

    Console blocks give their `$ ` lines; bash blocks every line that is not a comment.
    Continuation lines (ending in a backslash) are joined and a trailing `# comment` is cut,
    as the shell would read them.
    """
    blocks = []
    for match in re.finditer(r"^```(console|bash)\n(.*?)^```", path.read_text(), re.S | re.M):
        kind, body = match.groups()
        lines, pending = [], ""
        for line in body.splitlines():
            if kind == "console":
                if not line.startswith("$ ") and not pending:
                    continue
                line = line[2:] if line.startswith("$ ") else line
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            pending += line.strip() if pending else line.rstrip()
            if pending.endswith("\\"):
                pending = pending[:-1].rstrip() + " "
                continue
            lines.append(_without_comment(pending))
            pending = ""
        if lines:
            blocks.append(lines)
    return blocks


def shown_output(path=README):
    """Command -> the output lines README shows under it in a ```console block."""
    shown, command = {}, None
    for match in re.finditer(r"^```console\n(.*?)^```", path.read_text(), re.S | re.M):
        for line in match.group(1).splitlines():
            if line.startswith("$ "):
                command = _without_comment(line[2:])
                shown[command] = []
            elif command is not None and line.strip():
                shown[command].append(line)
    return shown


def output_mismatches(shown_lines, output):
    """The README output lines that `output` does not show; `...` stands for anything."""
    printed = [" ".join(line.split()) for line in output.splitlines()]
    missing = []
    for line in shown_lines:
        pattern = ".*".join(re.escape(part) for part in " ".join(line.split()).split("..."))
        if not any(re.fullmatch(pattern, candidate) for candidate in printed):
            missing.append(line)
    return missing


def _without_comment(line):
    """`line` without a trailing shell comment (a `#` after white space, outside quotes)."""
    quote = None
    for index, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip()
    return line.rstrip()


def commands():
    """Every README command, in order."""
    return [command for block in readme_blocks() for command in block]


def seqrecipes_part(command):
    """The `seqrecipes ...` argument list a command runs and the text it pipes in, or None.

    `A && B && seqrecipes ...` runs its last part (the set-up commands install first);
    `echo "text" | seqrecipes ...` gives "text" on standard input.
    """
    command = command.split(" && ")[-1]
    stdin = None
    if " | " in command:
        feeder, command = command.split(" | ", 1)
        words = shlex.split(feeder)
        if words[0] != "echo":
            return None
        stdin = " ".join(words[1:]) + "\n"
    words = shlex.split(command)
    if not words or words[0] != "seqrecipes":
        return None
    return words[1:], stdin


def write_user_files(folder):
    """Writes the files README's commands name, from the embedded samples, into `folder`."""
    import pandas as pd

    from seqrecipes.datasets import sample_path

    folder = pathlib.Path(folder)
    reviews = pd.read_csv(sample_path("sentiment_en"))
    cut = int(len(reviews) * 0.8)
    reviews[:cut].to_csv(folder / "reviews.csv", index=False)
    reviews[cut:].to_csv(folder / "held_out.csv", index=False)
    reviews[:cut].to_csv(folder / "reviews.tsv", index=False, sep="\t")
    shards = folder / "shards"
    shards.mkdir(exist_ok=True)
    train, valid, test = reviews[:cut - 60], reviews[cut - 60:cut], reviews[cut:]
    for index, part in enumerate((train[::2], train[1::2])):
        with gzip.open(shards / f"train-{index}.tsv.gz", "wt", encoding="utf-8") as file:
            part.to_csv(file, index=False, sep="\t")
    valid.to_csv(folder / "valid.tsv", index=False, sep="\t")
    test.to_csv(folder / "test.tsv", index=False, sep="\t")
    # As the tokeniser writes them: lower case, punctuation stripped, split on white space.
    words = pd.Series(re.sub(r"[^\w\s]", "", " ".join(train["text"]).lower()).split())
    (folder / "vocabulary.txt").write_text("\n".join(words.value_counts().index) + "\n")
    (folder / "corpus.txt").write_text("\n".join(reviews["text"]) + "\n")
    for name, sample in (("train.txt", "ner_en.conll"), ("valid.txt", "ner_en.dev.conll"),
                         ("test.txt", "ner_en.test.conll"), ("small.conll", "ner_en.conll"),
                         ("input.txt", "char_lm.txt")):
        (folder / name).write_bytes(sample_path(sample).read_bytes())
    series = pd.read_csv(sample_path("timeseries"))
    series.rename(columns={"value": "close"}).to_csv(folder / "prices.csv", index=False)
    return folder


def run_in_process(command, folder):
    """Runs a README command through `seqrecipes.cli.main` in `folder`; returns (status, output).

    What the tests use: TensorFlow is imported once for all the commands.
    """
    from seqrecipes.cli import main

    parsed = seqrecipes_part(command)
    if parsed is None:
        raise ValueError(f"not a seqrecipes command: {command}")
    argv, stdin = parsed
    output = io.StringIO()
    previous = os.getcwd()
    os.chdir(folder)
    real_stdin = sys.stdin
    try:
        sys.stdin = io.StringIO(stdin or "")
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            status = main(argv)
    finally:
        sys.stdin = real_stdin
        os.chdir(previous)
    return status, output.getvalue()


def run_in_shell(command, folder, environment):
    """Runs a README command with bash in `folder`, exactly as printed."""
    started = time.perf_counter()
    done = subprocess.run(["bash", "-c", command], cwd=folder, capture_output=True, text=True,
                          env=environment)
    return done.returncode, time.perf_counter() - started, done.stdout + done.stderr


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="list the commands and stop")
    parser.add_argument("--folder", default=None, help="run here (default: a new temp folder)")
    args = parser.parse_args(argv)
    if args.list:
        for command in commands():
            print(f"[{WHERE.get(command, 'NOT LISTED')}] {command}")
        return 0
    folder = pathlib.Path(args.folder or tempfile.mkdtemp(prefix="readme-"))
    folder.mkdir(parents=True, exist_ok=True)
    write_user_files(folder)
    environment = dict(os.environ)
    environment["PATH"] = f"{pathlib.Path(sys.executable).parent}:{environment['PATH']}"
    failures = 0
    for command in commands():
        where = WHERE.get(command, "NOT LISTED in bench/readme_commands.py WHERE")
        if where not in ("test", "bench") or seqrecipes_part(command) is None:
            print(f"-- not run: {command}\n   ({where})")
            continue
        shell_command = command.split(" && ")[-1]  # set-up lines: the package is installed
        status, seconds, output = run_in_shell(shell_command, folder, environment)
        failures += status != 0
        tail = [line for line in output.splitlines() if line.strip()][-3:]
        print(f"{'ok ' if status == 0 else 'FAIL'} {seconds:6.1f} s  {command}")
        for line in tail:
            print(f"       {line[:160]}")
    print(f"{failures} failed; folder: {folder}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
