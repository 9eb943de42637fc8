"""The NER recipe end to end through `main([...])`: train, evaluate, predict, export, errors."""

import io
import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import keras

from seqrecipes.cli import main
from seqrecipes.datasets import sample_path
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.recipes import ner
from seqrecipes.recipes.engine.artifacts import load_run
from seqrecipes.recipes.ner.entities import entity_metrics, entity_spans, token_offsets
from seqrecipes.recipes.ner.documents import SEPARATOR, pack
from seqrecipes.recipes.ner.tagger import tag_sentences

TINY = [
    "--embedding-dim", "8", "--units", "4", "--char-embedding-dim", "4", "--char-filters", "4",
    "--batch-size", "16", "--verbose", "0",
]


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    """A tiny tagger trained for two epochs on the embedded sample (all defaults otherwise)."""
    run_dir = tmp_path_factory.mktemp("ner") / "run"
    status = main(["ner", "train", "--run-dir", str(run_dir), "--epochs", "2", *TINY])
    assert status == 0
    return run_dir


def write_conll(path, sentences, document_size=None):
    """Writes [(tokens, tags), ...] as a 2-column CoNLL file (-DOCSTART- every few sentences)."""
    lines = []
    for index, (tokens, tags) in enumerate(sentences):
        if document_size and index % document_size == 0:
            lines += ["-DOCSTART- O", ""]
        lines += [f"{token} {tag}" for token, tag in zip(tokens, tags)] + [""]
    path.write_text("\n".join(lines))
    return path


def tiny_language(folder):
    """Writes train and dev files of a tiny, regular language: Ada Lovelace (PER) and Paris
    (LOC) among filler words, in documents of four sentences; returns their paths."""
    rng = np.random.default_rng(0)
    fillers = ["the", "a", "met", "saw", "in", "today", "we", "they", "then", "and"]
    sentences = []
    for _ in range(60):
        units = [([word], ["O"]) for word in rng.choice(fillers, size=4)]
        for kind in [["PER"], ["LOC"], ["PER", "LOC"]][int(rng.integers(0, 3))]:
            entity = (["Ada", "Lovelace"], ["B-PER", "I-PER"]) if kind == "PER" else (
                ["Paris"], ["B-LOC"])
            units.insert(int(rng.integers(0, len(units) + 1)), entity)
        sentences.append(([w for u in units for w in u[0]], [t for u in units for t in u[1]]))
    return (write_conll(folder / "train.conll", sentences[:50], document_size=4),
            write_conll(folder / "dev.conll", sentences[50:], document_size=4))


LEARNING = ["--char-features", "none", "--embedding-dim", "8", "--epochs", "6",
            "--patience", "3", "--learning-rate", "0.05", "--batch-size", "8", "--verbose", "0",
            "--embedding-dropout", "0", "--head-dropout", "0", "--context-tokens", "14"]


@pytest.fixture(scope="module")
def learned_run(tmp_path_factory):
    """A tagger trained until it finds the entities of a tiny, regular language.

    It reads the sentences of a document two at a time (`--context-tokens 14`), so the dev
    scores go through chunks cut back into sentences.
    """
    folder = tmp_path_factory.mktemp("learned")
    train, dev = tiny_language(folder)
    run_dir = folder / "run"
    status = main(["ner", "train", "--train", str(train), "--dev", str(dev), "--run-dir",
                   str(run_dir), "--units", "8", *LEARNING])
    assert status == 0
    return run_dir


def test_train_writes_a_complete_run(sample_run, capsys):
    loaded = load_run(sample_run)
    for name in ("model.keras", "config.json", "metrics.json", "history.csv",
                 "training_curves.png", "report.txt", "test_predictions.conll"):
        assert (sample_run / name).is_file(), name
    assert loaded.config["tags"] == [
        "B-LOC", "B-MISC", "B-ORG", "B-PER", "I-LOC", "I-MISC", "I-ORG", "I-PER", "O",
    ]
    for role in ("dev", "test"):
        scores = loaded.metrics[role]
        assert set(scores["per_type"]) == {"LOC", "MISC", "ORG", "PER"}
        assert 0.0 <= scores["f1"] <= 1.0
        assert "accuracy" not in scores  # entity scores only
    assert loaded.metrics["test"]["num_entities"] == 68  # the sample's README
    history = pd.read_csv(sample_run / "history.csv")
    assert list(history["epoch"]) == [1, 2]
    assert "val_entity_f1" in history.columns


