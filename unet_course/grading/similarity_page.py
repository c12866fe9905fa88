"""The similarity report's page: ``index.html`` and a heatmap per function.

:mod:`unet_course.grading.similarity_report` compares the class and calls
:func:`html_text` and :func:`heatmap_png` with its ``ClassReport``. The page
is one self-contained file (a little inline CSS and JavaScript to sort the
tables by a click on a column's title) beside the PNGs.
"""
from __future__ import annotations

import html
import io

__all__ = ["SHOWN", "heatmap_png", "html_text"]

#: Rows shown per function in index.html, flagged ones first; similarity.csv has them all.
SHOWN = 200


def heatmap_png(report, function):
    """A PNG of ``function``'s score matrix: submissions and the reference, flagged pairs ringed."""
    import numpy as np
    from matplotlib.figure import Figure

    names, matrix = report.matrices[function]
    n, place = len(names), {name: i for i, name in enumerate(names)}
    grid = np.full((n, n), np.nan)
    for (a, b), score in matrix.items():
        grid[place[a], place[b]] = score
    side = min(12.0, 3.0 + 0.22 * n)
    fig = Figure(figsize=(side + 1.2, side))
    ax = fig.add_subplot()
    image = ax.imshow(grid, vmin=0, vmax=1, cmap="viridis")
    fig.colorbar(image, ax=ax, shrink=0.8, label="score (shared fingerprints)")
    flagged = [(place[p.student_a], place[p.student_b]) for p in report.pairs
               if p.function == function and p.flagged]
    if flagged:
        rows, cols = zip(*(flagged + [(j, i) for i, j in flagged]))
        ax.scatter(cols, rows, s=60, facecolors="none", edgecolors="red", linewidths=1.5)
    if n <= 60:
        ax.set_xticks(range(n), names, rotation=90, fontsize=7)
        ax.set_yticks(range(n), names, fontsize=7)
    ax.set_title(f"{function}: how alike (red rings: flagged)")
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=90)
    return out.getvalue()


_SORT_SCRIPT = """
document.querySelectorAll("table.sortable th").forEach((th, column) => th.addEventListener("click", () => {
  const body = th.closest("table").tBodies[0], up = th.dataset.up !== "1";
  const key = row => { const text = row.cells[column].textContent, n = parseFloat(text);
                       return isNaN(n) ? text : n; };
  [...body.rows].sort((a, b) => (key(a) > key(b) ? 1 : key(a) < key(b) ? -1 : 0) * (up ? 1 : -1))
    .forEach(row => body.appendChild(row));
  th.dataset.up = up ? "1" : "0";
}));
"""

_STYLE = """
body { font-family: sans-serif; margin: 2em; max-width: 70em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; }
table.sortable th { cursor: pointer; background: #eee; }
tr.flagged td { background: #ffd6d6; font-weight: bold; }
img { max-width: 100%; }
"""


def _table(header, rows, classes=None, sortable=True):
    """An HTML table; ``rows`` are already escaped cell strings."""
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join(
        f'<tr class="{(classes or [""] * len(rows))[i]}">' + "".join(f"<td>{c}</td>" for c in row)
        + "</tr>" for i, row in enumerate(rows))
    return (f'<table class="{"sortable" if sortable else ""}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def html_text(report, figures):
    """index.html's text; ``figures`` maps a function to its PNG's file name."""
    e = html.escape
    parts = [f"<h1>Similarity of {e(report.assignment)}: {len(report.students)} submissions</h1>",
             "<p>Each graded function of every submission is compared with the package's reference "
             "and with every other submission's, after normalising names, literals, formatting, "
             "comments and docstrings (winnowed fingerprints of the syntax tree, as MOSS takes "
             "them). The score is the share of the two functions' fingerprints that both have "
             "(Jaccard); containment, the share of the shorter one's found in the other, shows a "
             f"copy padded with extra code. Pairs from {report.threshold:g} are flagged, when both definitions have "
             f"at least {report.min_tokens} tokens. A flag asks for a read side by side; it never changes a "
             "grade. Click a column's title to sort.</p>"]
    summary = []
    for function, (names, _) in report.matrices.items():
        pairs = [p for p in report.pairs if p.function == function]
        top = pairs[0] if pairs else None
        summary.append([f'<a href="#{e(function)}">{e(function)}</a>', str(report.compared[function]),
                        str(sum(p.flagged for p in pairs)),
                        f"{top.score:.3f}" if top else "",
                        e(f"{top.student_a} / {top.student_b}") if top else ""])
    parts.append(_table(["function", "definitions compared", "flagged pairs", "top score",
                         "closest pair"], summary, sortable=False))
    for function in report.matrices:
        pairs = [p for p in report.pairs if p.function == function]
        shown = sorted(pairs, key=lambda p: (not p.flagged, -p.score))[:SHOWN]
        parts.append(f'<h2 id="{e(function)}">{e(function)}</h2>')
        if function in figures:
            parts.append(f'<img src="{e(figures[function])}" alt="score matrix of {e(function)}">')
        parts.append(_table(["student_a", "student_b", "score", "containment", "flagged"],
                            [[e(p.student_a), e(p.student_b), f"{p.score:.3f}", f"{p.containment:.3f}",
                              "yes" if p.flagged else ""] for p in shown],
                            ["flagged" if p.flagged else "" for p in shown]))
        if len(pairs) > len(shown):
            hidden = sum(p.flagged for p in pairs) - sum(p.flagged for p in shown)
            parts.append(f"<p>The {len(pairs) - len(shown)} other pairs ({hidden} of them flagged) "
                         f"are in similarity.csv.</p>")
    parts.append("<h2>Notes</h2>")
    parts.append(_table(["student", "function", "note"],
                        [[e(s), e(f), e(n)] for s, f, n in report.notes]) if report.notes
                 else "<p>None: every function was found in every submission.</p>")
    return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>Similarity of "
            f"{e(report.assignment)}</title><style>{_STYLE}</style></head><body>\n"
            + "\n".join(parts) + f"\n<script>{_SORT_SCRIPT}</script></body></html>\n")
