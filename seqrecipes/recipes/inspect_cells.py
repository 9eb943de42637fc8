"""Looking inside a character model: which hidden units track which property of the text.

    seqrecipes inspect-cells runs/char-lm                       # the embedded play
    seqrecipes inspect-cells runs/char-lm --text my.txt --unit lstm_2/c:117

After the model of a `char-lm` run reads a text, every state value of every recurrent layer
(`h`, and `c` for an LSTM) at every character is recorded. Each is correlated (Pearson) with
simple properties of the text read so far (`text_properties`): inside double quotes, inside
parentheses, position in the line, just after a space or a line break, position in the word,
upper-case letter, punctuation. The units with the largest |correlation| per property go to
`top_units.csv`, and for the best unit of each property a heat map draws the text as lines
with each character's background coloured by that unit's value after reading it (as in
Karpathy, Johnson and Fei-Fei, "Visualizing and Understanding Recurrent Networks", 2015).
A property that is constant over the text (no quotes in it, say) has no correlation and is
reported as absent, never as zero.
"""

import dataclasses
import pathlib
import string
import typing

import numpy as np

from seqrecipes import _validation
from seqrecipes.errors import InvalidArgumentError
from seqrecipes.recipes import char_lm
from seqrecipes.recipes.engine import artifacts as _artifacts
from seqrecipes.recipes.engine import flags as _cli
from seqrecipes.recipes.engine import plots as _plots
from seqrecipes.recipes.engine import training as _training

if typing.TYPE_CHECKING:  # pandas is imported where a table is made, not by `--help`
    import pandas

RECIPE = "inspect-cells"
PUNCTUATION = frozenset(string.punctuation)


def text_properties(text):
    """Per-character properties of `text`, each a float array of `len(text)`.

    Value t describes the text after reading character t (what a model's state can know
    then): an opening quote is already inside the quotes, a closing one is outside again.

    - `inside_quotes`: 1 between a `"` and the next one (an odd number of `"` so far).
    - `inside_parentheses`: 1 while more `(` than `)` have been read.
    - `position_in_line`: characters since the line began (0 for its first; a line break
      ends its line).
    - `after_space`, `after_newline`: 1 if character t is a space / a line break.
    - `position_in_word`: 1, 2, ... through the letters of a word, 0 elsewhere.
    - `uppercase`: 1 if character t is an upper-case letter.
    - `punctuation`: 1 if character t is ASCII punctuation.

    Example:

    >>> text_properties('a "bc" d')["inside_quotes"].tolist()
    [0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    >>> text_properties("ab\\ncd")["position_in_line"].tolist()
    [0.0, 1.0, 2.0, 0.0, 1.0]
    """
    _validation.check_string("text", text)
    size = len(text)
    properties = {name: np.zeros(size) for name in (
        "inside_quotes", "inside_parentheses", "position_in_line", "after_space",
        "after_newline", "position_in_word", "uppercase", "punctuation",
    )}
    quotes = depth = column = word = 0
    for t, char in enumerate(text):
        quotes += char == '"'
        depth = depth + 1 if char == "(" else max(depth - 1, 0) if char == ")" else depth
        word = word + 1 if char.isalpha() else 0
        properties["inside_quotes"][t] = quotes % 2
        properties["inside_parentheses"][t] = depth > 0
        properties["position_in_line"][t] = column
        properties["after_space"][t] = char == " "
        properties["after_newline"][t] = char == "\n"
        properties["position_in_word"][t] = word
        properties["uppercase"][t] = char.isupper()
        properties["punctuation"][t] = char in PUNCTUATION
        column = 0 if char == "\n" else column + 1
    return properties


def correlations(activations, properties):
    """Pearson correlation of every unit with every property.

    Args:
        activations: array `(steps, units)`.
        properties: dict of name -> array `(steps,)`.

    Returns:
        A DataFrame, one row per property, one column per unit; a property (or unit) that
        is constant over the steps has NaN (no correlation is defined).
    """
    import pandas

    activations = np.asarray(activations, "float64")
    if activations.ndim != 2:
        raise InvalidArgumentError(
            f"`activations` must be 2-D (steps, units). Received shape {activations.shape}."
        )
    centred = activations - activations.mean(axis=0)
    unit_norms = np.sqrt((centred**2).sum(axis=0))
    rows = {}
    for name, values in properties.items():
        values = np.asarray(values, "float64")
        if values.shape != (len(activations),):
            raise InvalidArgumentError(
                f"Property {name!r} has shape {values.shape}; it must have one value per "
                f"step ({len(activations)})."
            )
        deviation = values - values.mean()
        norm = np.sqrt((deviation**2).sum())
        with np.errstate(divide="ignore", invalid="ignore"):
            rows[name] = (deviation @ centred) / (norm * unit_norms)
    frame = pandas.DataFrame(rows).T
    return frame.where(np.isfinite(frame))


