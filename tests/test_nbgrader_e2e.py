"""End to end with real nbgrader: generate, submit, autograde, feedback, export.

For each assignment, in a temporary course directory outside the repository
(``nbgrader_config.py`` and ``solutions/<assignment>`` copied there):

1. ``nbgrader generate_assignment`` records the assignment in the gradebook
   and writes the release, which must equal the repository's ``assignments/``
   byte for byte (``assignments/`` is stale otherwise: ``make assignments``);
2. submissions go to ``submitted/<student>/<assignment>/<notebook>.ipynb``:
   the solution filled into the released notebook, the released notebook
   blank, crafted wrong submissions, each wrong in exactly one item
   (among them a reference shortcut), and for assignment 3 the seed's own
   block code typed in (full marks);
3. one ``nbgrader autograde`` call grades them all; written answers are
   graded by hand through nbgrader's ``Gradebook`` API, as the formgrader does;
4. ``nbgrader generate_feedback`` writes an HTML page per student, and
   ``nbgrader export`` writes ``grades.csv``, whose scores must be exactly
   the expected ones.

The five assignments run two at a time (each mostly waits on its kernel).
"""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from test_grading_seed import SEED_BASELINE, SEED_DECODER, SEED_ENCODER, SEED_IMPORTS, SEED_UNET

from unet_course import grading

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = Path(sys.executable).parent

#: Crafted wrong submissions: (student, item made wrong, text in its solution cell, replacement).
WRONG = {
    "a1_data_imbalance": [
        ("off-by-rule", "binarize_label", "(label >= 0.5)", "(label > 0.5)"),
        ("fraction-of-tiles", "building_fraction",
         "return float(np.count_nonzero(masks) / masks.size)",
         "return float(np.mean(masks.reshape(len(masks), -1).max(axis=1)))"),
        ("shortcut-weight", "positive_class_weight", "    masks = np.asarray(masks)\n    buildings",
         "    from unet_course.losses import positive_class_weight as weight\n"
         "    return weight(masks)\n    buildings"),
    ],
    "a2_losses_metrics": [
        ("per-image-dice", "dice_loss", "    overlap = ops.sum(y_true * y_pred)\n"
         "    total = ops.sum(y_true) + ops.sum(y_pred)\n"
         "    return 1.0 - (2.0 * overlap + smooth) / (total + smooth)",
         "    overlap = ops.sum(y_true * y_pred, axis=(1, 2, 3))\n"
         "    total = ops.sum(y_true, axis=(1, 2, 3)) + ops.sum(y_pred, axis=(1, 2, 3))\n"
         "    return ops.mean(1.0 - (2.0 * overlap + smooth) / (total + smooth))"),
        ("numpy-metric", "dice_metric", "    actual = ops.cast(y_true, \"float32\") > 0.5",
         "    y_true = np.asarray(y_true)\n    actual = ops.cast(y_true, \"float32\") > 0.5"),
        ("shortcut-iou", "iou_score", "    actual = np.asarray(y_true).astype(bool)\n"
         "    predicted = np.asarray(y_prob) > threshold\n    tp = np.count_nonzero(actual & predicted)\n"
         "    union",
         "    from unet_course.metrics import iou_score as reference\n"
         "    return reference(y_true, y_prob, threshold)\n    union"),
    ],
    "a3_unet_blocks": [
        ("no-dropout", "encoder_block", "    s = layers.SpatialDropout2D(dropout_rate)(s)\n", ""),
        ("swapped-concat", "decoder_block", "concatenate([x, connections]",
         "concatenate([connections, x]"),
        ("shallow-unet", "build_unet", "filters * 16", "filters * 8"),
    ],
    "a4_train_evaluate": [
        ("constant-rate", "compile_unet", "Adam(learning_rate=schedule)", "Adam(learning_rate=initial)"),
        ("default-batch", "train_model", "make_dataset(train, batch_size=batch_size, shuffle=True)",
         "make_dataset(train, shuffle=True)"),
        ("shortcut-error-map", "error_map", "    image = np.asarray(image)\n",
         "    from unet_course.viz import error_map as reference\n"
         "    return reference(image, y_true, y_pred, alpha)\n"),
    ],
    "a5_footprints": [
        ("equal-area-dropped", "mask_to_polygons", "p.area >= min_area", "p.area > min_area"),
        ("many-to-one", "match_buildings", "if i not in used_predicted and j not in used_truth:",
         "if i not in used_predicted:"),
        ("shortcut-match", "match_buildings", "    pairs = []\n",
         "    from unet_course.footprints.matching import match_buildings as reference\n"
         "    return reference(predicted, truth, iou_threshold)\n    pairs = []\n"),
    ],
}

