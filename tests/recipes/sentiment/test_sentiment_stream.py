"""Training from shards read row by row (`--stream`), with a sampled or given vocabulary.

The shards are cut from the embedded English sample and sorted by label, so that the first
shard holds only negative reviews and the last only positive ones: a vocabulary or bucket
estimate that looked only at the beginning of the stream would show it.
"""

import gzip

import numpy as np
import pandas as pd
import pytest
from cli_runner import run_main

from seqrecipes import datasets
from seqrecipes.datasets import sample_path
from seqrecipes.errors import DataError, DataFileNotFoundError
from seqrecipes.recipes import sentiment
from seqrecipes.recipes.engine import artifacts as _artifacts

TINY = ["--model", "fasttext", "--embedding-dim", "8", "--verbose", "0", "--seed", "5",
        "--epochs", "2"]




@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """Three training shards (the last gzip-compressed), a validation and a test file."""
    folder = tmp_path_factory.mktemp("shards")
    table = pd.read_csv(sample_path("sentiment_en"), keep_default_na=False)
    table = table.sample(frac=1, random_state=0).reset_index(drop=True)
    table[:40].to_csv(folder / "test.csv", index=False)
    table[40:80].to_csv(folder / "valid.csv", index=False)
    train = table[80:].sort_values("label", kind="stable").reset_index(drop=True)
    parts = np.array_split(np.arange(len(train)), 3)
    for i, rows in enumerate(parts):
        part = train.iloc[rows]
        if i == 2:
            with gzip.open(folder / "train-2.csv.gz", "wt", encoding="utf-8") as handle:
                part.to_csv(handle, index=False)
        else:
            part.to_csv(folder / f"train-{i}.csv", index=False)
    return folder, train, [train.iloc[rows] for rows in parts]


def test_the_sample_is_drawn_from_every_shard(shards):
    folder, train, parts = shards
    scan = datasets.scan_labelled_files(str(folder / "train-*"), sample_size=30, seed=3)
    assert scan.num_texts == len(train) and len(scan.sample) == 30
    assert scan.classes == (0, 1)
    assert scan.label_counts == train["label"].value_counts().sort_index().to_dict()
    for part in parts:  # a first-30 sample would hold texts of the first shard only
        assert set(scan.sample) & set(part["text"])
    assert scan.sample == datasets.scan_labelled_files(
        str(folder / "train-*"), sample_size=30, seed=3).sample  # seeded


def test_several_shards_stream_the_examples_of_the_whole_table(shards):
    folder, train, _ = shards
    vectorizer = datasets.build_text_vectorizer(train["text"].tolist(), min_frequency=1)
    kwargs = dict(batch_size=8, boundaries=[8, 16])
    memory = datasets.classification_dataset(
        train["text"].tolist(), train["label"].to_numpy(), vectorizer=vectorizer, **kwargs)
    stream = datasets.stream_classification_dataset(
        [folder / "train-0.csv", str(folder / "train-[12]*")], vectorizer=vectorizer,
        class_names=[0, 1], shuffle_buffer=50, seed=1, **kwargs,
    )

    def examples(batches):
        return sorted((tuple(row[row != 0].tolist()), int(label))
                      for x, y in batches for row, label in zip(x.numpy(), y.numpy()))

    assert examples(stream) == examples(memory)


