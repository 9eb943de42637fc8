"""The NER recipe against spaCy, on the same sentences, scored the same way, in one run.

Peers (spaCy 3.8 is in the `bench` extra, never the package's requirements):

- `spacy-efficiency`, `spacy-accuracy`: spaCy's `ner` pipeline from
  `spacy init config --pipeline ner --optimize efficiency|accuracy` (CPU), trained by its own
  loop (`python -m spacy train`) with the config's own settings: evaluation on the dev set
  every 200 steps, early stopping after 1,600 steps without a better dev score, at most 20,000
  steps, the best dev checkpoint kept (`model-best`). No vectors on either side: the accuracy
  config asks for static vectors, so `include_static_vectors` is set to false there (the only
  change to either config). English uses `en` (its lexical attributes: shape, prefix,
  suffix); KLUE uses the multi-language `xx`, since `ko` needs mecab for a tokenizer that is
  never used here.
- `recipe`: `seqrecipes ner train` with its defaults and the files `bench/quality_ner.py`
  gives it, plus `--recipe-flags`.

Same sentences: the splits come from the recipe's own code. CoNLL-2003: train.txt, valid.txt
(early stopping) and test.txt. KLUE-NER: `quality_ner.klue_split` (sentence i % 5 == 4 is
test) and the recipe's held-out dev part (`ner.data.load_splits`: 10% of the training part,
chosen with the recipe's seed, 1234 unless `--recipe-flags` says otherwise); spaCy trains on
the rest and stops early on that same dev part.

Same tokens and context: spaCy is given our tokens and IOB2 tags as `Doc(words=..., ents=...)`
(a DocBin), never its tokenizer. The recipe reads a document's consecutive sentences together
in chunks of at most 128 tokens (`--context-tokens`); spaCy gets the very same chunks, each
one `Doc` with the sentence starts marked, instead of its converter's 10 sentences per `Doc`
(`-n 10`). KLUE has no documents: every sentence is a `Doc`, as it is a chunk for the recipe.
spaCy's NER never lets an entity cross a marked sentence start, so its entities cut back into
the gold sentences exactly.

Same scorer: spaCy's predicted entities on the gold tokens become IOB2 tags and are scored by
the recipe's own `entity_metrics` (seqeval, micro P/R/F1 and per type), on dev and test.
spaCy's own scorer figure (`spacy.scorer.get_ner_prf`) is printed beside it for reference.

Time: each peer trains in a child process; its wall seconds and CPU seconds (user + system,
`resource.getrusage(RUSAGE_CHILDREN)`) are measured around it. spaCy's figure covers its whole
`spacy train` process (reading the DocBins, training, dev evaluations, saving); the recipe's
its whole `ner train` (reading, vocabularies, training, dev and test scoring, saving), and its
own training seconds (epochs and dev scoring) are listed too. `--max-minutes N` caps every
peer at N minutes of wall time: the child gets SIGINT, spaCy then keeps its best checkpoint
so far, and the recipe keeps its last finished epoch, which a second `ner train --epochs
<epochs done>` on the same run directory resumes and scores (the recipe's own resumption). A
capped row says `capped`. `--recipe-at-spacy-time` caps the recipe instead at the wall seconds
the spaCy peer before it took in this same run, on the same data (issue 18's time target: the
recipe's test F1 at spaCy's time, both measured under the same conditions; spaCy's own time
has moved between 6.4 and 16.4 minutes over runs of the same command).

Time to an F1: test F1 is computed once, after training (early stopping reads dev only), so
the time a peer needs to reach a test F1 is not observable. Its dev curve is: every dev
evaluation (spaCy's every 200 steps, the recipe's every epoch) with the time its log line came
out, in the JSON; `--time-to-dev-f1 F` prints when each peer first reached dev F1 F.

    python bench/peers_ner.py                                   # both data sets, all peers
    python bench/peers_ner.py --data klue --max-minutes 1       # a smoke run: minutes
    python bench/peers_ner.py --data conll2003 --peers spacy-efficiency recipe \\
        --recipe-flags="--units 100"
    python bench/peers_ner.py --data conll2003 --time-to-dev-f1 0.9
    python bench/peers_ner.py --data conll2003 --peers spacy-efficiency recipe \\
        --recipe-at-spacy-time --recipe-flags="--encoder cnn"

Prints a table (peer, config, dev F1, test F1, training seconds, epochs) and writes every
figure to bench/results/peers_ner.json. The data are read from ../shared/data beside the
repository (never downloaded), or from `--data-dir`.
"""

