import gzip
import logging

import keras
import numpy as np
import pytest
import tensorflow as tf

from seqrecipes import datasets
from seqrecipes.errors import DataError, DataFileNotFoundError, InvalidArgumentError
from seqrecipes.models import build_sequence_classifier, build_sequence_tagger

WORDS = "good bad film plot actor music long short boring great".split()


def random_texts(count, seed=0, longest=12):
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, rng.integers(1, longest + 1))) for _ in range(count)]


@pytest.fixture
def vectorizer():
    return datasets.build_text_vectorizer(random_texts(40), min_frequency=1)


def test_each_batch_is_padded_to_its_own_longest_text_and_masks_are_right(vectorizer):
    texts = random_texts(60, seed=1)
    ids = datasets.encode_texts(texts, vectorizer)
    lengths = ids.row_lengths().numpy()
    boundaries = [3, 6, 9]
    batches = datasets.classification_dataset(
        ids, np.arange(60), batch_size=8, boundaries=boundaries
    )
    widths = set()
    for x, index in batches:
        x, index = x.numpy(), index.numpy()
        assert x.shape[1] == lengths[index].max()  # no batch is wider than its longest row
        np.testing.assert_array_equal((x != 0).sum(axis=1), lengths[index])  # mask = real ids
        assert len(set(np.digitize(lengths[index], boundaries))) == 1  # one bucket per batch
        for row, position in zip(x, index):
            np.testing.assert_array_equal(row[: lengths[position]], ids[position].numpy())
        widths.add(x.shape[1])
    assert len(widths) > 3  # the lengths really differ between batches


def test_every_example_once_per_epoch_reshuffled_and_seeded(vectorizer):
    texts = random_texts(50, seed=2)
    batches = datasets.classification_dataset(
        texts, np.arange(50), vectorizer=vectorizer, batch_size=4, shuffle=True, seed=7
    )
    epochs = [np.concatenate([y.numpy() for _, y in batches]) for _ in range(2)]
    for order in epochs:
        assert sorted(order.tolist()) == list(range(50))
    assert epochs[0].tolist() != epochs[1].tolist()
    assert batches.cardinality().numpy() == sum(1 for _ in batches)
    again = datasets.classification_dataset(
        texts, np.arange(50), vectorizer=vectorizer, batch_size=4, shuffle=True, seed=7
    )
    assert np.concatenate([y.numpy() for _, y in again]).tolist() == epochs[0].tolist()


def test_without_a_seed_every_pass_is_reshuffled(vectorizer):
    batches = datasets.classification_dataset(
        random_texts(50, seed=2), np.arange(50), vectorizer=vectorizer, batch_size=4,
        shuffle=True,
    )
    epochs = [np.concatenate([y.numpy() for _, y in batches]).tolist() for _ in range(2)]
    assert sorted(epochs[0]) == sorted(epochs[1]) == list(range(50))
    assert epochs[0] != epochs[1]


@pytest.mark.parametrize("global_seed", [0, 99])
def test_the_order_depends_on_the_pipeline_seed_not_tensorflows(vectorizer, global_seed):
    """`--seed 0` used to crash every shuffled pipeline: TensorFlow compared the tensor seed
    with 0 in Python once its global seed was 0."""
    texts = random_texts(30, seed=3)

    def order():
        batches = datasets.classification_dataset(
            texts, np.arange(30), vectorizer=vectorizer, batch_size=4, shuffle=True, seed=7)
        return np.concatenate([y.numpy() for _, y in batches]).tolist()

    keras.utils.set_random_seed(1234)
    reference = order()
    keras.utils.set_random_seed(global_seed)
    assert order() == reference


def test_partial_batches_are_shuffled_among_the_others(vectorizer):
    # Each bucket ends in a partial batch (a stream's bucket_by_sequence_length flushes them
    # all when the epoch ends); shuffled batches must not leave them at the end, in order.
    batches = datasets.classification_dataset(
        random_texts(200, seed=5), np.arange(200), vectorizer=vectorizer, batch_size=8,
        boundaries=[3, 5, 7, 9, 11], shuffle=True, seed=3,
    )
    sizes = [len(y) for _, y in batches]
    partial = [position for position, size in enumerate(sizes) if size < 8]
    assert len(partial) > 2 and partial != list(range(len(sizes) - len(partial), len(sizes)))


