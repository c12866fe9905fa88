"""Accessibility of what the course draws and writes: palettes, second cues, captions, headings.

- Colours: the error-map colours and the categorical palette stay apart after
  simulating deuteranopia, protanopia and tritanopia (``colorspacious``, full
  severity): the smallest pairwise colour difference (CAM02-UCS ΔE') is at
  least :data:`MIN_DELTA_E` for the categorical palette and the diagram fills
  and :data:`MIN_DELTA_E_ERRORS` for the three error-map colours. Matplotlib's
  default colours fail the same check (so it can fail).
- Second cue: an error map hatches its false positives and outlines the true
  buildings, so colour is not the only carrier of meaning.
- Captions: every lesson cell that draws a figure is followed by a caption
  (a paragraph starting "Figure"), which the site also uses as the figure's
  alt text (``docs/_ext/course_site.py``).
- Headings: each notebook starts with one level-1 heading and never skips a
  level on the way down.
"""
from __future__ import annotations

import itertools
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from colorspacious import cspace_convert, deltaE

from unet_course import viz
from unet_course.lessons import initializers, unet_figure

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "course").glob("[0-9][0-9]_*.ipynb")) + \
    sorted((ROOT / "course_zh").glob("[0-9][0-9]_*.ipynb"))
DEFICIENCIES = ("deuteranomaly", "protanomaly", "tritanomaly")
MIN_DELTA_E = 15.0
MIN_DELTA_E_ERRORS = 20.0
#: A code cell that draws a figure: calls a plotting function of the package or of matplotlib.
DRAWS = re.compile(r"\b(plot_\w+|show_tiles|subplots|imshow|add_patch)\(")
CAPTION = re.compile(r"^\s*\*?\*?(Figure|图)\b")


def _rgb(colour):
    if isinstance(colour, str):
        colour = colour.lstrip("#")
        return np.array([int(colour[i:i + 2], 16) for i in (0, 2, 4)]) / 255
    return np.asarray(colour, dtype=float) / 255


def smallest_difference(colours):
    """The smallest pairwise ΔE' (CAM02-UCS) of ``colours``, as seen normally and with each deficiency."""
    colours = [_rgb(c) for c in colours]
    worst = {}
    for deficiency in ("normal", *DEFICIENCIES):
        if deficiency == "normal":
            seen = colours
        else:
            space = {"name": "sRGB1+CVD", "cvd_type": deficiency, "severity": 100}
            seen = [np.clip(cspace_convert(c, space, "sRGB1"), 0, 1) for c in colours]
        worst[deficiency] = min(float(deltaE(a, b, input_space="sRGB1"))
                                for a, b in itertools.combinations(seen, 2))
    return worst


@pytest.mark.parametrize("name, colours, minimum", [
    ("error-map colours", list(viz.ERROR_COLOURS.values()), MIN_DELTA_E_ERRORS),
    ("categorical palette", viz.CATEGORICAL, MIN_DELTA_E),
    ("U-Net diagram fills", [unet_figure._COLOURS[k] for k in ("encoder", "bottleneck", "decoder", "input")],
     MIN_DELTA_E),
])
def test_palettes_stay_apart_under_colour_vision_deficiencies(name, colours, minimum):
    worst = smallest_difference(colours)
    assert min(worst.values()) >= minimum, f"{name}: smallest ΔE' {worst} (want ≥ {minimum})"


def test_lesson_palettes_come_from_the_checked_one():
    assert set(initializers.COLOURS.values()) <= set(viz.CATEGORICAL)


def test_the_check_fails_matplotlibs_default_colours():
    worst = smallest_difference(["#1f77b4", "#ff7f0e", "#2ca02c"])
    assert worst["protanomaly"] < MIN_DELTA_E


def test_error_maps_hatch_false_positives_and_outline_buildings():
    truth = np.zeros((16, 16), np.uint8)
    truth[2:8, 2:8] = 1
    predicted = np.zeros_like(truth)
    predicted[4:12, 4:12] = 1
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    viz.mark_error_cues(ax, truth, predicted)
    hatches = [h for c in ax.collections for h in (getattr(c, "hatches", None) or [c.get_hatch()]) if h]
    assert hatches == [viz.FP_HATCH]
    assert any(c.get_edgecolor().size and c.get_path_effects() for c in ax.collections)
    legend = viz.error_legend_handles()
    assert [h.get_hatch() for h in legend if getattr(h, "get_hatch", None) and h.get_hatch()] == [viz.FP_HATCH]


def _markdown_headings(nb):
    return [(len(m.group(1)), m.group(2)) for cell in nb.cells if cell.cell_type == "markdown"
            for m in re.finditer(r"^(#{1,6})\s+(.*)$", re.sub(r"```.*?```", "", cell.source, flags=re.S),
                                 re.MULTILINE)]


def heading_problems(nb):
    """One level-1 heading first, and no level skipped on the way down."""
    headings = _markdown_headings(nb)
    if not headings:
        return ["no heading"]
    problems = [] if headings[0][0] == 1 else [f"first heading is level {headings[0][0]}: {headings[0][1]!r}"]
    problems += [f"level {level} heading {text!r} has no level 1 above it" for level, text in headings[1:]
                 if level == 1]
    for (before, _), (level, text) in zip(headings, headings[1:]):
        if level > before + 1:
            problems.append(f"heading {text!r} jumps from level {before} to {level}")
    return problems


def caption_problems(nb):
    """Code cells that draw a figure without a caption ("Figure ...") in the next markdown cell."""
    problems = []
    for n, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not DRAWS.search(cell.source):
            continue
        following = nb.cells[n + 1] if n + 1 < len(nb.cells) else None
        if following is None or following.cell_type != "markdown" or not CAPTION.match(following.source):
            problems.append(f"cell {n} draws a figure ({DRAWS.search(cell.source).group(0)}...) without a "
                            f"caption starting 'Figure' in the next cell")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(ROOT)) for p in NOTEBOOKS])
def test_headings_in_order_and_every_figure_captioned(path):
    nb = nbformat.read(str(path), as_version=4)
    problems = heading_problems(nb) + caption_problems(nb)
    assert not problems, f"{path.relative_to(ROOT)}: " + "; ".join(problems)


PAGES = [ROOT / "README.md", ROOT / "data" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("path", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_the_guides_headings_are_in_order(path):
    """The README and the site's pages, by the lessons' rule: one level-1 heading first, no level skipped."""
    page = nbformat.v4.new_notebook()
    page.cells = [nbformat.v4.new_markdown_cell(path.read_text(encoding="utf-8"))]
    assert not heading_problems(page), f"{path.relative_to(ROOT)}: " + "; ".join(heading_problems(page))


def test_the_rules_catch_skipped_headings_and_missing_captions():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("## Start\n#### Deep"),
                nbformat.v4.new_code_cell("fig = viz.plot_error_maps(tiles, probs)"),
                nbformat.v4.new_markdown_cell("The map shows...")]
    assert len(heading_problems(nb)) == 2
    assert len(caption_problems(nb)) == 1
    nb.cells[2].source = "*Figure: error maps of four tiles.*"
    assert caption_problems(nb) == []