#: Submissions that must earn every automatic point: the seed's own block code, typed in.
FULL_MARKS = {"a3_unet_blocks": {"seed-verbatim": {
    "encoder_block": SEED_IMPORTS + SEED_ENCODER, "bottleneck": SEED_BASELINE,
    "decoder_block": SEED_DECODER, "build_unet": SEED_UNET}}}

#: A wrong submission that ``nbgrader validate`` also checks, as a student's Validate button does.
VALIDATE = {"a1_data_imbalance": "off-by-rule", "a2_losses_metrics": "per-image-dice"}

#: What must not reach a student: the grading package's frames and IPython's traceback around
#: them (a blank submission's ungraded cells still show tracebacks of its own stubs).
GRADING_FRAMES = ("unet_course/grading", "messages.py", "common.py", "skipping hidden",
                  "Traceback (most recent call last)")

#: The longest first, so that two at a time finish together.
CASES = [name for name in sorted(grading.ITEMS, reverse=True) if (ROOT / "solutions" / name).is_dir()]


def _env():
    env = dict(os.environ)
    env["PATH"] = f"{SCRIPTS}{os.pathsep}{env.get('PATH', '')}"
    for name in ("UNET_COURSE_PROFILE", "UNET_COURSE_DATA"):  # nbgrader's runs use synthetic smoke data
        env.pop(name, None)
    return env