def rank_units(activations, unit_names, properties, *, top=5):
    """The `top` units per property by |correlation|, best first.

    Returns:
        A DataFrame with columns `property`, `rank` (1 = best), `unit`, `correlation`.
        Properties constant over the text are left out (they correlate with nothing).

    Example:

    >>> steps = np.array([[0.1, 1.0], [0.9, 0.0], [0.2, 1.0], [0.8, 0.0]])
    >>> rank_units(steps, ["a", "b"], {"odd": np.array([0, 1, 0, 1])}, top=1)
      property  rank unit  correlation
    0      odd     1    b         -1.0
    """
    import pandas

    _validation.check_positive_int("top", top)
    if len(unit_names) != np.shape(activations)[1]:
        raise InvalidArgumentError(
            f"`unit_names` has {len(unit_names)} names for {np.shape(activations)[1]} units."
        )
    table = correlations(activations, properties)
    table.columns = list(unit_names)
    rows = []
    for name, values in table.iterrows():
        ranked = values.dropna().abs().sort_values(ascending=False, kind="stable")
        for rank, unit in enumerate(ranked.index[:top], start=1):
            rows.append({"property": name, "rank": rank, "unit": unit,
                         "correlation": float(values[unit])})
    return pandas.DataFrame(rows, columns=["property", "rank", "unit", "correlation"])


def record_activations(model, ids):
    """Every state value of every recurrent layer after each id: `(steps, units)` and names.

    Unit names read `<layer>/<state>:<index>`, e.g. `lstm_2/c:117`.
    """
    from seqrecipes.models.stepping import run_recurrent, state_names

    _, _, recorded = run_recurrent(model, np.asarray(ids, "int32")[None, :], record=True)
    names = []
    for state, values in zip(state_names(model), recorded):
        names += [f"{state}:{index}" for index in range(values.shape[-1])]
    return np.concatenate([values[0] for values in recorded], axis=-1), names


def text_heatmap(text, values, *, columns=80, title=""):
    """Draws `text` as lines of characters, each on a background coloured by its value.

    Lines break at line breaks and after `columns` characters. Blue is negative, red
    positive, white 0; the scale is symmetric, up to the largest |value|.

    Returns:
        A matplotlib Figure.
    """
    plt = _plots.pyplot()

    _validation.check_positive_int("columns", columns)
    values = np.asarray(values, "float64")
    cells, row, column = [], 0, 0
    for char, value in zip(text, values):
        if column == columns:
            row, column = row + 1, 0
        cells.append((row, column, char, value))
        if char == "\n":
            row, column = row + 1, 0
        else:
            column += 1
    grid = np.full((row + 1, columns), np.nan)
    for r, c, _, value in cells:
        grid[r, c] = value
    limit = float(np.nanmax(np.abs(grid))) if np.isfinite(grid).any() else 1.0
    figure, axis = plt.subplots(figsize=(columns * 0.12 + 1.2, grid.shape[0] * 0.22 + 0.8))
    cmap = plt.get_cmap("coolwarm").with_extremes(bad="white")  # no character: white
    image = axis.imshow(grid, cmap=cmap, vmin=-(limit or 1.0), vmax=limit or 1.0,
                        aspect="auto", interpolation="nearest")
    for r, c, char, _ in cells:
        if char.strip():
            axis.text(c, r, char, ha="center", va="center", family="monospace", fontsize=8)
    axis.set_xticks([])
    axis.set_yticks([])
    axis.set_title(title, fontsize=10)
    figure.colorbar(image, ax=axis, fraction=0.02, pad=0.01)
    figure.tight_layout()
    return figure


def _file_name(unit):
    return "heatmap_" + unit.replace("/", "_").replace(":", "_") + ".png"


@dataclasses.dataclass
class InspectResult:
    """What `run` produced."""

    run_dir: pathlib.Path
    table: "pandas.DataFrame"  # top units per property
    metrics: dict
    activations: np.ndarray  # (characters, units)
    unit_names: list