def test_each_bucket_is_cut_into_full_batches_and_at_most_one_partial(vectorizer):
    texts = random_texts(203, seed=6)
    lengths = datasets.encode_texts(texts, vectorizer).row_lengths().numpy()
    boundaries = [3, 5, 7, 9, 11]
    batches = datasets.classification_dataset(
        texts, np.arange(203), vectorizer=vectorizer, batch_size=8, boundaries=boundaries,
        shuffle=True, seed=4,
    )
    sizes = {}
    for _, index in batches:
        bucket = set(np.digitize(lengths[index.numpy()], boundaries))
        assert len(bucket) == 1
        sizes.setdefault(bucket.pop(), []).append(len(index))
    for bucket, found in sizes.items():
        expected = np.sum(np.digitize(lengths, boundaries) == bucket)
        assert sum(found) == expected and sorted(found)[1:] == [8] * (len(found) - 1)
    assert sum(len(found) for found in sizes.values()) == datasets.bucketing.num_batches(
        lengths, boundaries, 8)


def test_min_length_pads_and_max_length_truncates_and_is_counted(vectorizer, caplog):
    texts = random_texts(30, seed=3)
    lengths = datasets.encode_texts(texts, vectorizer).row_lengths().numpy()
    with caplog.at_level(logging.INFO, logger="seqrecipes.datasets.pipeline"):
        batches = datasets.classification_dataset(
            texts, np.zeros(30), vectorizer=vectorizer, batch_size=4, min_length=5, max_length=8
        )
    widths = [x.shape[1] for x, _ in batches]
    assert min(widths) == 5 and max(widths) == 8
    cut = int((lengths > 8).sum())
    assert cut > 0 and f"truncates {cut} of 30 texts" in caplog.text


def test_tagging_loss_and_accuracy_ignore_padding():
    sentences = [["a", "b", "c"], ["d", "e"], ["a"], ["c", "d", "e", "b"]]
    tags = [["X", "Y", "X"], ["Y", "Y"], ["Z"], ["X", "X", "Y", "Z"]]
    tokens, tag_lookup = datasets.build_token_lookup(sentences), datasets.build_tag_lookup(tags)
    model = build_sequence_tagger(tokens.vocabulary_size(), tag_lookup.vocabulary_size(),
                                  embedding_dim=4, units=4)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])

    def evaluate(min_length):
        batches = datasets.tagging_dataset(sentences, tags, token_lookup=tokens,
                                           tag_lookup=tag_lookup, batch_size=4,
                                           boundaries=[], min_length=min_length)
        x, y = next(iter(batches))
        assert x.shape[1] == max(4, min_length)
        return model.evaluate(batches, verbose=0)

    tight, padded = evaluate(1), evaluate(20)
    np.testing.assert_allclose(padded, tight, rtol=1e-5)
    model.fit(datasets.tagging_dataset(sentences, tags, token_lookup=tokens, tag_lookup=tag_lookup,
                                       batch_size=2), epochs=1, verbose=0, shuffle=False)
    np.testing.assert_allclose(evaluate(20), evaluate(1), rtol=1e-5)


def test_sample_weights_zero_on_padding_for_a_model_without_mask():
    sentences = [["a", "b", "c"], ["d"]]
    tags = [["X", "Y", "X"], ["Y"]]
    tokens, tag_lookup = datasets.build_token_lookup(sentences), datasets.build_tag_lookup(tags)
    model = build_sequence_tagger(tokens.vocabulary_size(), 3, embedding_dim=4, units=4,
                                  mask_zero=False)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(
        reduction="mean_with_sample_weight"))

    def loss(min_length):
        batches = datasets.tagging_dataset(
            sentences, tags, token_lookup=tokens, tag_lookup=tag_lookup, batch_size=2,
            boundaries=[], min_length=min_length, sample_weights=True,
        )
        _, y, weights = next(iter(batches))
        np.testing.assert_array_equal(weights.numpy(), (y.numpy() != 0).astype("float32"))
        return model.evaluate(batches, verbose=0)

    np.testing.assert_allclose(loss(9), loss(1), rtol=1e-5)