def test_stream_training_writes_a_run_that_predicts(shards, tmp_path):
    folder, train, parts = shards
    run_dir = tmp_path / "run"
    status, out, err = run_main(
        "sentiment", "train", "--stream", "--data", str(folder / "train-*.csv*"),
        "--validation", str(folder / "valid.csv"), "--test", str(folder / "test.csv"),
        "--vocabulary-sample", "100", "--min-frequency", "1", "--run-dir", str(run_dir), *TINY,
    )
    assert status == 0, err
    assert "3 files (" in out and f"{len(train):,} texts streamed" in out
    assert "adapted on 100 texts drawn at random" in out
    run = _artifacts.load_run(run_dir)
    assert run.config["data"] == [str(folder / f"train-{i}.csv") for i in range(2)] + [
        str(folder / "train-2.csv.gz")]
    sizes = run.metrics["sizes"]
    assert (sizes["train"], sizes["validation"], sizes["test"]) == (len(train), 40, 40)
    assert sizes["vocabulary_adapted_on"] == 100
    vocabulary = set(run.model.get_layer("text_vectorizer").get_vocabulary())
    for part in parts:  # words from every shard made it into the sampled vocabulary
        words = {word.strip(".,;!").lower() for text in part["text"] for word in text.split()}
        assert vocabulary & words
    rows = sentiment.predict(run_dir, ["A wonderful film", "Dull"])
    assert [row["text"] for row in rows] == ["A wonderful film", "Dull"]
    assert all(row["label"] in (0, 1) for row in rows)


def test_a_vocabulary_file_is_the_run_vocabulary(shards, tmp_path):
    folder, _, _ = shards
    tokens = ["film", "the", "a", "great", "dull", "good film"]
    (tmp_path / "vocabulary.txt").write_text("\n[UNK]\n" + "\n".join(tokens) + "\n")
    result = sentiment.train(
        stream=True, data=[folder / "train-0.csv", folder / "train-1.csv"],
        validation=folder / "valid.csv", test=folder / "test.csv",
        vocabulary_file=tmp_path / "vocabulary.txt", run_dir=tmp_path / "run", epochs=1,
        model="fasttext", embedding_dim=4, verbose=0,
    )
    run = _artifacts.load_run(tmp_path / "run")
    assert run.model.get_layer("text_vectorizer").get_vocabulary() == ["", "[UNK]", *tokens]
    assert result["metrics"]["sizes"]["vocabulary_adapted_on"] is None
    assert "vocabulary.txt" in result["summary"]


def test_a_validation_file_and_a_vocabulary_sample_in_memory(shards, tmp_path):
    folder, train, _ = shards
    train.to_csv(tmp_path / "train.csv", index=False)
    result = sentiment.train(
        data=tmp_path / "train.csv", validation=folder / "valid.csv", test=folder / "test.csv",
        vocabulary_sample=50, run_dir=tmp_path / "run", epochs=1, model="fasttext",
        embedding_dim=4, verbose=0,
    )
    sizes = result["metrics"]["sizes"]
    assert (sizes["train"], sizes["validation"], sizes["vocabulary_adapted_on"]) == (
        len(train), 40, 50)
    assert result["config"]["validation_split"] is None


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--stream", "--data", "{f}/nothing-*.csv", "--validation", "{f}/valid.csv",
          "--test", "{f}/test.csv"], "nothing-*.csv' matches no file"),
        (["--data", "{f}/train-0.csv", "{f}/train-1.csv"], "add --stream"),
        (["--stream", "--data", "{f}/train-*"], "Missing: `--validation`, `--test`"),
        (["--stream", "--data", "{f}/train-0.csv", "{f}/train-0.csv", "--validation",
          "{f}/valid.csv", "--test", "{f}/test.csv"], "is named twice"),
        (["--data", "{f}/train-0.csv", "--shuffle-buffer", "10"], "is for a stream"),
        (["--stream", "--data", "{f}/train-*", "--validation", "{f}/valid.csv", "--test",
          "{f}/test.csv", "--vocabulary-sample", "10", "--vocabulary-file", "{f}/valid.csv"],
         "not both"),
        (["--data", "{f}/train-0.csv", "--validation", "{f}/valid.csv",
          "--validation-split", "0.2"], "cannot be used with a `--validation` file"),
    ],
)
def test_bad_stream_arguments_exit_2_with_a_message(shards, tmp_path, argv, message):
    folder = shards[0]
    argv = [part.replace("{f}", str(folder)) for part in argv]
    status, _, err = run_main("sentiment", "train", "--run-dir", str(tmp_path / "r"), *TINY,
                              *argv)
    assert status == 2, err
    assert message in err
    assert not (tmp_path / "r").exists() or not (tmp_path / "r" / "run.json").exists()


