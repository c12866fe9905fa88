"""The package a student's kernel sees while grading: the references are stubs, the helpers work."""
from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from unet_course import grading
from unet_course.grading.autograde.sanitize import reference_paths, sanitized_package


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sanitized")
    return {assignment: sanitized_package(assignment, folder) for assignment in grading.MODULES}


def _node(tree, qualname):
    nodes, found = tree.body, None
    for part in qualname.split("."):
        found = next(n for n in nodes if getattr(n, "name", None) == part)
        nodes = found.body
    return found


@pytest.mark.parametrize("assignment", sorted(grading.MODULES))
def test_no_reference_code_and_no_check_is_in_the_copy(copies, assignment):
    package = copies[assignment]
    assert not list(package.rglob("*.pyc")) and not list(package.rglob("__pycache__"))
    for path, (module, qualname) in reference_paths(assignment).items():
        source = (package.parent / (module.replace(".", "/") + ".py")).read_text()
        body = [n for n in _node(ast.parse(source), qualname).body
                if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
        assert len(body) == 1 and path in ast.unparse(body[0]) and "Unavailable" in ast.unparse(body[0]), path
    checks = (package / "grading" / grading.MODULES[assignment].rsplit(".", 1)[1]).with_suffix(".py").read_text()
    assert "runs in the grader" in checks and "expect_" not in checks
    assert sanitized_package(assignment, package.parent.parent) == package   # built once, reused


RUN = """
import sys
sys.path.insert(0, {parent!r})
import numpy as np
import unet_course
assert unet_course.__file__.startswith({parent!r}), unet_course.__file__
from unet_course.grading.harness import Unavailable
{body}
"""


def _run(copies, assignment, body):
    parent = str(copies[assignment].parent)
    done = subprocess.run([sys.executable, "-c", RUN.format(parent=parent, body=body)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_assignment_1_references_say_they_are_unavailable_and_helpers_work(copies):
    out = _run(copies, "a1_data_imbalance", """
from unet_course.data import synthetic_tile
from unet_course.data.tiles import binarize_label
from unet_course.losses import positive_class_weight
from unet_course import grading
image, label = synthetic_tile(0, 32)[:2]
print("helper", image.shape)
for call in (lambda: binarize_label(label), lambda: positive_class_weight(label)):
    try:
        call()
    except Unavailable as error:
        print(error)
try:
    grading.check_binarize_label(binarize_label)
except RuntimeError as error:
    print(error)
""")
    assert "helper (32, 32, 3)" in out
    assert "unet_course.data.tiles.binarize_label is not available while grading: write it yourself" in out
    assert "unet_course.losses.positive_class_weight is not available while grading" in out
    assert "grading.check_binarize_label runs in the grader while grading" in out


@pytest.mark.slow
def test_assignment_4_keeps_the_other_assignments_helpers(copies):
    out = _run(copies, "a4_train_evaluate", """
from unet_course.model import build_unet
from unet_course.losses import get_loss
from unet_course.metrics import dataset_metrics
from unet_course.train import compile_unet
model = build_unet((32, 32, 3), filters=2)
model.compile(optimizer="adam", loss=get_loss("bce_dice"), metrics=dataset_metrics())
print("helpers", model.count_params())
try:
    compile_unet(model)
except Unavailable as error:
    print(error)
""")
    assert "helpers" in out and "unet_course.train.compile_unet is not available while grading" in out