def test_character_ids_are_padded_per_batch():
    sentences = [["EU", "rejects"], ["Peter"], ["a", "bb", "ccc"]]
    tags = [["B", "O"], ["B"], ["O", "O", "O"]]
    chars = datasets.build_char_lookup(sentences)
    batches = datasets.tagging_dataset(
        sentences, tags, token_lookup=datasets.build_token_lookup(sentences),
        tag_lookup=datasets.build_tag_lookup(tags), char_lookup=chars, max_chars=4,
        batch_size=3, boundaries=[],
    )
    x, y = next(iter(batches))
    assert sorted(x) == ["char_ids", "token_ids"]
    assert x["char_ids"].shape == (3, 3, 4)  # 3 sentences, 3 words, "rejects" cut to 4
    np.testing.assert_array_equal(x["char_ids"].numpy()[..., 0] != 0, x["token_ids"].numpy() != 0)
    assert y.shape == (3, 3)


def test_language_model_targets_are_the_inputs_shifted_by_one():
    ids = np.arange(1, 42)
    batches = datasets.language_model_dataset(ids, sequence_length=5, batch_size=3,
                                              shuffle=True, seed=0)
    seen = []
    for x, y in batches:
        np.testing.assert_array_equal(y.numpy()[:, :-1], x.numpy()[:, 1:])
        np.testing.assert_array_equal(y.numpy(), x.numpy() + 1)  # ids are consecutive here
        seen.extend(y.numpy().ravel().tolist())
    assert sorted(seen) == list(range(2, 42))  # every id but the first is a target once


def test_stateful_language_model_batches_continue_row_by_row():
    ids = np.arange(1, 62)
    batches = list(datasets.language_model_dataset(ids, sequence_length=4, batch_size=3,
                                                   stateful=True))
    assert all(x.shape == (3, 4) for x, _ in batches)
    for (x1, y1), (x2, _) in zip(batches, batches[1:]):
        np.testing.assert_array_equal(x2.numpy()[:, 0], y1.numpy()[:, -1])
        np.testing.assert_array_equal(y1.numpy(), x1.numpy() + 1)


NSMC_LIKE = (
    "id\tdocument\tlabel\n"
    "1\t아 더빙.. 진짜 짜증나네요 목소리\t0\n"
    '2\t"""영화 끝나갈때쯤에 ""대박"""\t1\n'
    "3\t\t0\n"
    "4\tgood film good\t1\n"
    "5\tbad, bad plot\t0\n"
)


@pytest.mark.parametrize("compressed", [False, True])
def test_streaming_gives_the_same_examples_as_in_memory(tmp_path, compressed):
    path = tmp_path / ("ratings.txt.gz" if compressed else "ratings.txt")
    data = NSMC_LIKE * 3
    if compressed:
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(NSMC_LIKE + NSMC_LIKE[len("id\tdocument\tlabel\n"):] * 2)
    else:
        path.write_text(NSMC_LIKE + NSMC_LIKE[len("id\tdocument\tlabel\n"):] * 2, encoding="utf-8")
    rows = list(datasets.iter_labelled_texts(path, text_column="document", label_column="label"))
    assert rows[1] == ('"""영화 끝나갈때쯤에 ""대박"""', 1)  # quotes are text (quoting=3)
    texts, labels = [text for text, _ in rows], [label for _, label in rows]
    vectorizer = datasets.build_text_vectorizer(texts, min_frequency=1, standardize="lower")
    kwargs = dict(batch_size=2, boundaries=[2, 4])
    memory = datasets.classification_dataset(texts, labels, vectorizer=vectorizer, **kwargs)
    stream = datasets.stream_classification_dataset(
        path, vectorizer=vectorizer, text_column="document", label_column="label",
        empty="keep", shuffle_buffer=4, seed=1, cache=str(tmp_path / "ids_cache"), **kwargs,
    )

    def examples(batches):
        return sorted((tuple(row[row != 0].tolist()), int(label))
                      for x, y in batches for row, label in zip(x.numpy(), y.numpy()))

    assert len(examples(memory)) == len(data.splitlines()) - 3
    assert examples(stream) == examples(memory)
    assert examples(stream) == examples(memory)  # second epoch, from the cache