import argparse
import json
import os
import pathlib
import re
import shlex
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
SHARED = REPO.parent / "shared" / "data"

import quality_ner  # noqa: E402  (the recipe's files and KLUE's split)
from children import Child  # noqa: E402

PEERS = ("spacy-efficiency", "spacy-accuracy", "recipe")
LANGUAGE = {"conll2003": "en", "klue": "xx"}  # spaCy's; `ko` would need mecab
# The accuracy config embeds static vectors; without vectors spaCy refuses to initialise it.
NO_VECTORS = {"accuracy": {"components.tok2vec.model.embed.include_static_vectors": "false"}}
SUMMARY = ("data", "peer", "error", "epochs", "steps", "stopped", "seconds", "cpu_seconds")


def recipe_settings(files, flags):
    """The recipe's parsed `ner train` arguments: its split seed, columns and context size."""
    from seqrecipes.cli import build_parser

    return build_parser().parse_args(["ner", "train", *files, *flags])


def sentences(settings):
    """`(train, dev, test)` `TaggedSentences` exactly as the recipe splits them."""
    from seqrecipes.recipes.ner.data import load_splits

    train, dev, test, _ = load_splits(
        train=settings.train, dev=settings.dev, test=settings.test,
        dev_fraction=settings.dev_fraction, seed=settings.seed,
        token_column=settings.token_column, tag_column=settings.tag_column,
        scheme=settings.scheme, delimiter=settings.delimiter, invalid=settings.invalid,
    )
    return train, dev, test


def documents(vocab, data, context_tokens, *, gold):
    """spaCy `Doc`s of the recipe's chunks: `[(sentence indices, Doc)]`, gold entities or none.

    The chunks are `ner.documents.pack`'s (the recipe's), less its separator tokens: each
    sentence's first token is marked as a sentence start instead.
    """
    from spacy.tokens import Doc

    from seqrecipes.recipes.ner.documents import documents_of, pack

    chunks = pack(data.tokens, None, documents_of(data), context_tokens=context_tokens)
    result = []
    for pieces in chunks.pieces:
        order = [sentence for sentence, _, _ in pieces]
        words = [token for i in order for token in data.tokens[i]]
        starts = [position == 0 for i in order for position in range(len(data.tokens[i]))]
        ents = [tag for i in order for tag in data.tags[i]] if gold else None
        result.append((order, Doc(vocab, words=words, sent_starts=starts, ents=ents)))
    return result


def sentence_tags(pairs, tokens):
    """IOB2 tags of every sentence of `tokens` from the entities of `documents`' pairs."""
    tags = [None] * len(tokens)
    for order, doc in pairs:
        doc_tags = [f"{token.ent_iob_}-{token.ent_type_}" if token.ent_iob_ in ("B", "I")
                    else "O" for token in doc]
        start = 0
        for i in order:
            tags[i], start = doc_tags[start:start + len(tokens[i])], start + len(tokens[i])
        if start != len(doc):
            raise RuntimeError(f"a Doc of {len(doc)} tokens for sentences of {start}")
    return tags


def write_docbin(pairs, path):
    from spacy.tokens import DocBin

    DocBin(docs=[doc for _, doc in pairs]).to_disk(path)
    return path


class PeerFailed(Exception):
    """A peer gave no model to score; its row says why and the run goes on."""


