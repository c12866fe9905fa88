"""``unet-course similarity ASSIGNMENT``: how alike a class's graded functions are, for review.

::

    unet-course similarity ASSIGNMENT [--course-dir DIR] [--out DIR] [--threshold T] [--quiet]

For each graded function of ASSIGNMENT (the names in
:data:`unet_course.grading.ITEMS`), every submission's definition, read from
nbgrader's ``submitted/<student>/<assignment>/`` (``*.ipynb``, and ``*.py``
when a student handed in a script), is compared with the package's reference
(the first of the grading ``Item``'s ``references``, read with
``inspect.getsource``) and with every other submission's, by the fingerprints
of :mod:`unet_course.grading.similarity`. The release's stub of the function
(its ``def`` line, what every student was given) is discounted first.

It writes, in ``--out`` (default ``reports/similarity/<assignment>/`` under
the course directory), each file whole or not at all:

- ``similarity.csv``, one row per pair, columns
  ``function,student_a,student_b,score,flagged``: ``student_b`` is
  ``reference`` for the comparison with the package; ``score`` is the
  share of the two definitions' fingerprints they have in common (Jaccard,
  0 to 1, three decimals); ``flagged`` is ``true`` when the
  score reaches ``--threshold`` (default 0.7) and both definitions have at
  least :data:`MIN_TOKENS` tokens (short answers are alike by nature),
  ``false`` otherwise;
- ``index.html``: a summary, then per function a heatmap (``<function>.png``)
  and a sortable table of its closest pairs, flagged ones highlighted, and
  the notes (a function missing, renamed, not parsing, a file that is not a
  notebook).

It only reads: no grade, gradebook entry or submission is changed. A
flagged pair is a reason to read two notebooks side by side, not a verdict.
Other commands can write the same report:
``write_report(compare_class(assignment, *course_folders(course_dir, assignment)), out)``.
"""
from __future__ import annotations

import argparse
import csv
import importlib
import io
import json
import os
import sys
import time
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from unet_course.grading.similarity import containment, definitions, jaccard, reference_definition
from unet_course.grading.similarity_page import heatmap_png, html_text

__all__ = ["COLUMNS", "REFERENCE", "THRESHOLD", "MIN_TOKENS", "submission_cells", "compare_class",
           "write_report", "course_folders", "add_parser", "run"]

#: The columns of similarity.csv, in order (another report reads them by name).
COLUMNS = ("function", "student_a", "student_b", "score", "flagged")
#: ``student_b`` of the rows that compare a submission with the package's reference.
REFERENCE = "reference"
#: Default score from which a pair is flagged.
THRESHOLD = 0.7
#: Definitions shorter than this (in normalised tokens) are never flagged.
MIN_TOKENS = 25
#: Files larger than this are not read (a hostile notebook can be huge).
MAX_BYTES = 20 << 20
#: nbgrader's defaults (``nbgrader.coursedir.CourseDirectory``) for what a course's config leaves unset.
NBGRADER_DEFAULTS = {"submitted_directory": "submitted", "release_directory": "release",
                     "directory_structure": "{nbgrader_step}/{student_id}/{assignment_id}"}


@dataclass
class Pair:
    """One comparison of two definitions of ``function``."""

    function: str
    student_a: str
    student_b: str
    score: float
    containment: float
    flagged: bool


@dataclass
class ClassReport:
    """Everything the report shows: pairs, per-function score matrices, notes, and counts."""

    assignment: str
    students: list
    threshold: float
    min_tokens: int = 0
    pairs: list = field(default_factory=list)
    matrices: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    compared: dict = field(default_factory=dict)


# -- reading -------------------------------------------------------------------------------------

