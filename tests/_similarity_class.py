"""Helper of the similarity tests: a synthetic class of assignment 1, built from the release notebook.

Every student's notebook is the release (what students receive) with each
graded function's solution cell replaced by one of a few *approaches* to that
function (``VARIANTS``: the solution notebook's own, and independent ones
written differently), each student's copy disguised in its own way
(:func:`disguise`: variables and arguments renamed, the code reformatted,
comments inserted). Two students who took the same approach to a function
therefore hold the same code under other names: the pairs the report must
flag. Students who took different approaches must not be flagged.
"""
from __future__ import annotations

import ast
import random
import shutil
import textwrap
from pathlib import Path

import nbformat

from unet_course.grading import ITEMS
from unet_course.grading.similarity import reference_source
from unet_course.grading.similarity_report import graded_references

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "a1_data_imbalance"

_DOCS = {  # the release's docstrings, which every student keeps
    "binarize_label": '"""Turn a fractional building label (values in [0, 1]) into a 0/1 uint8 mask."""',
    "building_fraction": '"""Share of building pixels (1) over all pixels of the 0/1 masks, as a float."""',
    "all_background_accuracy": '"""Accuracy of predicting "no building" everywhere."""',
    "positive_class_weight": '"""Background pixels per building pixel; ValueError when there is none."""',
    "spatial_block_split": '"""Train, validation and test tile indices; every block in one split."""',
}

_SIGNATURES = {
    "binarize_label": 'def binarize_label(label, rule="threshold"):',
    "building_fraction": "def building_fraction(masks):",
    "all_background_accuracy": "def all_background_accuracy(masks):",
    "positive_class_weight": "def positive_class_weight(masks):",
    "spatial_block_split": ("def spatial_block_split(origins, fractions=(0.7, 0.15, 0.15), "
                            "block_size=1200.0, seed=42):"),
}

#: Bodies of independent approaches to each function (approach 0 is the solution notebook's).
BODIES = {
    "binarize_label": [
        """
        cutoffs = {"threshold": 0.5, "truncate": 1.0}
        if rule not in cutoffs:
            raise ValueError(f"rule must be 'threshold' or 'truncate', not {rule!r}")
        return np.where(np.asarray(label) >= cutoffs[rule], 1, 0).astype("uint8")
        """,
        """
        values = np.array(label, dtype=float)
        out = np.zeros(values.shape, dtype=np.uint8)
        if rule == "threshold":
            out[values >= 0.5] = 1
        elif rule == "truncate":
            out[values == 1.0] = 1
        else:
            raise ValueError("unknown rule")
        return out
        """,
        """
        match rule:
            case "threshold":
                level = 0.5
            case "truncate":
                level = 1.0
            case _:
                raise ValueError(rule)
        return np.greater_equal(label, level).astype(np.uint8)
        """,
    ],
    "building_fraction": [
        """
        return float(np.mean(masks))
        """,
        """
        total = 0
        ones = 0
        for mask in masks:
            total += np.size(mask)
            ones += int(np.sum(mask))
        return ones / total
        """,
    ],
    "all_background_accuracy": [
        """
        values = np.asarray(masks)
        return float((values == 0).mean())
        """,
    ],
    "positive_class_weight": [
        """
        flat = np.ravel(masks)
        ones = int(flat.sum())
        if not ones:
            raise ValueError("there are no building pixels")
        return (flat.size - ones) / ones
        """,
        """
        values, counts = np.unique(np.asarray(masks), return_counts=True)
        table = dict(zip(values.tolist(), counts.tolist()))
        if table.get(1, 0) == 0:
            raise ValueError("masks without buildings")
        return table.get(0, 0) / table[1]
        """,
        """
        total = positive = 0
        for mask in masks:
            pixels = np.asarray(mask)
            positive += int((pixels == 1).sum())
            total += pixels.size
        try:
            return (total - positive) / positive
        except ZeroDivisionError:
            raise ValueError("no positive pixel") from None
        """,
    ],
    "spatial_block_split": [
        """
        groups = {}
        for index, (x, y) in enumerate(np.asarray(origins, dtype=float)):
            key = (int(x // block_size), int(y // block_size))
            groups.setdefault(key, []).append(index)
        keys = sorted(groups)
        np.random.default_rng(seed).shuffle(keys)
        targets = [sum(fractions[:i + 1]) * len(origins) for i in range(3)]
        splits = ([], [], [])
        part = filled = 0
        for key in keys:
            members = groups[key]
            if part < 2 and filled + len(members) / 2 > targets[part]:
                part += 1
            splits[part].extend(members)
            filled += len(members)
        return tuple(np.array(sorted(s), dtype=int) for s in splits)
        """,
        """
        points = np.asarray(origins)
        names = [f"{a}:{b}" for a, b in zip(np.floor(points[:, 0] / block_size),
                                            np.floor(points[:, 1] / block_size))]
        unique_names = list(dict.fromkeys(names))
        order = np.random.default_rng(seed).permutation(len(unique_names))
        bounds = np.cumsum(fractions) * len(points)
        assignment, count, which = {}, 0, 0
        for i in order:
            size = names.count(unique_names[i])
            while which < 2 and count + size / 2 > bounds[which]:
                which += 1
            assignment[unique_names[i]] = which
            count += size
        where = np.array([assignment[n] for n in names])
        return tuple(np.nonzero(where == k)[0] for k in range(3))
        """,
    ],
}