def spacy_peer(optimize, language, splits, context_tokens, scratch, cap_seconds):
    """Trains spaCy's `ner` pipeline (its `optimize` config) and scores it like the recipe."""
    import spacy
    from spacy.scorer import get_ner_prf
    from spacy.training import Example

    folder = pathlib.Path(tempfile.mkdtemp(prefix=f"spacy_{optimize}_", dir=scratch))
    vocab = spacy.blank(language).vocab
    gold = {role: documents(vocab, data, context_tokens, gold=True)
            for role, data in zip(("train", "dev", "test"), splits)}
    paths = {role: write_docbin(pairs, folder / f"{role}.spacy") for role, pairs in
             gold.items()}
    config = folder / "config.cfg"
    subprocess.run([sys.executable, "-m", "spacy", "init", "config", str(config), "--lang",
                    language, "--pipeline", "ner", "--optimize", optimize, "--force"],
                   check=True, stdout=subprocess.DEVNULL)
    overrides = {"paths.train": str(paths["train"]), "paths.dev": str(paths["dev"]),
                 **NO_VECTORS.get(optimize, {})}
    child = Child([sys.executable, "-m", "spacy", "train", str(config), "--output",
                   str(folder / "output"),
                   *[part for key, value in overrides.items() for part in (f"--{key}", value)]],
                  prefix=f"[spacy-{optimize}]", cap_seconds=cap_seconds).run()
    model = folder / "output" / "model-best"
    if not model.is_dir():
        model = folder / "output" / "model-last"  # capped before its first evaluation
    if not model.is_dir():
        raise PeerFailed(f"spacy train wrote no model (exit status {child.returncode})")
    nlp = spacy.load(model)
    row = {"config": f"spacy init config --pipeline ner --optimize {optimize} --lang "
                     f"{language}" + "".join(f" {k}={v}" for k, v in
                                             NO_VECTORS.get(optimize, {}).items()),
           "model": model.name, **_spacy_log(child.lines, spacy.util.load_config(config))}
    for role, data in zip(("dev", "test"), splits[1:]):
        words = documents(nlp.vocab, data, context_tokens, gold=False)
        predicted = [(order, doc) for (order, _), doc in
                     zip(words, nlp.pipe(doc for _, doc in words))]
        row[role] = _scores(data.tags, sentence_tags(predicted, data.tokens))
        own = get_ner_prf([Example(doc, gold_doc) for (_, doc), (_, gold_doc) in
                           zip(predicted, gold[role])])
        row[role]["spacy_scorer_f1"] = own["ents_f"]
    row.update(_timing(child))
    if child.capped:
        row["stopped"] = "time cap"
    return row


def _spacy_log(lines, config):
    """Epochs, steps, the dev curve and why training stopped, from spaCy's console table."""
    header, rows = None, []
    for seconds, line in lines:
        fields = line.split()
        if "ENTS_F" in fields:
            header = fields
        elif header and len(fields) == len(header) - 2 and re.fullmatch(r"\d+", fields[0]):
            # the header's "LOSS TOK2VEC" and "LOSS NER" are two words each
            rows.append((seconds, int(fields[0]), int(fields[1]),
                         round(float(fields[header.index("ENTS_F") - 2]) / 100, 4)))
    if not rows:
        return {"epochs": 0, "steps": 0, "dev_curve": []}
    training = config["training"]
    _, epoch, steps, _ = rows[-1]
    best = max(rows, key=lambda row: row[3])
    return {"epochs": epoch + 1, "steps": steps, "best_step": best[2],
            "stopped": ("max_steps" if steps >= training["max_steps"] else "patience"),
            "dev_curve": [[round(seconds, 1), f1] for seconds, _, _, f1 in rows]}


def recipe_peer(files, flags, scratch, cap_seconds):
    """`seqrecipes ner train` in a child process; capped runs resume to score their best epoch."""
    run_dir = pathlib.Path(tempfile.mkdtemp(prefix="recipe_", dir=scratch)) / "run"
    # TensorFlow unless `flags` say otherwise (README's figures were measured there; `ner
    # train` would take JAX for CoNLL-2003's 3.3 MB: backend.PreferJax).
    command = [sys.executable, "-m", "seqrecipes", "ner", "train", *files, "--backend",
               "tensorflow", "--run-dir", str(run_dir), "--verbose", "2", *flags]
    children = [Child(command, prefix="[recipe]", cap_seconds=cap_seconds).run()]
    if children[0].capped:
        state = run_dir / ".training" / "state.json"
        done = json.loads(state.read_text())["epochs_done"] if state.is_file() else 0
        if not done:
            raise PeerFailed(f"no epoch finished within {cap_seconds / 60:g} min")
        children.append(Child([*command, "--epochs", str(done)], prefix="[recipe]",
                              cap_seconds=None).run())
    if children[-1].returncode:
        raise PeerFailed(f"ner train failed (exit status {children[-1].returncode})")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    row = {"config": shlex.join(flags) or "defaults", "command": shlex.join(command),
           "epochs":
           metrics["epochs_trained"], "best_epoch": metrics["best_epoch"],
           "stopped": ("time cap" if children[0].capped else "patience"
                       if metrics["stopped_early"] else "epochs"),
           "training_seconds": metrics["training_seconds"],
           "dev_curve": _recipe_curve(children[0].lines)}
    for role in ("dev", "test"):
        row[role] = {key: metrics[role][key] for key in ("precision", "recall", "f1",
                                                         "per_type")}
        for group in ("seen", "unseen"):  # entities whose surface form training annotated
            if metrics[role].get(group):
                row[role][group] = {key: metrics[role][group][key]
                                    for key in ("f1", "num_entities")}
    row.update(_timing(*children))
    return row