def _notebook_cells(path, label):
    """``(cells, note)`` of one ``.ipynb`` file, read as plain JSON so a damaged one still gives its code."""
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, RecursionError) as error:
        return [], f"{label} is not a readable notebook ({str(error)[:80]})"
    raw = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        return [], f"{label} has no list of cells: not a notebook of nbformat 4"
    cells = []
    for number, cell in enumerate(raw, 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(s for s in source if isinstance(s, str)) if isinstance(source, list) else source
        meta = cell.get("metadata")
        nbgrader = meta.get("nbgrader") if isinstance(meta, dict) else None
        grade_id = nbgrader.get("grade_id") if isinstance(nbgrader, dict) else None
        if isinstance(source, str):
            cells.append((f"{label} cell {number}", source, grade_id if isinstance(grade_id, str) else None))
    return cells, ""


def submission_cells(folder):
    """``(cells, notes)`` of one submission folder: the code cells of its notebooks and scripts.

    ``cells`` lists ``(label, source, grade_id)`` as
    :func:`~unet_course.grading.similarity.definitions` takes them; links,
    files over :data:`MAX_BYTES` and files that are neither ``.ipynb`` nor
    ``.py`` are not read, each with a note. Hidden files and folders
    (``.ipynb_checkpoints``) and nbgrader's ``timestamp.txt`` are skipped.
    """
    folder = Path(folder)
    cells, notes = [], []
    for path in sorted(folder.rglob("*")):
        label = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in path.relative_to(folder).parts) or \
                label == "timestamp.txt" or (path.is_dir() and not path.is_symlink()):
            continue
        if path.is_symlink() or not path.is_file():
            notes.append(f"{label} is a link or a special file: not read")
        elif path.suffix not in (".ipynb", ".py"):
            notes.append(f"{label} is not a notebook: not read")
        elif path.stat().st_size > MAX_BYTES:
            notes.append(f"{label} is over {MAX_BYTES >> 20} MB: not read")
        elif path.suffix == ".py":
            cells.append((label, path.read_text(errors="replace"), None))
        else:
            found, note = _notebook_cells(path, label)
            cells += found
            notes += [note] if note else []
    if not cells and not notes:
        notes.append("no notebook in the submission")
    return cells, notes


def graded_references(assignment):
    """``{function: dotted path of its reference}`` for the graded functions of ``assignment``."""
    from unet_course.grading import ITEMS, MODULES
    from unet_course.grading.common import Item

    module = importlib.import_module(MODULES[assignment])
    items = {value.name: value for value in vars(module).values() if isinstance(value, Item)}
    return {name: items[name].references[0] if name in items else None for name in ITEMS[assignment]}


# -- comparing -----------------------------------------------------------------------------------

def _reference(function, path, stub):
    """``(fingerprints, tokens, note)`` of the package's reference of ``function``."""
    if path is None:
        return None, 0, f"{function}: the grading module names no reference"
    try:
        ref = reference_definition(path)
    except (ImportError, AttributeError, OSError, TypeError, SyntaxError) as error:
        return None, 0, f"{function}: the reference {path} could not be read ({error})"
    return ref.fingerprints - stub, len(ref.tokens), ""


def _entries(function, found, stubs):
    """``{student: (fingerprints, tokens)}`` of the usable definitions, and the notes on the rest."""
    stub = stubs.get(function)
    entries, notes = {}, []
    for student, defs in found.items():
        if defs is None:  # nothing readable: the file's own note says why
            continue
        definition, note = defs[function]
        if definition is not None and stub is not None and definition.tokens == stub.tokens:
            definition, note = None, "not written: still the release's stub"
        if note:
            notes.append((student, function, note))
        if definition is not None:
            prints = definition.fingerprints - (stub.fingerprints if stub else frozenset())
            entries[student] = (prints, len(definition.tokens))
    return entries, notes


def compare_class(assignment, folders, release=None, threshold=THRESHOLD, progress=None):
    """Compare every graded function of a class: a :class:`ClassReport`.

    Parameters
    ----------
    folders : dict
        ``{student: submission folder}``.
    release : path, optional
        The release folder of the assignment (its stubs are discounted).
    progress : callable, optional
        Wraps the iteration over students (``tqdm``).
    """
    if REFERENCE in folders:
        raise ValueError(f"a student is called {REFERENCE!r}, the name the report gives the "
                         f"package's reference: rename that submission's folder")
    references = graded_references(assignment)
    students = sorted(folders)
    report = ClassReport(assignment, students, threshold, MIN_TOKENS)
    found = {}
    for student in (progress or iter)(students):
        cells, notes = submission_cells(folders[student])
        report.notes += [(student, "", note) for note in notes]
        found[student] = definitions(cells, references) if cells else None
    stubs = {}
    if release is not None and Path(release).is_dir():
        cells, _ = submission_cells(release)
        stubs = {name: d for name, (d, _) in definitions(cells, references).items() if d}
    else:
        report.notes.append(("", "", f"no release folder {release}: the stubs are not discounted"))
    for function, path in references.items():
        stub = stubs[function].fingerprints if function in stubs else frozenset()
        entries, notes = _entries(function, found, stubs)
        report.notes += notes
        ref, ref_tokens, note = _reference(function, path, stub)
        if note:
            report.notes.append(("", function, note))
        else:
            entries[REFERENCE] = (ref, ref_tokens)
        names = [s for s in students if s in entries] + ([REFERENCE] if REFERENCE in entries else [])
        report.compared[function] = len(names) - (REFERENCE in entries)
        matrix = {}
        for a, b in combinations(names, 2):
            (prints_a, size_a), (prints_b, size_b) = entries[a], entries[b]
            score = jaccard(prints_a, prints_b)
            matrix[a, b] = matrix[b, a] = score
            report.pairs.append(Pair(function, a, b, score, containment(prints_a, prints_b),
                                     score >= threshold and min(size_a, size_b) >= MIN_TOKENS))
        report.matrices[function] = (names, matrix)
    order = list(references)
    report.pairs.sort(key=lambda p: (order.index(p.function), -p.score, p.student_a, p.student_b))
    return report


