"""Explanations drawn for people: an HTML page, a PNG, a table and bar chart of top tokens.

Every recipe's `explain` returns rows with `tokens` (a list of `{"token", "attribution"}`),
a `heading` (what was explained, e.g. "positive 0.93") and `completeness_error`; these
functions draw such rows, several to a page. Colours: green for a token that pushed towards
the explained class or tag, red for one against it, the strength relative to the largest
|attribution| of the same text. Every piece of text is HTML-escaped (a review holding
`<script>` shows as text).
"""

import html
import json
import warnings

import matplotlib

matplotlib.use("Agg")  # files only; works on machines without a display

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from seqrecipes.recipes.engine import os_errors as _os_errors  # noqa: E402

# Fonts with Hangul, tried in order for pictures of Korean text (DejaVu, matplotlib's own, has
# none); the first one installed is used.
HANGUL_FONTS = ("NanumGothic", "NanumBarunGothic", "Noto Sans CJK KR", "Noto Sans KR",
                "Malgun Gothic", "AppleGothic", "UnDotum")


def _strength(tokens):
    return max([abs(token["attribution"]) for token in tokens] + [1e-12])


def _rgb(value, strength):
    """Green (for) or red (against) of opacity |value| / strength, as (r, g, b) in 0..1."""
    share = min(1.0, abs(value) / strength)
    base = (0.10, 0.65, 0.25) if value > 0 else (0.85, 0.15, 0.15)
    return tuple(1.0 - share * (1.0 - channel) for channel in base)


def _details(row):
    error = row.get("completeness_error")
    parts = [row.get("heading", "")]
    if error is not None:
        parts.append(f"completeness error {100 * error:.2f}%")
    return " · ".join(part for part in parts if part)


def html_page(rows, *, title="Explanations"):
    """A self-contained HTML page (no script, no outside file) with one block per row."""
    blocks = []
    for row in rows:
        strength = _strength(row["tokens"])
        spans = []
        for token in row["tokens"]:
            r, g, b = (round(255 * channel) for channel in _rgb(token["attribution"], strength))
            spans.append(
                f'<span style="background:rgb({r},{g},{b})" '
                f'title="{token["attribution"]:+.4f}">{html.escape(token["token"])}</span>'
            )
        blocks.append(
            '<div class="explanation">\n'
            f'<p class="text">{html.escape(row.get("text", ""))}</p>\n'
            f'<p class="details">{html.escape(_details(row))}</p>\n'
            f'<p class="tokens">{" ".join(spans)}</p>\n</div>'
        )
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title>\n<style>"
        "body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        ".explanation{border-bottom:1px solid #ccc;padding:.5em 0}"
        ".text{color:#555}.details{font-size:90%;color:#333}"
        ".tokens span{padding:1px 2px;border-radius:3px;line-height:1.9}"
        "</style></head><body>\n"
        f"<h1>{html.escape(title)}</h1>\n<p>Green: towards the explained class or tag; red: "
        "against it (integrated gradients; hover a word for its attribution).</p>\n"
        + "\n".join(blocks) + "\n</body></html>\n"
    )


def write_html(path, rows, *, title="Explanations", flag="html"):
    return _os_errors.write_text_file(path, html_page(rows, title=title), what="the HTML page",
                                      flag=flag)


def _font_for(rows):
    """A font family that has the characters of `rows` (Hangul needs one of HANGUL_FONTS)."""
    text = "".join(token["token"] for row in rows for token in row["tokens"])
    if not any("\uac00" <= char <= "\ud7a3" or "\u3131" <= char <= "\u318e" for char in text):
        return None
    installed = {font.name for font in font_manager.fontManager.ttflist}
    found = next((name for name in HANGUL_FONTS if name in installed), None)
    if found is None:  # installed after matplotlib cached its font list: add the files
        for path in font_manager.findSystemFonts():
            if any(key in path.lower() for key in ("nanum", "cjk", "malgun", "applegothic")):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        installed = {font.name for font in font_manager.fontManager.ttflist}
        found = next((name for name in HANGUL_FONTS if name in installed), None)
    if found is None:
        warnings.warn("No font with Hangul is installed, so Korean tokens show as boxes in the "
                      f"picture (the HTML page is not affected). Install one of {HANGUL_FONTS} "
                      "(e.g. apt-get install fonts-nanum).", stacklevel=3)
    return found