def _recipe_curve(lines):
    """The recipe's dev curve, [seconds since its process started, dev entity F1] per epoch,
    from its `--verbose 2` epoch lines (the times at which they came out, as for spaCy)."""
    return [[round(seconds, 1), float(match.group(1))] for seconds, line in lines
            if (match := re.search(r"\bval_entity_f1: ([\d.]+)", line))]


def _scores(gold, predicted):
    from seqrecipes import _tf_logs

    with _tf_logs.quiet_tensorflow_startup():  # entities imports Keras
        from seqrecipes.recipes.ner.entities import entity_metrics

    scores = entity_metrics(gold, predicted)
    return {key: scores[key] for key in ("precision", "recall", "f1", "per_type")}


def _timing(*children):
    return {"seconds": round(sum(child.seconds for child in children), 1),
            "cpu_seconds": round(sum(child.cpu_seconds for child in children), 1),
            "capped": children[0].capped}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", nargs="+", default=list(LANGUAGE), choices=LANGUAGE)
    parser.add_argument("--peers", nargs="+", default=list(PEERS), choices=PEERS)
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="wall-clock cap of every peer's training (default: none)")
    parser.add_argument("--recipe-at-spacy-time", action="store_true",
                        help="cap the recipe at the wall seconds the spaCy peer listed "
                             "before it took in this run")
    parser.add_argument("--recipe-flags", type=shlex.split, default=[],
                        help='flags for `seqrecipes ner train`, e.g. --recipe-flags="--units 100"')
    parser.add_argument("--time-to-dev-f1", type=float, default=None, metavar="F1",
                        help="also print when each peer's dev entity F1 first reached F1")
    parser.add_argument("--data-dir", type=pathlib.Path, default=SHARED)
    parser.add_argument("--results-dir", type=pathlib.Path, default=REPO / "bench" / "results")
    args = parser.parse_args(argv)
    if args.max_minutes is not None and args.max_minutes <= 0:
        parser.error(f"--max-minutes must be above 0 (received {args.max_minutes:g})")
    cap = args.max_minutes * 60 if args.max_minutes else None
    peers = list(args.peers)
    if args.recipe_at_spacy_time and not _spacy_before_recipe(peers):
        parser.error("--recipe-at-spacy-time needs a spaCy peer listed before `recipe` in "
                     f"--peers (received --peers {' '.join(peers)})")
    if any(peer.startswith("spacy-") for peer in peers):
        try:
            import spacy as _  # noqa: F401
        except ImportError:
            if args.recipe_at_spacy_time:
                parser.error('--recipe-at-spacy-time needs spaCy, which is not installed: '
                             'pip install "seqrecipes[bench]"')
            print('skipped spaCy: not installed (pip install "seqrecipes[bench]")')
            peers = [peer for peer in peers if not peer.startswith("spacy-")]
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="peers_ner_"))
    rows = []
    for name in args.data:
        folder = args.data_dir / quality_ner.FOLDERS[name]
        if not folder.is_dir():
            print(f"skipped {name}: {folder} not found")
            continue
        files = quality_ner.recipe_files(name, folder, scratch)
        settings = recipe_settings(files, args.recipe_flags)
        splits = sentences(settings)
        sizes = dict(zip(("train", "dev", "test"), map(len, splits)))
        print(f"{name}: {sizes} sentences; chunks of at most {settings.context_tokens} "
              "tokens", flush=True)
        spacy_seconds = None  # the wall seconds of the spaCy peer just before, on this data
        for peer in peers:
            try:
                if peer == "recipe":
                    if args.recipe_at_spacy_time and spacy_seconds is None:
                        raise PeerFailed("--recipe-at-spacy-time: the spaCy peer before it "
                                         "failed, so there is no time to cap it at")
                    recipe_cap = spacy_seconds if args.recipe_at_spacy_time else cap
                    row = recipe_peer(files, args.recipe_flags, scratch, recipe_cap)
                    row["cap_seconds"] = recipe_cap
                else:
                    spacy_seconds = None  # until this peer has a time (it may fail)
                    row = spacy_peer(peer.removeprefix("spacy-"), LANGUAGE[name], splits,
                                     settings.context_tokens, scratch, cap)
                    spacy_seconds = row["seconds"]
            except PeerFailed as error:  # the other peers still run
                row = {"error": str(error)}
            row.update(data=name, peer=peer, sentences=sizes)
            rows.append(row)
            summary = {key: row[key] for key in SUMMARY if key in row}
            summary.update({f"{role}_f1": row[role]["f1"] for role in ("dev", "test")
                            if role in row})
            print(json.dumps(summary), flush=True)
    _table(rows)
    if args.time_to_dev_f1 is not None:
        _time_to(rows, args.time_to_dev_f1)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    output = args.results_dir / "peers_ner.json"
    output.write_text(json.dumps({"max_minutes": args.max_minutes,
                                  "recipe_at_spacy_time": args.recipe_at_spacy_time,
                                  "recipe_flags": args.recipe_flags,
                                  "time_to_dev_f1": args.time_to_dev_f1, "rows": rows},
                                 indent=1) + "\n")
    print(f"written to {output}")


