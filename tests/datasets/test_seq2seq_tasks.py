import numpy as np
import pytest

from seqrecipes.datasets import seq2seq_tasks
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.ids import END_ID, PAD_ID, START_ID


def splits(task, seed=3, **kwargs):
    sizes = dict(train_size=200, validation_size=20, test_size=30)
    return seq2seq_tasks.generate_splits(task, seed=seed, **{**sizes, **kwargs})


@pytest.mark.parametrize("task", seq2seq_tasks.TASKS)
def test_same_seed_same_examples_and_splits_are_disjoint(task):
    first, second, other = splits(task), splits(task), splits(task, seed=4)
    assert first == second
    assert first.train != other.train
    sources = [{source for source, _ in part} for part in (first.train, first.validation,
                                                           first.test)]
    assert [len(part) for part in sources] == [200, 20, 30]
    assert not (sources[0] & sources[1] or sources[0] & sources[2] or sources[1] & sources[2])


def test_targets_are_what_the_task_says():
    for source, target in splits("reverse", max_digits=5).train:
        assert target == source[::-1] and 1 <= len(source) <= 5
    for source, target in splits("addition", max_digits=2).train:
        a, b = source.split("+")
        assert int(target) == int(a) + int(b) and max(len(a), len(b)) <= 2
        assert not (len(a) > 1 and a.startswith("0"))
    for source, target in splits("dates").train:
        assert len(target) == 10 and target[4] == target[7] == "-"
        assert str(int(target[:4])) in source  # the year is written in every format


@pytest.mark.parametrize("task", seq2seq_tasks.TASKS)
def test_every_character_is_in_the_alphabet(task):
    alphabet = set(seq2seq_tasks.task_alphabet(task))
    data = splits(task)
    for source, target in data.train + data.validation + data.test:
        assert set(source + target) <= alphabet


def test_short_strings_reach_the_test_split():
    # Without the final shuffle the training split would take every short string.
    data = splits("reverse", max_digits=3, train_size=600, validation_size=50, test_size=100)
    assert min(len(source) for source, _ in data.test) <= 2


def test_character_table_round_trip():
    table = seq2seq_tasks.CharacterTable("0123456789")
    ids = table.encode(["170", "4"], length=5, start=True, end=True)
    assert ids[0].tolist() == [START_ID, 4, 10, 3, END_ID]
    assert ids[1].tolist() == [START_ID, 7, END_ID, PAD_ID, PAD_ID]
    assert table.decode(ids) == ["170", "4"]
    assert table.decode(np.array([[4, 5, END_ID, 6]])) == ["12"]  # stops at the end token


def test_character_table_errors_name_the_problem():
    table = seq2seq_tasks.CharacterTable("0123456789")
    with pytest.raises(InvalidArgumentError, match=r"'12a' has characters outside .*\['a'\]"):
        table.encode(["12a"])
    with pytest.raises(InvalidArgumentError, match="needs 4 ids but `length` is 3"):
        table.encode(["1234"], length=3)


def test_dates_take_no_max_digits():
    with pytest.raises(InvalidArgumentError, match="'dates' has none"):
        splits("dates", max_digits=3)


def test_asking_for_more_examples_than_exist_is_refused():
    # Strings of at most 2 digits: 110 exist.
    with pytest.raises(InvalidArgumentError, match="Could not generate 250 different"):
        splits("reverse", max_digits=2)


@pytest.mark.parametrize("value", [0, -1, 2.5, "3", True])
def test_bad_max_digits(value):
    with pytest.raises(InvalidArgumentError, match="`max_digits`"):
        splits("reverse", max_digits=value)


def test_digit_codes_are_deterministic_disjoint_and_encode_the_string():
    kwargs = dict(max_digits=3, feature_dim=16, noise=0.0, train_size=300, validation_size=30,
                  test_size=40)
    first = seq2seq_tasks.digit_code_splits(seed=5, **kwargs)
    second = seq2seq_tasks.digit_code_splits(seed=5, **kwargs)
    np.testing.assert_array_equal(first.train[0], second.train[0])
    assert first.train[1] == second.train[1]
    assert first.train[0].shape == (300, 16) and first.test[0].shape == (40, 16)
    strings = [set(part[1]) for part in (first.train, first.validation, first.test)]
    assert not (strings[0] & strings[1] or strings[0] & strings[2] or strings[1] & strings[2])
    # Without noise, different strings give different vectors.
    assert len({tuple(np.round(vector, 5)) for vector in first.train[0]}) == 300
    noisy = seq2seq_tasks.digit_code_splits(seed=5, **{**kwargs, "noise": 0.5})
    assert noisy.train[1] == first.train[1]
    difference = noisy.train[0] - first.train[0]
    assert 0.4 < difference.std() < 0.6