def test_dev_f1_of_the_callback_equals_the_saved_model_dev_f1(learned_run):
    # The callback scores the tagger's Viterbi tags; metrics.json the serving decoder over
    # the ids (`tag_encoded`). Same weights, same gold mask: the same figure.
    loaded = load_run(learned_run)
    history = pd.read_csv(learned_run / "history.csv")
    best = history.loc[history["epoch"] == loaded.metrics["best_epoch"], "val_entity_f1"]
    assert float(best.iloc[0]) == pytest.approx(loaded.metrics["dev"]["f1"])
    assert loaded.metrics["dev"]["f1"] == 1.0  # the tiny language is learned


def test_cnn_encoder_learns_the_tiny_language_and_records_its_settings(tmp_path, capsys):
    train, dev = tiny_language(tmp_path)
    run_dir = tmp_path / "run"
    assert main(["ner", "train", "--train", str(train), "--dev", str(dev), "--run-dir",
                 str(run_dir), "--encoder", "cnn", "--conv-filters", "8", "--dilations", "1",
                 "2", *LEARNING]) == 0
    loaded = load_run(run_dir)
    assert loaded.metrics["dev"]["f1"] == 1.0
    settings = {name: loaded.config[name] for name in (
        "encoder", "conv_filters", "conv_kernel_size", "dilations", "dropout", "cell", "units",
        "bidirectional", "recurrent_dropout", "batch_size", "learning_rate")}
    assert settings == {"encoder": "cnn", "conv_filters": 8, "conv_kernel_size": 3,
                        "dilations": [1, 2], "dropout": 0.2, "cell": None, "units": None,
                        "bidirectional": None, "recurrent_dropout": None,
                        "batch_size": 8, "learning_rate": 0.05}  # given: kept
    assert not any(layer.name.startswith("lstm") for layer in
                   next(layer for layer in loaded.model.layers
                        if isinstance(layer, keras.Model)).layers)
    capsys.readouterr()
    assert main(["ner", "predict", str(run_dir), "we met Ada Lovelace in Paris"]) == 0
    entities = json.loads(capsys.readouterr().out)["entities"]
    assert [(entity["text"], entity["type"]) for entity in entities] == [
        ("Ada Lovelace", "PER"), ("Paris", "LOC")]


def test_the_cnn_encoder_trains_with_its_own_batch_and_rate_unless_given(tmp_path):
    """16 and 2e-3 where the rnn takes 8 and 1e-3 (given ones are kept: the test above)."""
    result = ner.train(run_dir=tmp_path / "run", epochs=1, encoder="cnn", embedding_dim=4,
                       char_embedding_dim=4, char_filters=4, conv_filters=4, dilations=[1],
                       verbose=0)
    config = load_run(result["run_dir"]).config
    assert (config["batch_size"], config["learning_rate"]) == (16, 2e-3)


def test_dev_predictions_are_what_the_saved_string_model_gives(learned_run):
    """Training tags dev on ids (`tag_encoded`, any backend); the saved model tags strings:
    both give the same tags and confidences, so `evaluate` repeats train's figures."""
    from seqrecipes.datasets import load_conll
    from seqrecipes.recipes.ner.documents import documents_of

    loaded = load_run(learned_run)
    dev = load_conll(loaded.config["dev"])
    chunks = pack(dev.tokens, dev.tags, documents_of(dev), context_tokens=14)
    tags, confidences = tag_sentences(loaded.model, chunks.tokens)
    rows = [line.split() for line in
            (learned_run / "dev_predictions.conll").read_text().splitlines()[2:] if line]
    assert [row[0] for row in rows] == [t for sentence in dev.tokens for t in sentence]
    assert [row[2] for row in rows] == [t for sentence in chunks.split(tags) for t in sentence]
    np.testing.assert_allclose([float(row[3]) for row in rows],
                               [c for sentence in chunks.split(confidences) for c in sentence],
                               atol=1e-4)
    assert len({row[2] for row in rows}) > 1  # entities were tagged, not only 'O'