def figure(rows, *, width=11.0, font_size=11):
    """A matplotlib figure: the tokens of each row on coloured boxes, wrapped into lines."""
    family = _font_for(rows)
    fontdict = {"size": font_size, **({"family": family} if family else {})}
    line_height = font_size * 2.0 / 72  # inches
    figure = plt.figure(figsize=(width, 1.0))
    renderer = figure.canvas.get_renderer()
    placed, y = [], 0.0  # (x, y, text, colour, weight) in inches from the top left
    for row in rows:
        placed.append((0.1, y, _details(row), None, "bold"))
        y += line_height
        x, strength = 0.1, _strength(row["tokens"])
        for token in row["tokens"]:
            probe = figure.text(0, 0, token["token"], fontdict=fontdict)
            extent = probe.get_window_extent(renderer=renderer).width / figure.dpi
            probe.remove()
            if x + extent > width - 0.2 and x > 0.1:
                x, y = 0.1, y + line_height
            placed.append((x, y, token["token"], _rgb(token["attribution"], strength), "normal"))
            x += extent + 0.08
        y += line_height * 1.6
    height = max(y, line_height) + 0.2
    figure.set_size_inches(width, height)
    for x, top, text, colour, weight in placed:
        box = None if colour is None else {"facecolor": colour, "edgecolor": "none",
                                            "pad": 1.5}
        figure.text(x / width, 1 - (top + line_height * 0.7) / height, text,
                    fontdict={**fontdict, "weight": weight}, bbox=box)
    return figure


def write_png(path, rows, *, flag="png", **kwargs):
    drawn = figure(rows, **kwargs)
    try:
        with _os_errors.explained(path, what="the picture", flag=flag):
            drawn.savefig(path, dpi=100)
    finally:
        plt.close(drawn)
    return path


def top_table_text(table):
    """The `top_tokens` table as text: one block per class, token, mean attribution, count."""
    lines = []
    for name, entries in table.items():
        lines.append(f"{name}:")
        width = max([len(entry["token"]) for entry in entries] + [5])
        lines.append(f"  {'token'.ljust(width)}  mean attribution  count")
        for entry in entries:
            lines.append(f"  {entry['token'].ljust(width)}  {entry['mean']:+16.4f}  "
                         f"{entry['count']:5d}")
    return "\n".join(lines)


def write_top_png(path, table, *, title="Largest mean attribution", flag="png"):
    """A bar chart per class of the `top_tokens` table."""
    rows = [{"tokens": [{"token": e["token"], "attribution": 0.0} for e in entries]}
            for entries in table.values()]
    family = _font_for(rows)
    drawn, axes = plt.subplots(1, len(table), figsize=(4.5 * len(table), 0.6 + 0.3 * max(
        [len(entries) for entries in table.values()] + [1])), squeeze=False)
    for axis, (name, entries) in zip(axes[0], table.items()):
        labels = [entry["token"] for entry in entries][::-1]
        axis.barh(range(len(labels)), [entry["mean"] for entry in entries][::-1],
                  color=(0.10, 0.65, 0.25))
        axis.set_yticks(range(len(labels)), labels,
                        **({"fontfamily": family} if family else {}))
        axis.set_title(f"class {name}")
        axis.set_xlabel("mean attribution")
    drawn.suptitle(title)
    drawn.tight_layout()
    try:
        with _os_errors.explained(path, what="the picture", flag=flag):
            drawn.savefig(path, dpi=100)
    finally:
        plt.close(drawn)
    return path


def top_tokens(rows, top, *, min_count=2):
    """Per explained class: the `top` tokens with the largest mean attribution.

    Args:
        rows: explanations whose `explained` names the class and whose `units` (n-grams for
            bag models, else `tokens`) hold `{"token", "attribution"}`.
        top: int. Entries per class.
        min_count: int. A token must occur this often among the class's texts.

    Returns:
        {class: [{"token", "mean", "count"}, ...]}, largest mean first.
    """
    sums = {}
    for row in rows:
        per_class = sums.setdefault(row["explained"], {})
        for token in row.get("ngrams") or row["tokens"]:
            total, count = per_class.get(token["token"], (0.0, 0))
            per_class[token["token"]] = (total + token["attribution"], count + 1)
    table = {}
    for name, per_class in sums.items():
        entries = [{"token": token, "mean": round(total / count, 6), "count": count}
                   for token, (total, count) in per_class.items() if count >= min_count]
        entries.sort(key=lambda entry: -entry["mean"])
        table[name] = entries[:top]
    return table


def print_json_lines(rows, keys):
    """One JSON line per row, with the given keys in that order."""
    for row in rows:
        print(json.dumps({key: row[key] for key in keys if key in row}, ensure_ascii=False))
