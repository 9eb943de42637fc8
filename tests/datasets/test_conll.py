import gzip

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqrecipes.datasets import load_conll
from seqrecipes.errors import DataError, DataFileNotFoundError, InvalidArgumentError

CONLL = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O
. . O O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER


-DOCSTART- -X- -X- O

BRUSSELS NNP B-NP B-LOC
1996-08-22 CD I-NP O
"""


def write(tmp_path, content, name="data.conll"):
    path = tmp_path / name
    data = content.encode("utf-8") if isinstance(content, str) else content
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


def test_sentences_tokens_tags_and_lines(tmp_path):
    data = load_conll(write(tmp_path, CONLL))
    assert len(data) == 3 and data.num_tokens == 9 and data.num_documents == 2
    assert data.tokens[0] == ["EU", "rejects", "German", "call", "."]
    assert data.tags[1] == ["B-PER", "I-PER"]
    assert data.lines == [[3, 4, 5, 6, 7], [9, 10], [15, 16]]
    assert data.where(1, 1).endswith("data.conll:10")
    assert data.scheme == "iob2" and data.num_repaired == 0
    assert data.entity_counts() == {"LOC": 1, "MISC": 1, "ORG": 1, "PER": 1}
    assert data.tag_counts()["O"] == 4
    assert repr(data).endswith(
        "sentences=3, tokens=9, scheme='iob2', num_repaired=0, num_converted=0)"
    )


def test_other_columns(tmp_path):
    path = write(tmp_path, CONLL)
    chunks = load_conll(path, tag_column=2)
    assert chunks.tags[0] == ["B-NP", "B-VP", "B-NP", "I-NP", "O"]
    pos = load_conll(path, tag_column=1, scheme="none")
    assert pos.tags[2] == ["NNP", "CD"]
    with pytest.raises(InvalidArgumentError, match="scheme='none'"):
        pos.entity_counts()


def test_last_sentence_without_trailing_blank_line_windows_endings_and_bom(tmp_path):
    data = load_conll(write(tmp_path, "\ufeffA B-PER\r\nb O\r\n\r\nC B-LOC"))
    assert data.tokens == [["A", "b"], ["C"]] and data.tags == [["B-PER", "O"], ["B-LOC"]]


def test_tab_delimiter_keeps_spaces_in_tokens(tmp_path):
    data = load_conll(write(tmp_path, "New York\tB-LOC\n \tO\ncity\tO\n"), delimiter="\t")
    assert data.tokens == [["New York", " ", "city"]]


def test_char_file_with_space_marker(tmp_path):
    data = load_conll(write(tmp_path, "경\tB-OG\n찰\tI-OG\n▁\tO\n은\tO\n"))
    assert data.tokens == [["경", "찰", "▁", "은"]] and data.entity_counts() == {"OG": 1}


def test_docstart_with_any_number_of_columns(tmp_path):
    data = load_conll(write(tmp_path, "-DOCSTART-\n\nA B-PER\n-DOCSTART- O\nB B-LOC\n"))
    assert data.tokens == [["A"], ["B"]] and data.num_documents == 2


def test_documents_of_sentences(tmp_path):
    assert load_conll(write(tmp_path, CONLL)).documents == [1, 1, 2]
    no_docstart = load_conll(write(tmp_path, "A B-PER\n\nB O\n", name="plain.conll"))
    assert no_docstart.documents == [0, 0] and no_docstart.num_documents == 0


def test_gzip(tmp_path):
    assert len(load_conll(write(tmp_path, CONLL, name="data.conll.gz"))) == 3


# --- IOB schemes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tags, where, after",
    [
        ("I-PER O", 1, "starts the sentence"),
        ("O I-PER", 2, "follows 'O'"),
        ("B-LOC I-PER", 2, "follows 'B-LOC'"),
    ],
)
def test_invalid_iob2_is_an_error_with_file_line_and_fix(tmp_path, tags, where, after):
    lines = "".join(f"w{i} {tag}\n" for i, tag in enumerate(tags.split()))
    path = write(tmp_path, lines)
    with pytest.raises(DataError) as info:
        load_conll(path)
    message = str(info.value)
    assert f"{path}:{where}:" in message and after in message
    assert "'B-PER'" in message and "invalid='repair'" in message and "scheme='iob1'" in message


def test_repair_rewrites_and_counts(tmp_path):
    data = load_conll(write(tmp_path, "a I-PER\nb I-PER\nc O\nd I-LOC\n\ne B-ORG\nf I-PER\n"),
                      invalid="repair")
    assert data.tags == [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "B-PER"]]
    assert data.num_repaired == 3 and data.num_converted == 0


IOB1 = "Ada I-PER\nLovelace I-PER\nBabbage B-PER\nmet O\nin O\nLondon I-LOC\n"


def test_iob1_is_converted_to_iob2(tmp_path):
    data = load_conll(write(tmp_path, IOB1), scheme="iob1")
    assert data.tags == [["B-PER", "I-PER", "B-PER", "O", "O", "B-LOC"]]
    assert data.num_converted == 2 and data.num_repaired == 0 and data.scheme == "iob1"
    assert data.entity_counts() == {"LOC": 1, "PER": 2}


def test_auto_detects_iob1_and_iob2(tmp_path):
    iob1 = load_conll(write(tmp_path, IOB1, name="a.conll"), scheme="auto")
    assert iob1.scheme == "iob1" and iob1.tags[0][0] == "B-PER"
    iob2 = load_conll(write(tmp_path, CONLL, name="b.conll"), scheme="auto")
    assert iob2.scheme == "iob2" and iob2.num_converted == 0
    # B- after O is never IOB1, so a stray I- is an IOB2 error again.
    with pytest.raises(DataError, match=":3: 'I-LOC' follows 'O'"):
        load_conll(write(tmp_path, "a B-PER\nb O\nc I-LOC\n", name="c.conll"), scheme="auto")


@pytest.mark.parametrize("tag", ["E-PER", "PER", "B-", "I", "b-per"])
def test_tag_that_is_not_iob(tmp_path, tag):
    path = write(tmp_path, f"a O\nb {tag}\n")
    with pytest.raises(DataError) as info:
        load_conll(path)
    assert f"{path}:2: tag {tag!r} is not IOB" in str(info.value)
    assert "scheme='none'" in str(info.value)


# --- malformed files ---------------------------------------------------------------------------


def test_line_with_a_different_number_of_columns(tmp_path):
    path = write(tmp_path, "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\ncall B-NP O\n")
    with pytest.raises(DataError) as info:
        load_conll(path)
    message = str(info.value)
    assert f"{path}:3: 3 columns, expected 4 as on line 1" in message and "'call B-NP O'" in message


def test_token_without_tag(tmp_path):
    path = write(tmp_path, "\n\nlonely\n")
    with pytest.raises(DataError) as info:
        load_conll(path)
    assert f"{path}:3: 1 column(s) ['lonely']" in str(info.value)
    assert "need 2 different columns" in str(info.value)


def test_tag_column_out_of_range(tmp_path):
    with pytest.raises(DataError, match=r":1: 2 column\(s\).*tag_column=5"):
        load_conll(write(tmp_path, "a O\n"), tag_column=5)


def test_empty_field_with_tab_delimiter(tmp_path):
    with pytest.raises(DataError, match=r":2: empty tag in 'b\\t'"):
        load_conll(write(tmp_path, "a\tO\nb\t\n"), delimiter="\t")


@pytest.mark.parametrize("content", ["", "\n \n", "-DOCSTART- -X- -X- O\n\n"])
def test_no_sentences(tmp_path, content):
    path = write(tmp_path, content)
    with pytest.raises(DataError, match="no sentences found") as info:
        load_conll(path)
    assert str(path) in str(info.value)


def test_invalid_utf8(tmp_path):
    path = write(tmp_path, b"a O\n\nb\xff O\n")
    with pytest.raises(DataError, match=r":3: not valid UTF-8 at byte offset 6") as info:
        load_conll(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(DataFileNotFoundError, match="train.conll"):
        load_conll(tmp_path / "train.conll")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"token_column": "0"}, "`token_column` must be an integer"),
        ({"tag_column": True}, "`tag_column` must be an integer"),
        ({"scheme": "bioes"}, "`scheme` must be one of 'iob2', 'iob1', 'auto', 'none'"),
        ({"invalid": "ignore"}, "`invalid` must be one of 'error', 'repair'"),
        ({"delimiter": ""}, "`delimiter` must be a non-empty string"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        load_conll(write(tmp_path, CONLL), **kwargs)


# --- the real datasets (skipped when ../shared/data is absent) --------------------------------


@pytest.mark.parametrize(
    "split, sentences, tokens, documents, entities",
    [
        ("train", 14_041, 203_621, 946, {"LOC": 7_140, "MISC": 3_438, "ORG": 6_321, "PER": 6_600}),
        ("valid", 3_250, 51_362, 216, {"LOC": 1_837, "MISC": 922, "ORG": 1_341, "PER": 1_842}),
        ("test", 3_453, 46_435, 231, {"LOC": 1_668, "MISC": 702, "ORG": 1_661, "PER": 1_617}),
    ],
)
def test_conll2003_counts(shared_data, split, sentences, tokens, documents, entities):
    data = load_conll(shared_data / "conll2003" / f"{split}.txt")
    assert (len(data), data.num_tokens, data.num_documents) == (sentences, tokens, documents)
    assert data.entity_counts() == entities
    assert data.num_repaired == 0 and data.scheme == "iob2"


def test_conll2003_is_already_iob2(shared_data):
    # "auto" must not mistake the IOB2 copy for IOB1.
    assert load_conll(shared_data / "conll2003" / "valid.txt", scheme="auto").scheme == "iob2"


def test_klue_char_counts_and_quirky_b_on_spaces(shared_data):
    data = load_conll(shared_data / "klue_ner" / "dev.char.conll")
    assert (len(data), data.num_tokens) == (5_000, 285_929)
    counts = data.entity_counts()
    assert sum(counts.values()) == 14_257
    assert counts == {"DT": 2_312, "LC": 1_649, "OG": 2_182, "PS": 4_418, "QT": 3_151, "TI": 545}
    quirks = [
        data.where(i, j)
        for i, tags in enumerate(data.tags)
        for j, tag in enumerate(tags)
        if tag.startswith("B-") and data.tokens[i][j] == "▁"
    ]
    assert len(quirks) == 2  # kept as they are in the source


# --- any text at all: sentences or a DataError, never a crash ----------------------------------

# Small and without deadline: the suite stays fast on a busy 2-core machine.
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

TAGGY = st.lists(
    st.one_of(
        st.text(max_size=20),
        st.tuples(st.text(min_size=1, max_size=5), st.sampled_from(["O", "B-X", "I-X", "I-Y"])).map(
            " ".join
        ),
    ),
    max_size=12,
)


@FUZZ
@given(lines=TAGGY, scheme=st.sampled_from(["iob2", "iob1", "auto", "none"]),
       invalid=st.sampled_from(["error", "repair"]), delimiter=st.sampled_from([None, "\t"]))
def test_arbitrary_lines_give_sentences_or_a_data_error(
    tmp_path, lines, scheme, invalid, delimiter
):
    path = write(tmp_path, "\n".join(lines))
    try:
        data = load_conll(path, scheme=scheme, invalid=invalid, delimiter=delimiter)
    except DataError:
        return
    for tokens, tags, numbers in zip(data.tokens, data.tags, data.lines):
        assert len(tokens) == len(tags) == len(numbers) > 0
    if scheme != "none":
        data.entity_counts()