def test_bad_rows_in_shards_are_reported_where_they_are(shards, tmp_path):
    folder = shards[0]
    (tmp_path / "a.csv").write_text("text,label\ngood,1\nbad,0\n")
    (tmp_path / "b.csv").write_text("review,label\nfine,1\n")
    with pytest.raises(DataError, match=r"b.csv: `text_column`='text' is not a column"):
        datasets.scan_labelled_files([tmp_path / "a.csv", tmp_path / "b.csv"])
    (tmp_path / "b.csv").write_text("text,label\nfine,1\n,0\nokay,\n")
    with pytest.raises(DataError, match=r"b.csv:4: the label \(column 'label'\) is missing"):
        datasets.scan_labelled_files([tmp_path / "a.csv", tmp_path / "b.csv"], empty="keep")
    (tmp_path / "b.csv").write_text("text,label\nfine,1\n,0\n")
    with pytest.raises(DataError, match=r"1 empty documents .* first at .*b.csv:3"):
        datasets.scan_labelled_files([tmp_path / "a.csv", tmp_path / "b.csv"])
    scan = datasets.scan_labelled_files([tmp_path / "a.csv", tmp_path / "b.csv"],
                                        empty="drop")
    assert (scan.num_texts, scan.num_empty) == (3, 1)
    (tmp_path / "b.csv").write_text("text,label\nfine,1\nhm,neutral\n")
    with pytest.raises(DataError, match=r"b.csv:3: the label 'neutral' is not an integer"):
        datasets.scan_labelled_files([tmp_path / "a.csv", tmp_path / "b.csv"])
    (tmp_path / "test.csv").write_text("text,label\nfine,1\nhm,2\n")
    status, _, err = run_main(
        "sentiment", "train", "--stream", "--data", str(tmp_path / "a.csv"),
        "--validation", str(folder / "valid.csv"), "--test", str(tmp_path / "test.csv"),
        "--run-dir", str(tmp_path / "r"), *TINY,
    )
    assert status == 2 and "test.csv:3: label 2 is not one of the classes [0, 1]" in err
    with pytest.raises(DataFileNotFoundError, match="no such file"):
        datasets.scan_labelled_files([tmp_path / "a.csv", tmp_path / "missing.csv"])


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "holds no token"),
        ("good\n\nfilm\n", r"vocabulary.txt:2: an empty line"),
        ("good\nfilm\ngood\n", r"vocabulary.txt:3: the token 'good' is already in the "
                               r"vocabulary \(line 1\)"),
        ("good\nGood\n", r"1 token\(s\) can never match text.*'Good' \(line 2\)"),
        ("good \n", "has whitespace around it"),
        ("good\n[UNK]\n", "vocabulary.txt:2: '\\[UNK\\]' is the out-of-vocabulary id's token"),
    ],
)
def test_bad_vocabulary_files_are_reported_by_line(tmp_path, content, message):
    path = tmp_path / "vocabulary.txt"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        datasets.text_vectorizer_from_file(path)


def test_nbsvm_takes_its_ratios_from_one_pass_over_the_stream(shards, tmp_path):
    folder, _, _ = shards
    result = sentiment.train(
        stream=True, data=str(folder / "train-*.csv*"), validation=folder / "valid.csv",
        test=folder / "test.csv", model="nbsvm", min_frequency=1, run_dir=tmp_path / "run",
        epochs=1, verbose=0,
    )
    assert result["config"]["model"] == "nbsvm" and result["config"]["ngrams"] == 3
    model = _artifacts.load_run(tmp_path / "run").model
    ratios = model.get_layer("nbsvm_classifier").get_layer("log_count_ratios").get_weights()[0]
    assert (ratios > 0).any() and (ratios < 0).any()
    assert len(sentiment.predict(tmp_path / "run", ["A wonderful film", ""])) == 2