def test_predict_gives_entity_spans_with_offsets_and_confidences(learned_run, capsys):
    text = "we  met Ada Lovelace in Paris"
    assert main(["ner", "predict", str(learned_run), text]) == 0
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["tokens"] == text.split()
    assert [(e["type"], e["text"], e["tokens"]) for e in row["entities"]] == [
        ("PER", "Ada Lovelace", ["Ada", "Lovelace"]), ("LOC", "Paris", ["Paris"]),
    ]
    person, place = row["entities"]
    assert (person["start"], person["end"], person["token_start"], person["token_end"]) == (
        8, 20, 2, 4,
    )
    assert text[place["start"]:place["end"]] == "Paris"
    assert person["confidence"] == pytest.approx(min(row["confidences"][2:4]), abs=1e-6)
    assert all(0.0 < c <= 1.0 for c in row["confidences"])


def test_predict_from_a_file_of_token_lists(learned_run, tmp_path, capsys):
    source = tmp_path / "tokens.jsonl"
    source.write_text('["Paris", "today"]\n\n["we", "saw", "Ada", "Lovelace"]\n')
    output = tmp_path / "out.jsonl"
    assert main(["ner", "predict", str(learned_run), "--file", str(source), "--tokenized",
                 "--output", str(output)]) == 0
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert [row["tokens"] for row in rows] == [["Paris", "today"], [], ["we", "saw", "Ada",
                                                                         "Lovelace"]]
    assert rows[1]["entities"] == []  # a blank line stays, as an empty sentence
    assert rows[2]["entities"][0]["start"] == len("we saw ")  # tokens joined by one space


def test_serving_model_ignores_padding_and_batch_neighbours(sample_run):
    model = load_run(sample_run).model
    short, long = ["Rome", "said", "no"], ["Marta", "Silva", "of", "Harwick", "Motors", "won", "."]
    alone = model.predict_on_batch(tf.constant([short]))
    together = model.predict_on_batch(tf.constant([short + [""] * 4, long]))
    np.testing.assert_array_equal(together["tags"][0, :3], alone["tags"][0])
    np.testing.assert_allclose(together["confidences"][0, :3], alone["confidences"][0],
                               atol=1e-5)
    assert list(together["tags"][0, 3:]) == [b""] * 4  # padding gets no tag
    assert (together["confidences"][0, 3:] == 0).all()


def test_evaluate_reports_entity_scores_of_the_test_file(sample_run, capsys):
    assert main(["ner", "evaluate", str(sample_run)]) == 0
    out = capsys.readouterr().out
    assert "entity F1" in out and "MISC" in out
    # The sample's test file: 14 of its 68 entities were annotated in ner_en.conll.
    assert re.search(r" seen: entity F1 \d\.\d{4} \(14 entities\) \| unseen: entity F1 "
                     r"\d\.\d{4} \(54 entities\)", out)
    scores = ner.evaluate(sample_run, data=str(sample_path("ner_en.test.conll")))
    test = load_run(sample_run).metrics["test"]
    assert scores["f1"] == pytest.approx(test["f1"])
    for group in ("seen", "unseen"):
        assert scores[group]["f1"] == pytest.approx(test[group]["f1"])
        assert scores[group]["num_entities"] == test[group]["num_entities"]


def test_train_splits_entities_seen_and_unseen_in_training(sample_run):
    loaded = load_run(sample_run)
    forms = (sample_run / "train_entities.jsonl").read_text().splitlines()
    assert "train_entities.jsonl" in loaded.manifest["files"]
    assert '["New", "York"]' in forms and '["Alpine", "World", "Cup"]' in forms
    # The sample's test file: 14 of its 68 entities were annotated in ner_en.conll.
    test = loaded.metrics["test"]
    assert (test["seen"]["num_entities"], test["unseen"]["num_entities"]) == (14, 54)
    assert (loaded.metrics["dev"]["seen"]["num_entities"],
            loaded.metrics["dev"]["unseen"]["num_entities"]) == (13, 61)
    assert "test seen: entity F1" in (sample_run / "report.txt").read_text()