def nbgrader(course, *args, timeout=540, check=True, stdout_only=False):
    """Run one nbgrader command in ``course``; fail with its output when it fails.

    Returns stdout and stderr together, or with ``stdout_only`` what the
    command reports (stderr holds its log and the kernel's, which the student's
    Validate dialog does not show).
    """
    done = subprocess.run([str(SCRIPTS / "nbgrader"), *args], cwd=course, env=_env(),
                          capture_output=True, text=True, timeout=timeout)
    assert not check or done.returncode == 0, (
        f"nbgrader {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout if stdout_only else done.stdout + done.stderr


def solution_source(cell):
    """A solution cell's source without the BEGIN/END SOLUTION lines."""
    return "\n".join(line for line in cell.source.splitlines()
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


def submissions(assignment, source_nb, released_nb):
    """``{student: notebook}``: the solution, the blank release and the crafted wrong ones."""
    solutions = {cell.metadata["nbgrader"]["grade_id"]: solution_source(cell)
                 for cell in source_nb.cells
                 if cell.metadata.get("nbgrader", {}).get("solution")}

    def filled(item=None, old=None, new=None, answers=None):
        nb = nbformat.from_dict(released_nb)
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in solutions and cell.metadata["nbgrader"].get("solution"):
                cell.source = (answers or {}).get(grade_id, solutions[grade_id])
                if grade_id == item:
                    assert old in cell.source, f"{assignment}: {old!r} not in {item}'s solution"
                    cell.source = cell.source.replace(old, new)
        return nb

    subs = {"solution": filled(), "blank": nbformat.from_dict(released_nb)}
    for student, item, old, new in WRONG.get(assignment, []):
        subs[student] = filled(item, old, new)
    for student, answers in FULL_MARKS.get(assignment, {}).items():
        subs[student] = filled(answers=answers)
    return subs


def expected_scores(assignment):
    """Exact expected score of each student, written answers graded in full for the solution."""
    total = grading.total_points(assignment)
    scores = {"solution": total, "blank": 0}
    manual = sum(grading.MANUAL.get(assignment, {}).values())
    for student, item, _, _ in WRONG.get(assignment, []):
        scores[student] = total - manual - grading.ITEMS[assignment][item]
    for student in FULL_MARKS.get(assignment, {}):
        scores[student] = total - manual
    return scores


def grade_manually(course, assignment, notebook, student):
    """Give the written answers full points, as an instructor would in the formgrader."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for grade_id, points in grading.MANUAL.get(assignment, {}).items():
            grade = gb.find_grade(grade_id, notebook, assignment, student)
            grade.manual_score = points
        gb.db.commit()


def run_course(assignment, tmp_path):
    """The whole instructor workflow for one assignment; returns what the tests look at."""
    course = tmp_path / assignment
    (course / "solutions").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions" / assignment, course / "solutions" / assignment)
    started = time.perf_counter()
    nbgrader(course, "generate_assignment", assignment, "--force")
    (source_path,) = (course / "solutions" / assignment).glob("*.ipynb")
    notebook = source_path.stem
    released = course / "assignments" / assignment / source_path.name
    subs = submissions(assignment, nbformat.read(str(source_path), as_version=4),
                       nbformat.read(str(released), as_version=4))
    for student, nb in subs.items():
        target = course / "submitted" / student / assignment / source_path.name
        target.parent.mkdir(parents=True)
        nbformat.write(nb, str(target))
    validated = None
    if assignment in VALIDATE:
        target = course / "submitted" / VALIDATE[assignment] / assignment / source_path.name
        validated = nbgrader(course, "validate", str(target), check=False, stdout_only=True)
    graded = time.perf_counter()
    log = nbgrader(course, "autograde", assignment, "--create", "--force")
    seconds = time.perf_counter() - graded
    if grading.MANUAL.get(assignment):
        grade_manually(course, assignment, notebook, "solution")
    nbgrader(course, "generate_feedback", assignment, "--force")
    nbgrader(course, "export")
    with open(course / "grades.csv", newline="") as file:
        rows = {row["student_id"]: row for row in csv.DictReader(file)}
    return {"course": course, "released": released, "notebook": notebook, "log": log,
            "validated": validated,
            "rows": rows, "students": sorted(subs), "seconds_per_submission": seconds / len(subs),
            "seconds": time.perf_counter() - started}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every assignment through the workflow, two at a time."""
    tmp = tmp_path_factory.mktemp("courses")
    assert ROOT not in tmp.parents, "the course directory must be outside the repository"
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(run_course, name, tmp) for name in CASES}
        results = {name: future.result() for name, future in futures.items()}
    for name, result in results.items():
        print(f"{name}: {len(result['students'])} submissions autograded in "
              f"{result['seconds_per_submission']:.1f} s each; whole workflow {result['seconds']:.0f} s")
    return results


@pytest.mark.slow
@pytest.mark.parametrize("assignment", CASES)
def test_release_is_current(graded, assignment):
    """assignments/ is exactly what generate_assignment makes from solutions/."""
    fresh = graded[assignment]["released"]
    committed = ROOT / "assignments" / assignment / fresh.name
    assert committed.is_file(), f"{committed} is missing: run `make assignments`"
    assert committed.read_bytes() == fresh.read_bytes(), (
        f"{committed} is stale: run `make assignments` and commit the result")


@pytest.mark.slow
@pytest.mark.parametrize("assignment", CASES)
def test_scores_are_exact(graded, assignment):
    """Solution: full marks; blank: zero; each wrong submission loses exactly its item."""
    rows = graded[assignment]["rows"]
    expected = expected_scores(assignment)
    got = {student: float(rows[student]["score"]) for student in expected}
    assert got == {student: float(score) for student, score in expected.items()}, graded[assignment]["log"][-3000:]
    for student in expected:
        assert float(rows[student]["max_score"]) == grading.total_points(assignment)


@pytest.mark.slow
@pytest.mark.parametrize("assignment", CASES)
def test_feedback_is_generated(graded, assignment):
    """Every student gets an HTML page that shows the checks' messages, not TensorFlow's noise."""
    result = graded[assignment]
    for student in result["students"]:
        page = result["course"] / "feedback" / student / assignment / f"{result['notebook']}.html"
        assert page.is_file(), f"no feedback for {student}"
        text = page.read_text()
        assert "oneDNN" not in text and "absl::InitializeLog" not in text, f"TF noise in {page}"
        if student == "blank":
            assert "is not written yet" in text
        if student.startswith("shortcut"):
            assert "earns nothing for this item" in text
        if student != "solution" and student not in FULL_MARKS.get(assignment, {}):
            assert "Check failed:" in text, f"no check message in {page}"
            for frame in GRADING_FRAMES[:-1] if student == "blank" else GRADING_FRAMES:
                assert frame not in text, f"{frame!r} shown to {student} in {page}"


@pytest.mark.slow
@pytest.mark.parametrize("assignment", sorted(VALIDATE))
def test_validate_shows_the_message_alone(graded, assignment):
    """nbgrader validate (the student's Validate button) shows the check's message, no grading frames."""
    output = graded[assignment]["validated"]
    assert "VALIDATION FAILED" in output and "Check failed:" in output, output[-3000:]
    assert "expected:" in output and "Hint:" in output, output[-3000:]
    for frame in GRADING_FRAMES:
        assert frame not in output, f"{frame!r} in nbgrader validate's output:\n{output[-3000:]}"