def _spacy_before_recipe(peers):
    """Whether `peers` lists a spaCy peer before the recipe (`--recipe-at-spacy-time`)."""
    return "recipe" in peers and any(peer.startswith("spacy-")
                                     for peer in peers[:peers.index("recipe")])


def _table(rows):
    print(f"\n{'data':<9} {'peer':<16} {'dev F1':>7} {'test F1':>7} {'wall s':>8} "
          f"{'CPU s':>8} {'epochs':>6}  stopped")
    for row in rows:
        if "error" in row:
            print(f"{row['data']:<9} {row['peer']:<16} failed: {row['error']}")
            continue
        print(f"{row['data']:<9} {row['peer']:<16} {row['dev']['f1']:>7.4f} "
              f"{row['test']['f1']:>7.4f} {row['seconds']:>8.0f} {row['cpu_seconds']:>8.0f} "
              f"{row['epochs']:>6}  {'capped' if row['capped'] else row['stopped']}")
    for row in rows:
        if "error" in row:
            continue
        if row["peer"] != "recipe":
            print(f"{row['data']} {row['peer']}: spaCy's own scorer, dev F1 "
                  f"{row['dev']['spacy_scorer_f1']:.4f}, test F1 "
                  f"{row['test']['spacy_scorer_f1']:.4f}")
        else:
            print(f"{row['data']} recipe: {row['training_seconds']:.0f} s of training "
                  "(epochs and dev scoring) within its whole run")
            if "seen" in row["test"]:
                print(f"{row['data']} recipe: test seen F1 {row['test']['seen']['f1']:.4f} "
                      f"({row['test']['seen']['num_entities']:,} entities), unseen F1 "
                      f"{row['test']['unseen']['f1']:.4f} "
                      f"({row['test']['unseen']['num_entities']:,})")



def _time_to(rows, target):
    """When each peer's dev F1 first reached `target`, in seconds since its process started.

    Test F1 per epoch or step is never computed (early stopping reads dev only), so a time to
    a test F1 is not observable; the dev curve is. Its resolution is one evaluation: an
    epoch of the recipe, 200 steps of spaCy.
    """
    print(f"\nfirst dev entity F1 >= {target:g} (seconds since the peer's process started):")
    for row in rows:
        if "error" in row:
            continue
        reached = next((seconds for seconds, f1 in row["dev_curve"] if f1 >= target), None)
        row["time_to_dev_f1"] = reached
        print(f"{row['data']:<9} {row['peer']:<16} "
              + (f"{reached:.0f} s" if reached is not None else "not reached"))


if __name__ == "__main__":
    main()