def test_evaluate_scores_seen_entities_apart_from_unseen_ones(learned_run, tmp_path):
    # Ada Lovelace and Paris are the only entities of the training file; Bo and Rome are new.
    data = write_conll(tmp_path / "new.conll", [
        (["we", "met", "Ada", "Lovelace", "in", "Paris"],
         ["O", "O", "B-PER", "I-PER", "O", "B-LOC"]),
        (["they", "saw", "Bo", "in", "Rome"], ["O", "O", "B-PER", "O", "B-LOC"]),
    ], document_size=2)
    scores = ner.evaluate(learned_run, str(data))
    assert (scores["seen"]["num_entities"], scores["unseen"]["num_entities"]) == (2, 2)
    assert scores["seen"]["f1"] == 1.0  # the tiny language is learned
    assert scores["num_entities"] == 4


def test_evaluating_a_run_without_training_entities_says_the_split_is_unavailable(
        sample_run, tmp_path, capsys):
    old = tmp_path / "old"  # a run written before runs stored their training entities
    shutil.copytree(sample_run, old)
    (old / "train_entities.jsonl").unlink()
    manifest = json.loads((old / "run.json").read_text())
    del manifest["files"]["train_entities.jsonl"]
    (old / "run.json").write_text(json.dumps(manifest))
    scores = ner.evaluate(old)
    out = capsys.readouterr().out
    assert "seen / unseen split unavailable" in out and "Train the run again" in out
    assert scores["seen"] is None and scores["unseen"] is None
    assert scores["f1"] == pytest.approx(load_run(sample_run).metrics["test"]["f1"])


def test_export_serves_token_strings(sample_run, tmp_path, capsys):
    target = tmp_path / "served"
    assert main(["ner", "export", str(sample_run), str(target)]) == 0
    served = tf.saved_model.load(str(target))
    batch = [["Rome", "said", "no", ""], ["Marta", "Silva", "won", "."]]
    outputs = served.serve(tf.constant(batch))
    tags, confidences = tag_sentences(load_run(sample_run).model, [batch[0][:3], batch[1]])
    assert [t.decode() for t in outputs["tags"].numpy()[1]] == tags[1]
    assert outputs["tags"].numpy()[0, 3] == b""
    np.testing.assert_allclose(outputs["confidences"].numpy()[1], confidences[1], atol=1e-5)


def test_python_api_takes_path_objects(tmp_path):
    """`pathlib.Path`s work wherever a path goes (they are kept in config.json as strings)."""
    result = ner.run(train=sample_path("ner_en.conll"), dev=sample_path("ner_en.dev.conll"),
                     test=sample_path("ner_en.test.conll"), run_dir=tmp_path / "run", epochs=1,
                     embedding_dim=8, units=[4], char_embedding_dim=4, char_filters=4,
                     batch_size=16, verbose=0)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["run_dir"] == str(tmp_path / "run") and isinstance(config["train"], str)
    assert load_run(result["run_dir"]).metrics["test"]["num_sentences"] > 0


def test_unknown_tag_at_evaluation_names_file_line_and_tag(sample_run, tmp_path, capsys):
    data = write_conll(tmp_path / "odd.conll", [(["Rome", "won"], ["B-LOC", "O"]),
                                                (["Ada", "wrote"], ["B-WRITER", "O"])])
    assert main(["ner", "evaluate", str(sample_run), str(data)]) == 2
    error = capsys.readouterr().err
    assert f"{data}:4" in error and "'B-WRITER'" in error and "trained on" in error


