"""Property tests over arbitrary Unicode: what is written is read back exactly, and predict takes
any text, or each refuses with a `SeqrecipesError` that says why. Never another exception.

The "no crash" fuzzing of the readers on arbitrary lines and bytes is in tests/test_tabular.py,
tests/test_conll.py and tests/test_text.py; here the properties are stronger (round trips).
Examples are few and unbounded in time, so the file runs in seconds on a busy 2-core machine.
"""

import csv
import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqrecipes.datasets import load_conll, load_table
from seqrecipes.errors import DataError, InvalidArgumentError, SeqrecipesError
from seqrecipes.recipes import sentiment
from seqrecipes.recipes.sentiment import serve as _sentiment_serve

FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

# Any Unicode scalar value but the surrogates (which no UTF-8 file can hold).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
INTEGER_LABELS = st.integers(-3, 3)
NAME_LABELS = st.text(st.characters(exclude_categories=("Cs", "Zs", "Cc", "Zl", "Zp")),
                      min_size=1, max_size=6).filter(lambda s: s == s.strip())


def is_integer(label):
    try:
        int(label)
    except ValueError:
        return False
    return str(int(label)) == label or label.lstrip("+-").isdigit()


# --- tables -----------------------------------------------------------------------------------

@FUZZ
@given(texts=st.lists(TEXT, min_size=1, max_size=8), data=st.data(),
       names=st.booleans(), empty=st.sampled_from(["keep", "drop", "error"]))
def test_a_csv_written_by_pandas_reads_back_exactly(tmp_path, texts, data, names, empty):
    labels = data.draw(st.lists(NAME_LABELS if names else INTEGER_LABELS,
                                min_size=len(texts), max_size=len(texts)))
    if names and any(is_integer(label) for label in labels):
        labels = [f"c{label}" for label in labels]  # all names, or all integers
    path = tmp_path / "table.csv"
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)
    blank = [i for i, text in enumerate(texts) if not text.strip()]
    try:
        table = load_table(path, empty=empty)
    except DataError as error:
        if "carriage return" in str(error):
            # pandas writes a lone \r unquoted; every reader would cut the row there.
            assert any("\r" in text for text in texts), error
            return
        assert blank and empty == "error", error  # the documented refusal
        assert f"{len(blank)} empty documents" in str(error)
        return
    kept = [i for i in range(len(texts)) if empty == "keep" or i not in blank]
    assert table.texts == [texts[i] for i in kept]
    assert table.labels == [labels[i] for i in kept]
    assert table.num_empty == len(blank)
    assert list(table.rows) == [i + 1 for i in kept]


# TSV is read with quotes as plain characters: any text without a tab or a line break.
TSV_TEXT = st.text(st.characters(exclude_categories=("Cs",),
                                 exclude_characters="\t\n\r"), min_size=1, max_size=40)


@FUZZ
@given(rows=st.lists(st.tuples(TSV_TEXT, INTEGER_LABELS), min_size=1, max_size=8))
def test_a_tsv_keeps_quotes_and_every_character(tmp_path, rows):
    path = tmp_path / "table.tsv"
    lines = ["id\tdocument\tlabel"] + [f"{i}\t{text}\t{label}" for i, (text, label)
                                       in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        table = load_table(path, empty="keep")
    except DataError as error:
        # pandas skips a line that is blank once the tab-separated fields are stripped only
        # if the whole line is blank, which these never are; the only refusal left is a row
        # with a different number of fields, and there is none.
        pytest.fail(f"refused a valid TSV: {error}")
    assert table.texts == [text for text, _ in rows]
    assert table.labels == [label for _, label in rows]


@FUZZ
@given(cells=st.lists(st.lists(TEXT, min_size=1, max_size=4), min_size=0, max_size=6),
       header=st.lists(TEXT, min_size=1, max_size=4))
def test_random_tables_give_a_table_or_a_clear_data_error(tmp_path, cells, header):
    path = tmp_path / "random.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *cells])
    try:
        table = load_table(path, empty="keep")
    except DataError as error:
        assert str(path) in str(error)  # every refusal names the file
        assert len(str(error)) < 2_000
        return
    assert len(table.texts) == len(table.labels) == len(table.rows) > 0


# --- CoNLL ------------------------------------------------------------------------------------

TOKEN = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=8).filter(
    lambda token: not any(c.isspace() for c in token) and token != "-DOCSTART-"
)
TAB_TOKEN = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\t\n\r"),
                    min_size=1, max_size=8).filter(
    lambda token: token.strip() and token.split()[0] != "-DOCSTART-"
)