def test_streaming_errors_name_the_file_and_line(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("id\ttext\tlabel\n1\tfine\t1\n2\tno label here\n3\tok\tpos\n", encoding="utf-8")
    rows = datasets.iter_labelled_texts(path, text_column="text", label_column="label")
    with pytest.raises(DataError, match=r"bad.tsv:3: expected 3 fields"):
        list(rows)
    path.write_text("id\ttext\tlabel\n1\tok\tpos\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.tsv:2: label 'pos' is not an integer id"):
        list(datasets.iter_labelled_texts(path, text_column="text", label_column="label"))
    assert list(datasets.iter_labelled_texts(path, text_column="text", label_column="label",
                                             class_names=["neg", "pos"])) == [("ok", 1)]
    with pytest.raises(DataError, match=r"`text_column`='document' is not a column"):
        datasets.stream_classification_dataset(
            path, vectorizer=None, text_column="document", label_column="label"
        )
    with pytest.raises(DataFileNotFoundError, match="missing.tsv"):
        list(datasets.iter_labelled_texts(tmp_path / "missing.tsv", text_column="t",
                                          label_column="l"))


def test_predictions_come_back_in_input_order(vectorizer):
    texts = random_texts(25, seed=4)
    model = build_sequence_classifier(vectorizer.vocabulary_size(), 3, embedding_dim=4, units=4)
    ordered = datasets.predict_in_order(model, texts, vectorizer=vectorizer, batch_size=4)
    one_by_one = np.concatenate([model(vectorizer([text])) for text in texts])
    np.testing.assert_allclose(ordered, one_by_one, rtol=1e-5, atol=1e-6)


def test_tagger_predictions_come_back_in_order_and_cut_to_length():
    sentences = [["a"] * n for n in (5, 1, 3, 7, 2, 4)]
    tokens = datasets.build_token_lookup(sentences + [["b", "c"]])
    sentences = [row[:-1] + ["b"] for row in sentences]
    model = build_sequence_tagger(tokens.vocabulary_size(), 4, embedding_dim=4, units=4)
    encoded = datasets.encode_sentences(sentences, tokens)
    results = datasets.predict_in_order(model, encoded, batch_size=2, per_token=True)
    for sentence, result in zip(sentences, results):
        alone = model(tokens([sentence])).numpy()[0]
        assert result.shape == (len(sentence), 4)
        np.testing.assert_allclose(result, alone, rtol=1e-5, atol=1e-6)


def test_batches_built_once_predict_as_often_as_asked_with_the_current_weights():
    """`OrderedBatches`: the pipeline a dev set is scored through after every epoch, built
    once; each `predict` reads the model as it is then."""
    from seqrecipes.datasets.pipeline import OrderedBatches

    sentences = [["a"] * n for n in (5, 1, 3, 7, 2, 4)]
    tokens = datasets.build_token_lookup(sentences)
    model = build_sequence_tagger(tokens.vocabulary_size(), 4, embedding_dim=4, units=4)
    encoded = datasets.encode_sentences(sentences, tokens)
    batches = OrderedBatches(encoded, batch_size=2)
    first = batches.predict(model, per_token=True)
    model.set_weights([weights * 2 for weights in model.get_weights()])
    for again in (batches.predict(model, per_token=True), batches.predict(model, per_token=True)):
        expected = datasets.predict_in_order(model, encoded, batch_size=2, per_token=True)
        for have, want, before in zip(again, expected, first, strict=True):
            np.testing.assert_array_equal(have, want)
            assert have.shape == before.shape and not np.allclose(have, before)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(batch_size=0), "`batch_size`"),
        (dict(min_length=0), "`min_length`"),
        (dict(max_length=2.5), "`max_length`"),
        (dict(min_length=9, max_length=4), "cannot exceed"),
        (dict(boundaries=[5, 3]), "strictly increasing"),
        (dict(seed=-1), "`seed`"),
        (dict(shuffle="yes"), "`shuffle`"),
        (dict(labels=["pos", "neg"]), "`labels` must be 2 numbers"),
    ],
)
def test_bad_pipeline_arguments(kwargs, message):
    ids = tf.ragged.constant([[1, 2], [3]])
    kwargs = {"labels": [0, 1], **kwargs}
    with pytest.raises(InvalidArgumentError, match=message):
        datasets.classification_dataset(ids, **kwargs)