@pytest.mark.parametrize(
    "lines, message",
    [
        # a token line without its tag: token and tag counts differ
        (["Rome B-LOC", "won", ""], r"odd.conll:5: 1 columns, expected 2"),
        # a tag that is not IOB
        (["Rome X-LOC", "won O", ""], r"odd.conll:4: tag 'X-LOC' is not IOB"),
        # an entity that starts with I- in an IOB2 file
        (["won O", "Rome I-LOC", ""], r"odd.conll:5: 'I-LOC' follows 'O'"),
    ],
)
def test_malformed_training_files_are_refused_with_file_and_line(tmp_path, capsys, lines,
                                                                   message):
    data = tmp_path / "odd.conll"
    data.write_text("\n".join(["Paris B-LOC", "is O", ""] + lines))
    status = main(["ner", "train", "--train", str(data), "--run-dir", str(tmp_path / "run"),
                   *TINY])
    assert status == 2
    assert re.search(message, capsys.readouterr().err)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--char-features", "rnn"], "`--char-features`"),
        (["--dev-fraction", "1.5"], "`--dev-fraction`"),
        (["--units", "0"], "`--units`"),
        (["--cell", "transformer"], "`--cell`"),
        (["--encoder", "cnn", "--units", "8"],
         "--encoder cnn does not use `--units` (used by rnn)"),
        (["--conv-filters", "8"], "--encoder rnn does not use `--conv-filters` (used by cnn)"),
        (["--encoder", "cnn", "--dilations", "1", "0"], "`--dilations`"),
        (["--encoder", "cnn", "--conv-kernel-size", "0"], "`--conv-kernel-size`"),
        (["--encoder", "transformer"], "--encoder: invalid choice"),
    ],
)
def test_bad_flags_are_refused_before_training(tmp_path, capsys, flags, message):
    run_dir = tmp_path / "run"
    assert main(["ner", "train", "--run-dir", str(run_dir), *flags]) == 2
    assert message in capsys.readouterr().err
    assert not run_dir.exists()


def test_predict_needs_sentences_and_refuses_bad_token_lists(learned_run, tmp_path, capsys,
                                                            monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["ner", "predict", str(learned_run)]) == 2
    assert "No sentences to predict: standard input held none" in capsys.readouterr().err
    source = tmp_path / "bad.jsonl"
    source.write_text('["ok"]\n{"tokens": 1}\n')
    assert main(["ner", "predict", str(learned_run), "--file", str(source),
                 "--tokenized"]) == 2
    assert f"{source}:2" in capsys.readouterr().err
    with pytest.raises(InvalidArgumentError, match="Sentence 0"):
        ner.predict(learned_run, [["Paris", ""]])


def test_entity_metrics_need_one_prediction_per_gold_token():
    with pytest.raises(InvalidArgumentError, match="one tag per gold token"):
        entity_metrics([["B-PER", "O"]], [["B-PER"]])


def test_entity_spans_follow_conlleval_for_a_stray_inside_tag():
    tokens, offsets = token_offsets("in New York City")
    spans = entity_spans(tokens, ["O", "I-LOC", "I-LOC", "B-ORG"], [1.0, 0.6, 0.9, 0.5], offsets)
    assert [(s["type"], s["start"], s["end"], s["confidence"]) for s in spans] == [
        ("LOC", 3, 11, 0.6), ("ORG", 12, 16, 0.5),
    ]


def test_evaluating_a_run_of_another_recipe_is_refused(tmp_path, capsys):
    run_dir = tmp_path / "other"
    run_dir.mkdir()
    assert main(["ner", "evaluate", str(run_dir)]) == 2
    assert "not a complete run directory" in capsys.readouterr().err


def test_context_chunks_keep_documents_apart_and_never_cut_a_sentence():
    tokens = [["a"] * 3, ["b"] * 2, ["c"] * 9, ["d"], ["e"] * 2]
    tags = [["O"] * len(sentence) for sentence in tokens]
    chunks = pack(tokens, tags, documents=[1, 1, 1, 1, 2], context_tokens=6)
    assert [len(chunk) for chunk in chunks.tokens] == [6, 9, 1, 2]  # 3 + sep + 2; 9 alone
    assert chunks.tokens[0][3] == SEPARATOR and chunks.tags[0][3] == "O"
    assert chunks.split(chunks.tokens) == tokens
    assert pack(tokens, documents=[1] * 5, context_tokens=0).tokens == tokens
    assert pack(tokens, documents=None, context_tokens=6).tokens == tokens  # no documents