def solution_sources():
    """``{function: source}`` of the solution notebook's definitions (the BEGIN/END markers dropped)."""
    notebook = nbformat.read(str(ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in notebook.cells}
    return {name: "\n".join(line for line in cells[name].splitlines() if "### " not in line)
            for name in _SIGNATURES}


def approach(function, number):
    """The source of approach ``number`` to ``function``: 0 the solution's, then ``BODIES``."""
    if number == 0:
        return solution_sources()[function]
    body = textwrap.indent(textwrap.dedent(BODIES[function][number - 1]).strip(), "    ")
    return f"{_SIGNATURES[function]}\n    {_DOCS[function]}\n{body}\n"


def pasted_reference(path):
    """The package's reference, pasted as a student would (its source text)."""
    return reference_source(path)[0]


class _Rename(ast.NodeTransformer):
    def __init__(self, names):
        self.names = names

    def visit_Name(self, node):
        node.id = self.names.get(node.id, node.id)
        return node

    def visit_arg(self, node):
        node.arg = self.names.get(node.arg, node.arg)
        return node


def disguise(source, seed, rename_arguments=True):
    """``source`` as another student would hand in the same code.

    Every variable (and, with ``rename_arguments``, every argument) gets
    another name, the code is reformatted (``ast.unparse``: other quotes,
    spacing and line breaks) and comments are put between its lines.
    """
    tree = ast.parse(source)
    function = tree.body[0]
    arguments = {a.arg for a in ast.walk(function.args) if isinstance(a, ast.arg)}
    variables = {n.id for n in ast.walk(function) if isinstance(n, ast.Name)
                 and isinstance(n.ctx, ast.Store)}
    names = variables | (arguments if rename_arguments else set())
    rng = random.Random(seed)
    words = ["data", "arr", "tmp", "result", "value", "thing", "item", "out", "xs", "stuff"]
    new = {name: f"{rng.choice(words)}_{i}{seed}" for i, name in enumerate(sorted(names))}
    text = ast.unparse(_Rename(new).visit(tree))
    lines = []
    for line in text.splitlines():
        if rng.random() < 0.3 and line.startswith("    ") and not line.strip().startswith(('"', "'")):
            lines.append(" " * (len(line) - len(line.lstrip())) + f"# step {rng.randint(1, 99)}")
        lines.append(line)
    return "\n".join(lines) + "\n"


def notebook_with(functions, release):
    """The release notebook with each ``{function: source}`` in its solution cell."""
    notebook = nbformat.read(str(release), as_version=4)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in functions:
            cell.source = functions[grade_id]
    return notebook


def make_course(course):
    """An nbgrader course directory with the release of assignment 1 and no submission yet."""
    course.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "assignments" / ASSIGNMENT, course / "assignments" / ASSIGNMENT)
    return course / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


def submit(course, student, notebook=None, files=None):
    """Put a submission in ``submitted/<student>/<assignment>/`` (a notebook and other files)."""
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / "timestamp.txt").write_text("2026-12-04 10:00:00.000000 UTC")
    if notebook is not None:
        nbformat.write(notebook, str(folder / f"{ASSIGNMENT}.ipynb"))
    for name, data in (files or {}).items():
        (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())
    return folder


FUNCTIONS = list(ITEMS[ASSIGNMENT])
#: Approach per function (in ITEMS order) of each student who wrote everything; "R" is the reference.
APPROACHES = {
    **{f"sol-{i:02d}": (0, 0, 0, 0, 0) for i in range(1, 7)},
    **{f"ind-{i:02d}": (1 + i % 3, i % 3, i % 2, 1 + (i + 1) % 3, 1 + i % 2) for i in range(1, 13)},
    "copy-a": (3, 2, 1, 2, 2), "copy-b": (3, 2, 1, 2, 2),
    "ref-copy": ("R",) * 5,
    "script": (0, 1, 0, 0, 0),
}


def make_class(course):
    """A course of 26 submissions of assignment 1 in ``course``.

    The students of :data:`APPROACHES`, each disguised its own way except
    ``copy-a`` and ``copy-b`` (the same file); ``script`` hands in a ``.py``
    and a text file; and four odd ones: ``odd-syntax`` (binarize_label does
    not parse), ``odd-renamed`` (positive_weight, and no spatial_block_split),
    ``odd-blank`` (the release as it was) and ``odd-garbage`` (not JSON).
    """
    release = make_course(course)
    references = graded_references(ASSIGNMENT)
    for number, (student, choice) in enumerate(sorted(APPROACHES.items())):
        seed = 3 if student.startswith("copy") else number
        sources = {f: pasted_reference(references[f]) if a == "R" else disguise(approach(f, a), seed)
                   for f, a in zip(FUNCTIONS, choice)}
        if student == "script":
            submit(course, student, files={f"{ASSIGNMENT}.py": "import numpy as np\n\n"
                                           + "\n\n".join(sources.values()), "notes.txt": "hello"})
        else:
            submit(course, student, notebook_with(sources, release))
    solution = {f: disguise(approach(f, 0), 99) for f in FUNCTIONS}
    broken = dict(solution, binarize_label=solution["binarize_label"].replace("return", "return (", 1))
    submit(course, "odd-syntax", notebook_with(broken, release))
    renamed = dict(solution, positive_class_weight=solution["positive_class_weight"].replace(
        "def positive_class_weight", "def positive_weight"), spatial_block_split="")
    submit(course, "odd-renamed", notebook_with(renamed, release))
    submit(course, "odd-blank", notebook_with({}, release))
    submit(course, "odd-garbage", files={f"{ASSIGNMENT}.ipynb": b"\x00\xffnot json"})
    return course