def test_misaligned_tags_and_raw_texts_without_vectorizer():
    tokens = datasets.build_token_lookup([["a", "b"]])
    with pytest.raises(InvalidArgumentError, match="sentence 0 has 2 tokens and 1 tags"):
        datasets.tagging_dataset([["a", "b"]], tf.ragged.constant([[1]]), token_lookup=tokens)
    with pytest.raises(InvalidArgumentError, match="together with `vectorizer=`"):
        datasets.classification_dataset(["raw text"], [1])
    with pytest.raises(InvalidArgumentError, match="`stateful=True` keeps the streams"):
        datasets.language_model_dataset([1, 2, 3], sequence_length=1, stateful=True,
                                        shuffle=True)
    with pytest.raises(InvalidArgumentError, match="too few for one batch"):
        datasets.language_model_dataset([1, 2], sequence_length=5)


def test_every_pipeline_runs_without_tf_datas_autotuning_thread(tmp_path, vectorizer):
    """The tuner's thread made every pass last until its next wake-up (datasets.options)."""
    from seqrecipes.datasets import series
    from seqrecipes.datasets.pipeline import OrderedBatches
    from seqrecipes.recipes.engine import decoding

    def tuned(batches):
        return batches.options().autotune.enabled is not False  # unset (None): on

    texts = random_texts(12, seed=3)
    sentences, tags = [["a", "b"], ["c"]], [["X", "Y"], ["X"]]
    path = tmp_path / "texts.tsv"
    path.write_text("text\tlabel\n" + "".join(f"{t}\t{i % 2}\n" for i, t in enumerate(texts)))
    built = {
        "classification": datasets.classification_dataset(
            texts, np.arange(12) % 2, vectorizer=vectorizer, batch_size=4, shuffle=True, seed=1),
        "unprefetched": datasets.classification_dataset(
            texts, np.arange(12) % 2, vectorizer=vectorizer, batch_size=4, prefetch=False),
        "tagging": datasets.tagging_dataset(
            sentences, tags, token_lookup=datasets.build_token_lookup(sentences),
            tag_lookup=datasets.build_tag_lookup(tags), batch_size=2),
        "stream": datasets.stream_classification_dataset(
            path, vectorizer=vectorizer, text_column="text", label_column="label",
            batch_size=4, shuffle_buffer=4, seed=1),
        "language model": datasets.language_model_dataset(
            list(range(1, 30)), sequence_length=4, batch_size=2),
        "predict_in_order": OrderedBatches(texts, vectorizer=vectorizer).dataset,
        "series": series.shuffled_batches(np.zeros((6, 3)), np.zeros(6), batch_size=2, seed=1),
        "seq2seq training": decoding.training_batches(
            [np.zeros((6, 3))], np.zeros((6, 3)), batch_size=2, seed=1),
        "seq2seq evaluation": decoding.evaluation_batches(
            [np.zeros((6, 3))], np.zeros((6, 3)), batch_size=2),
    }
    assert {name: tuned(batches) for name, batches in built.items()} == {
        name: False for name in built}
    assert tuned(tf.data.Dataset.range(3))  # tf.data's default, which the check would miss