def iob2(kinds):
    """IOB2 tags from a list of entity kinds (None = O); a kind repeated continues an entity."""
    tags, previous = [], None
    for kind in kinds:
        tags.append("O" if kind is None else ("I-" if kind == previous else "B-") + kind)
        previous = kind
    return tags


SENTENCE_KINDS = st.lists(st.sampled_from([None, None, "PER", "LOC"]), min_size=1, max_size=6)


@FUZZ
@given(data=st.data(), kinds=st.lists(SENTENCE_KINDS, min_size=1, max_size=4),
       tabs=st.booleans(), windows=st.booleans())
def test_a_conll_file_reads_back_exactly(tmp_path, data, kinds, tabs, windows):
    tags = [iob2(sentence) for sentence in kinds]
    tokens = [data.draw(st.lists(TAB_TOKEN if tabs else TOKEN, min_size=len(sentence),
                                 max_size=len(sentence))) for sentence in tags]
    separator, newline = ("\t" if tabs else " "), ("\r\n" if windows else "\n")
    text = newline.join(
        newline.join(f"{token}{separator}{tag}" for token, tag in zip(words, labels)) + newline
        for words, labels in zip(tokens, tags)
    )
    path = tmp_path / "tagged.conll"
    path.write_bytes(text.encode("utf-8"))
    sentences = load_conll(path, delimiter="\t" if tabs else None)
    assert sentences.tokens == tokens
    assert sentences.tags == tags
    assert sentences.num_repaired == sentences.num_converted == 0


# --- predict ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A fastText bag trained one epoch on the embedded English sample."""
    run_dir = tmp_path_factory.mktemp("fuzz") / "run"
    sentiment.train(run_dir=run_dir, model="fasttext", embedding_dim=8, epochs=1, verbose=0,
                    seed=3)
    return run_dir


@pytest.fixture(scope="module")
def loaded(run_dir):
    """The run, loaded once: what `sentiment.predict` does after loading it."""
    return _sentiment_serve.load(run_dir)


@settings(FUZZ, max_examples=8)
@given(texts=st.lists(TEXT, min_size=1, max_size=6))
def test_predict_takes_any_text_and_answers_each_alone(loaded, texts):
    rows = loaded.predict(texts, batch_size=4)
    assert [row["text"] for row in rows] == texts
    for row in rows:
        assert row["label"] in (0, 1)
        assert math.isclose(sum(row["probabilities"].values()), 1, abs_tol=1e-5)
    # An answer does not depend on the batch neighbours or the padding they bring.
    alone = loaded.predict(texts[-1:])[0]["probabilities"]
    assert alone == pytest.approx(rows[-1]["probabilities"], abs=2e-6)


def test_predict_through_the_public_function_loads_the_run(run_dir, loaded):
    texts = ["\x00", "\u202e\u0301", "🙂 " * 50, "\r\n\t "]
    assert sentiment.predict(run_dir, texts) == loaded.predict(texts)


@settings(FUZZ, max_examples=10)
@given(before=TEXT, after=TEXT, surrogate=st.characters(categories=("Cs",)))
def test_predict_refuses_text_that_cannot_be_utf8_and_names_it(loaded, before, after,
                                                               surrogate):
    with pytest.raises(InvalidArgumentError, match=r"item 1 is not valid text"):
        loaded.predict(["fine", before + surrogate + after])


@settings(FUZZ, max_examples=10)
@given(items=st.lists(st.one_of(TEXT, st.none(), st.integers(), st.floats()), min_size=1,
                      max_size=4))
def test_predict_refuses_what_is_not_text_with_our_error(loaded, items):
    try:
        rows = loaded.predict(items)
    except SeqrecipesError as error:
        assert any(not isinstance(item, str) for item in items), error
        return
    assert len(rows) == len(items)
