"""NER exported to ONNX and LiteRT: the portable reader gives what `ner predict` gives.

Two tiny runs on a regular toy language (so that entities are found): a CRF tagger with a
character CNN, and a softmax tagger with a character BiLSTM (which LiteRT refuses).
"""

import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from seqrecipes import portable
from seqrecipes.cli import main
from seqrecipes.datasets.string_input import CharacterIds, Lowercase
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.recipes import ner
from seqrecipes.recipes.engine.artifacts import load_run

TRICKY = [
    "Ada Lovelace met Paris today",
    "ADA LOVELACE saw PARIS",  # lower-cased words, characters keep the case
    "Ωμέγα ΟΔΟΣ Straße İstanbul Ⱟ Paris",  # final sigma, Unicode 14 letters, unknown words
    "Paris",
    "",
    "they   met\tAda  in Paris , then Lovelace .",
]


def write_conll(path, sentences):
    lines = []
    for index, (tokens, tags) in enumerate(sentences):
        if index % 4 == 0:
            lines += ["-DOCSTART- O", ""]
        lines += [f"{token} {tag}" for token, tag in zip(tokens, tags)] + [""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ner_portable")
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
    return {
        "folder": folder,
        "train": write_conll(folder / "train.conll", sentences[:50]),
        "dev": write_conll(folder / "dev.conll", sentences[50:]),
        "sentences": [" ".join(tokens) for tokens, _ in sentences[50:]] + TRICKY,
    }


def train(data, name, *flags):
    run_dir = data["folder"] / name
    # Character settings only where there are character features (they are refused with
    # --char-features none).
    chars = [] if "none" in flags else ["--char-embedding-dim", "4", "--max-chars", "6"]
    status = main([
        "ner", "train", "--train", str(data["train"]), "--dev", str(data["dev"]),
        "--run-dir", str(run_dir), "--embedding-dim", "8", "--units", "8",
        "--epochs", "5", "--patience", "5",
        "--learning-rate", "0.05", "--batch-size", "8", "--verbose", "0",
        "--embedding-dropout", "0", "--head-dropout", "0", *chars, *flags,
    ])
    assert status == 0
    return run_dir


@pytest.fixture(scope="module")
def runs(data):
    return {
        "crf": train(data, "crf", "--char-features", "cnn", "--char-filters", "4"),
        "softmax": train(data, "softmax", "--no-crf", "--char-features", "lstm",
                         "--char-units", "3"),
    }


@pytest.fixture(scope="module")
def exports(runs, data):
    written = {}
    for run, fmt in [("crf", "onnx"), ("crf", "litert"), ("softmax", "onnx")]:
        written[run, fmt] = ner.export(runs[run], data["folder"] / f"{run}-{fmt}", format=fmt)
    return written


@pytest.mark.parametrize("key", [("crf", "onnx"), ("crf", "litert"), ("softmax", "onnx")])
def test_the_reader_tags_as_ner_predict_does(runs, exports, data, key):
    expected = ner.predict(runs[key[0]], data["sentences"], batch_size=4)
    got = portable.load(exports[key]).predict(data["sentences"], batch_size=4)
    assert sum(len(row["entities"]) for row in expected) >= 10  # the model finds entities
    for want, have in zip(expected, got, strict=True):
        assert have["tags"] == want["tags"] and have["tokens"] == want["tokens"]
        np.testing.assert_allclose(have["confidences"], want["confidences"], atol=1e-5)
        strip = lambda spans: [{k: v for k, v in s.items() if k != "confidence"} for s in spans]
        assert strip(have["entities"]) == strip(want["entities"])
        np.testing.assert_allclose([s["confidence"] for s in have["entities"]],
                                   [s["confidence"] for s in want["entities"]], atol=1e-5)


def test_the_reader_ids_are_the_string_layers_ids(runs, exports, data):
    model = load_run(runs["crf"]).model
    lookup = model.get_layer("token_lookup")
    chars = next(layer for layer in model.layers if isinstance(layer, CharacterIds))
    sentences = [sentence.split() for sentence in data["sentences"]]
    width = max(len(sentence) for sentence in sentences)
    padded = tf.constant([s + [""] * (width - len(s)) for s in sentences])
    reader = portable.load(exports["crf", "onnx"])
    ids = reader.ids(sentences)
    np.testing.assert_array_equal(ids["token_ids"], lookup(Lowercase()(padded)).numpy())
    np.testing.assert_array_equal(ids["char_ids"], chars(padded).numpy())
    assert ids["char_ids"].shape[-1] == 6  # --max-chars
    # Characters whose lower case differs between TensorFlow and Python: TensorFlow's wins.
    special = sorted(reader.lowercase_differences)[:5] + ["ΟΔΟΣ", "İ"]
    assert [reader._lower(t) for t in special] == [
        value.decode() for value in Lowercase()(tf.constant(special)).numpy()]


def test_the_export_writes_the_crf_scores_and_the_vocabularies(runs, exports):
    description = json.loads((exports["crf", "onnx"] / "seqrecipes.json").read_text("utf-8"))
    crf = load_run(runs["crf"]).model.get_layer("crf_decoder")
    np.testing.assert_array_equal(np.asarray(description["crf"]["transitions"], "float32"),
                                  np.asarray(crf.transitions))
    assert description["decoder"] == "crf" and description["tags"] == [
        "B-LOC", "B-PER", "I-PER", "O"]
    assert description["vocabulary"][:2] == ["", "[UNK]"] and description["max_chars"] == 6
    assert [spec["name"] for spec in description["inputs"]] == ["char_ids", "token_ids"]
    softmax = json.loads((exports["softmax", "onnx"] / "seqrecipes.json").read_text("utf-8"))
    assert softmax["decoder"] == "softmax" and softmax["crf"] is None


def test_litert_refuses_character_lstm_features_with_the_reason(runs, data, capsys):
    with pytest.raises(InvalidArgumentError, match="character BiLSTM .* Flex") as raised:
        ner.export(runs["softmax"], data["folder"] / "refused", format="litert")
    assert "format='savedmodel' (or 'onnx')" in str(raised.value)
    assert not (data["folder"] / "refused").exists()
    status = main(["ner", "export", str(runs["softmax"]), str(data["folder"] / "refused"),
                   "--format", "litert"])
    assert status == 2 and "--format savedmodel" in capsys.readouterr().err


def test_the_reader_runs_without_tensorflow(exports):
    code = (
        "import json, sys\n"
        "from seqrecipes import portable\n"
        f"tagger = portable.load({str(exports['crf', 'onnx'])!r})\n"
        "rows = tagger.predict(['Ada Lovelace met Paris today'])\n"
        "print(json.dumps([rows[0]['tags'],\n"
        "    sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    tags, heavy = json.loads(done.stdout.splitlines()[-1])
    assert heavy == []
    assert tags == ["B-PER", "I-PER", "O", "B-LOC", "O"]


def test_document_chunks_are_tagged_as_evaluate_tags_them(runs, exports, data):
    # The runs read documents 128 tokens at a time (`context_tokens`, the default): the
    # separator between two sentences is a word like any other for the reader.
    from seqrecipes.recipes.ner import data as ner_data
    from seqrecipes.recipes.ner.documents import SEPARATOR, documents_of, pack
    from seqrecipes.recipes.ner.tagger import tag_sentences

    dev = ner_data.read(data["dev"], token_column=0, tag_column=-1, scheme="iob2")
    chunks = pack(dev.tokens, None, documents_of(dev), context_tokens=128)
    assert any(SEPARATOR in chunk for chunk in chunks.tokens)
    expected, _ = tag_sentences(load_run(runs["crf"]).model, chunks.tokens)
    for key in [("crf", "onnx"), ("crf", "litert")]:
        got, _ = portable.load(exports[key]).tag(chunks.tokens)
        assert got == expected


def test_a_tagger_with_bilm_features_reads_the_bilm_vocabulary_too(data):
    folder = data["folder"]
    text = folder / "bilm.txt"
    text.write_text("\n".join(data["sentences"][:10]) * 3, encoding="utf-8")
    assert main(["bilm", "train", "--data", str(text), "--run-dir", str(folder / "bilm"),
                 "--units", "4", "--epochs", "1", "--verbose", "0"]) == 0
    run_dir = train(data, "with-bilm", "--char-features", "none", "--bilm",
                    str(folder / "bilm"), "--epochs", "2")
    sentences = data["sentences"]
    expected = ner.predict(run_dir, sentences)
    for fmt in ("onnx", "litert"):
        reader = portable.load(ner.export(run_dir, folder / f"bilm-{fmt}", format=fmt))
        assert reader.bilm_words is not None
        got = reader.predict(sentences)
        assert [row["tags"] for row in got] == [row["tags"] for row in expected]
        np.testing.assert_allclose([c for row in got for c in row["confidences"]],
                                   [c for row in expected for c in row["confidences"]],
                                   atol=1e-5)
    # Case is kept for the bilm's words: "Paris" and "PARIS" are different bilm ids.
    ids = reader.ids([["Paris", "PARIS"]])
    lookup = load_run(run_dir).model.get_layer("bilm_lookup")
    np.testing.assert_array_equal(ids["bilm_ids"], lookup(tf.constant([["Paris", "PARIS"]])))
