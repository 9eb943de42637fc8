import pytest

from seqrecipes import _validation
from seqrecipes.errors import DataFileNotFoundError, InvalidArgumentError


@pytest.mark.parametrize("value", [0, -1, 2.5, "8", True, None])
def test_positive_int_rejects_with_one_message_shape(value):
    with pytest.raises(InvalidArgumentError) as info:
        _validation.check_positive_int("units", value)
    assert str(info.value) == (
        f"`units` must be a positive integer. Received: units={value!r} "
        f"({type(value).__name__})."
    )


def test_error_is_both_value_and_type_error():
    with pytest.raises(ValueError):
        _validation.check_positive_int("units", 0)
    with pytest.raises(TypeError):
        _validation.check_positive_int("units", "8")


@pytest.mark.parametrize("value", [(), [], [4, 0], [4, True], "64", (4, 2.0)])
def test_positive_ints_rejects(value):
    with pytest.raises(InvalidArgumentError, match="`units` must be a positive integer or"):
        _validation.check_positive_ints("units", value)


@pytest.mark.parametrize("value, expected", [(4, (4,)), ([8, 4], (8, 4)), ((2,), (2,))])
def test_positive_ints_accepts(value, expected):
    assert _validation.check_positive_ints("units", value) == expected


@pytest.mark.parametrize("value", [-0.1, 1.0, 1.5, float("nan"), "0.1", True])
def test_fraction_rejects(value):
    with pytest.raises(InvalidArgumentError, match=r"`dropout` must be a number in \[0, 1\)"):
        _validation.check_fraction("dropout", value)


def test_choice_lists_the_choices():
    with pytest.raises(InvalidArgumentError, match="one of 'lstm', 'gru'. Received: cell='rnn'"):
        _validation.check_choice("cell", "rnn", ("lstm", "gru"))


def test_missing_file_names_the_path(tmp_path):
    missing = tmp_path / "nope.tsv"
    with pytest.raises(DataFileNotFoundError, match="nope.tsv"):
        _validation.check_existing_file("data", missing)
    with pytest.raises(DataFileNotFoundError, match="is a directory"):
        _validation.check_existing_file("data", tmp_path)


@pytest.mark.parametrize("value", [1.0, "0", True, None])
def test_int_rejects(value):
    with pytest.raises(InvalidArgumentError, match="`tag_column` must be an integer. Received"):
        _validation.check_int("tag_column", value)


def test_int_accepts_negative():
    assert _validation.check_int("tag_column", -1) == -1


@pytest.mark.parametrize("value", [-0.1, float("inf"), float("nan"), "0.1", True, None])
def test_non_negative_float_rejects(value):
    with pytest.raises(InvalidArgumentError, match="`noise` must be a non-negative finite"):
        _validation.check_non_negative_float("noise", value)


@pytest.mark.parametrize("value", [0, 0.0, 2.5])
def test_non_negative_float_accepts(value):
    assert _validation.check_non_negative_float("noise", value) == float(value)


def test_utf8_strings_accepts_any_scalar_value():
    texts = ["", "\x00", "🙂", "\U0010ffff", "a\u0301"]
    assert _validation.check_utf8_strings("texts", texts) is texts


def test_utf8_strings_names_the_item_and_position_of_a_lone_surrogate():
    with pytest.raises(InvalidArgumentError, match=r"`texts`: item 2 is not valid text: 'ab\\udcff'"
                       r" holds the lone surrogate '\\udcff' at character 2"):
        _validation.check_utf8_strings("texts", ["ok", "fine", "ab\udcff"])


@pytest.mark.parametrize("value", [-1, 2**32, 2**63, 1.5, "7", True, None])
def test_seed_rejects_what_numpy_or_scikit_learn_would(value):
    with pytest.raises(InvalidArgumentError, match=r"`seed` must be an integer from 0 to "
                       r"4294967295 \(2\*\*32 - 1"):
        _validation.check_seed("seed", value)


@pytest.mark.parametrize("value", [0, 1234, 2**32 - 1])
def test_seed_accepts_the_32_bit_range(value):
    assert _validation.check_seed("seed", value) == value


def test_settings_the_chosen_option_does_not_read_are_named_with_their_users():
    reads = {"cnn": ("filters", "max_chars"), "lstm": ("units", "max_chars"), "none": ()}
    _validation.check_settings_used("char", "cnn", reads, {"filters": 3, "units": None})
    with pytest.raises(InvalidArgumentError) as info:
        _validation.check_settings_used("char", "none", reads,
                                        {"filters": 3, "units": None, "max_chars": 9})
    assert str(info.value) == (
        "char='none' does not use `filters` (used by cnn), `max_chars` (used by cnn, lstm). "
        "Received: filters=3, max_chars=9. Leave them out or choose another `char`.")


def test_not_given_refuses_only_what_was_given_and_defaults_fill_the_rest():
    given = {"max_tokens": None, "min_frequency": 5}
    with pytest.raises(InvalidArgumentError) as info:
        _validation.check_not_given(given, ("max_tokens", "min_frequency"),
                                    reason="The file sets it", fix="Leave it out.")
    assert str(info.value) == ("The file sets it, so `min_frequency` does not apply. "
                               "Received: min_frequency=5. Leave it out.")
    assert _validation.with_defaults(given, {"max_tokens": 10, "min_frequency": 2}) == {
        "max_tokens": 10, "min_frequency": 5}