# -- writing -------------------------------------------------------------------------------------

def _replace(path, data):
    """Write ``data`` (bytes) to ``path`` through a temporary file: never half a file under its name."""
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def csv_text(report):
    """similarity.csv's text: a header of :data:`COLUMNS`, then one row per pair."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows((p.function, p.student_a, p.student_b, f"{p.score:.3f}",
                      "true" if p.flagged else "false") for p in report.pairs)
    return out.getvalue()


def write_report(report, out):
    """Write similarity.csv, index.html and one heatmap per function into ``out``; return the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figures = {}
    for function, (names, _) in report.matrices.items():
        if len(names) >= 2:
            figures[function] = f"{function}.png"
            _replace(out / figures[function], heatmap_png(report, function))
    _replace(out / "similarity.csv", csv_text(report).encode())
    _replace(out / "index.html", html_text(report, figures).encode())
    return out / "similarity.csv", out / "index.html"


# -- the command ---------------------------------------------------------------------------------

def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}")
    return value


def add_parser(commands):
    """Add the ``similarity`` subcommand to ``unet-course``'s subparsers."""
    from unet_course.grading import ITEMS

    parser = commands.add_parser(
        "similarity", help="how alike the class's graded functions are (flags for review only)",
        description="Compare every submission's graded functions with the package's reference and "
                    "with each other, after normalising names and formatting; write similarity.csv "
                    "and index.html. It reads submissions only: no grade changes.")
    parser.add_argument("assignment", metavar="ASSIGNMENT", choices=sorted(ITEMS),
                        help=f"one of {', '.join(sorted(ITEMS))}")
    parser.add_argument("--course-dir", type=Path, default=Path("."), metavar="DIR",
                        help="the nbgrader course directory (default: .)")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="where to write (default: DIR/reports/similarity/ASSIGNMENT)")
    parser.add_argument("--threshold", type=_fraction, default=THRESHOLD, metavar="T",
                        help=f"score from which a pair is flagged (default {THRESHOLD})")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def course_folders(course_dir, assignment):
    """``({student: submission folder}, release folder)`` of an nbgrader course directory.

    The folders are where the course's ``nbgrader_config.py`` puts them, or
    where nbgrader does by default (:data:`NBGRADER_DEFAULTS`); nbgrader
    itself is not imported (that alone takes seconds), nor the gradebook opened.
    """
    from unet_course.grading.course_config import course_config

    root, config = course_config(course_dir)
    config = config.get("CourseDirectory", {})
    dirs = {key: config.get(key, default) for key, default in NBGRADER_DEFAULTS.items()}

    def folder(step, student):
        return root / dirs["directory_structure"].format(nbgrader_step=step, student_id=student,
                                                         assignment_id=assignment)

    pattern = folder(dirs["submitted_directory"], "*").relative_to(root)
    folders = {p.relative_to(root).parts[1]: p for p in sorted(root.glob(str(pattern))) if p.is_dir()}
    if not folders:
        raise FileNotFoundError(f"no submissions of {assignment} under {root / dirs['submitted_directory']}")
    return folders, folder(dirs["release_directory"], ".")


def run(args):
    """Compare the class and write the report; return the exit status."""
    from tqdm.auto import tqdm

    start = time.perf_counter()
    try:
        folders, release = course_folders(args.course_dir, args.assignment)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        report = compare_class(args.assignment, folders, release, args.threshold,
                               progress=lambda items: tqdm(items, desc="reading", unit="submission",
                                                           disable=args.quiet, file=sys.stderr))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    out = args.out or Path(args.course_dir).resolve() / "reports" / "similarity" / args.assignment
    try:
        written = write_report(report, out)
    except OSError as error:
        print(f"error: cannot write the report in {out}: {error}", file=sys.stderr)
        return 1
    for function, count in report.compared.items():
        pairs = [p for p in report.pairs if p.function == function]
        flagged = [p for p in pairs if p.flagged]
        print(f"  {function:<26} {count:4d} compared, {len(flagged):3d} flagged"
              + (f"; closest: {pairs[0].student_a} / {pairs[0].student_b} {pairs[0].score:.3f}"
                 if pairs else ""))
    print(f"{len(report.notes)} notes; wrote {written[0]} and {written[1]} in "
          f"{time.perf_counter() - start:.1f} s")
    return 0