@_training.releases_locks
def run(
    model_run,
    *,
    text=None,
    max_chars=3000,
    unit=None,
    top=5,
    heatmap_chars=1200,
    columns=80,
    run_dir="runs/inspect-cells",
    overwrite=False,
    verbose=1,
):
    """Finds the hidden units of a char-lm model that track simple properties of a text.

    Args:
        model_run: path of a run directory written by the char-lm recipe.
        text: str, path or None. A UTF-8 text file to read; None uses the embedded sample
            play. Characters the model never saw are read as the unknown id (counted in
            `metrics.json`).
        max_chars: int. Read at most this many characters (from the start). Defaults to 3000.
        unit: str or None. Also draw this unit (e.g. "lstm_2/c:117").
        top: int. Units listed per property. Defaults to 5.
        heatmap_chars: int. Characters drawn in each heat map. Defaults to 1200.
        columns: int. Characters per drawn line. Defaults to 80.
        run_dir: path. Where this inspection is written (a run directory).
        overwrite: bool. Replace a complete run already in `run_dir`.
        verbose: int. 0 prints nothing.

    Returns:
        An `InspectResult`.
    """
    from seqrecipes.datasets import load_text, sample_path
    from seqrecipes.datasets.vocab import OOV_ID

    for name, value in (("max_chars", max_chars), ("top", top),
                        ("heatmap_chars", heatmap_chars), ("columns", columns)):
        _validation.check_positive_int(name, value)
    _validation.check_string("unit", unit, allow_none=True)
    _validation.check_bool("overwrite", overwrite)
    _validation.check_non_negative_int("verbose", verbose)
    loaded = _artifacts.load_run(model_run)
    vocabulary = char_lm.load_vocabulary(loaded)
    config = {"recipe": RECIPE, "model_run": str(model_run),
              "text": None if text is None else str(text), "max_chars": max_chars,
              "unit": unit, "top": top, "heatmap_chars": heatmap_chars, "columns": columns}
    _training.prepare_run_dir(run_dir, config, overwrite=overwrite)
    path = sample_path("char_lm") if text is None else text
    content = load_text(path)[:max_chars]
    index = {char: position for position, char in enumerate(vocabulary)}
    ids = np.array([index.get(char, OOV_ID) for char in content], "int32")
    activations, names = record_activations(loaded.model, ids)
    _validation.check_conflict(
        unit is not None and unit not in names,
        f"`unit`={unit!r} is not a unit of this model. Units are named <layer>/<state>:<index>"
        f", from {names[0]!r} to {names[-1]!r}.",
    )
    properties = text_properties(content)
    table = rank_units(activations, names, properties, top=top)
    best = table[table["rank"] == 1]
    absent = sorted(set(properties) - set(best["property"]))
    shown = content[:heatmap_chars]
    figures = {}
    for row in best.itertuples():
        column = names.index(row.unit)
        figures[f"{row.property}_{_file_name(row.unit)}"] = text_heatmap(
            shown, activations[: len(shown), column], columns=columns,
            title=f"{row.unit}: r = {row.correlation:+.2f} with {row.property}",
        )
    if unit is not None:
        figures[_file_name(unit)] = text_heatmap(
            shown, activations[: len(shown), names.index(unit)], columns=columns, title=unit
        )
    metrics = {
        "characters": len(content),
        "units": len(names),
        "unknown_characters": int((ids == OOV_ID).sum()),
        "absent_properties": absent,
        "best": {row.property: {"unit": row.unit, "correlation": row.correlation}
                 for row in best.itertuples()},
    }
    written = _artifacts.write_run(
        run_dir, model=loaded.model, config={**config, "text": str(path)}, metrics=metrics,
        figures=figures, files={"top_units.csv": table.to_csv(index=False),
                                char_lm.VOCABULARY_FILE: vocabulary},
    )
    if verbose:
        print(table.to_string(index=False, float_format=lambda x: f"{x:+.3f}"))
        if absent:
            print(f"Constant over this text, so not correlated: {', '.join(absent)}.")
        print(f"Heat maps and top_units.csv written to {written}")
    return InspectResult(written, table, metrics, activations, names)


def add_parser(subparsers):
    """Declares `seqrecipes inspect-cells`."""
    parser = subparsers.add_parser(
        "inspect-cells", help="find hidden units of a char-lm model that track the text",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("model_run", metavar="CHAR_LM_RUN", help="a run written by char-lm train")
    parser.add_argument("--text", default=None,
                        help="UTF-8 text file to read (default: the embedded sample play)")
    parser.add_argument("--max-chars", type=int, default=3000)
    parser.add_argument("--unit", default=None, help="also draw this unit, e.g. lstm_2/c:117")
    parser.add_argument("--top", type=int, default=5, help="units listed per property")
    parser.add_argument("--heatmap-chars", type=int, default=1200)
    parser.add_argument("--columns", type=int, default=80)
    parser.add_argument("--run-dir", default="runs/inspect-cells",
                        help="where the inspection is written")
    parser.add_argument("--overwrite", action="store_true")
    _cli.add_quiet_flag(parser)  # prints the table, else nothing (verbose=0 in Python)
    _cli.bind(parser, run)
    return parser
