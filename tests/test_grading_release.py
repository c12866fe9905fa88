"""``python -m unet_course.grading.release``: regenerate assignments/ and tell when it is stale.

Runs nbgrader on one assignment in a temporary copy of the repository's
config and solutions, so the repository itself is never written.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from unet_course.grading import release

ROOT = Path(__file__).resolve().parents[1]
NAME = "a1_data_imbalance"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course folder where ``release.main`` generated the release (and removed a stale one)."""
    root = tmp_path_factory.mktemp("release")
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "solutions" / NAME, root / "solutions" / NAME)
    (root / "assignments" / "a0_removed").mkdir(parents=True)
    assert release.main(["--root", str(root)]) == 0
    return root


def test_the_config_names_solutions_as_source_and_assignments_as_release():
    from traitlets.config import PyFileConfigLoader
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert config.CourseDirectory.source_directory == "solutions"
    assert config.CourseDirectory.release_directory == "assignments"
    assert config.Execute.timeout >= 120


def test_main_writes_the_student_version_and_nothing_else(course):
    assert sorted(p.name for p in (course / "assignments").iterdir()) == [NAME]
    text = (course / "assignments" / NAME / f"{NAME}.ipynb").read_text()
    assert "raise NotImplementedError()" in text
    assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text
    assert not (course / "gradebook.db").exists()


def test_check_finds_a_fresh_release_current(course, capsys):
    assert release.main(["--root", str(course), "--check"]) == 0
    assert "assignments/ is current" in capsys.readouterr().out


def test_check_reports_a_changed_a_missing_and_an_extra_file(course, tmp_path, capsys):
    stale = tmp_path / "stale"
    shutil.copytree(course, stale)
    folder = stale / "assignments" / NAME
    notebook = folder / f"{NAME}.ipynb"
    notebook.write_text(notebook.read_text().replace("Assignment 1", "Assignment one"))
    (folder / "notes.txt").write_text("by hand")
    shutil.copytree(stale / "solutions" / NAME, stale / "solutions" / "a9_new")
    (stale / "solutions" / "a9_new" / f"{NAME}.ipynb").rename(
        stale / "solutions" / "a9_new" / "a9_new.ipynb")
    assert release.main(["--root", str(stale), "--check"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "assignments/a9_new/a9_new.ipynb: missing",
        f"assignments/{NAME}/notes.txt: not generated from solutions/",
        f"assignments/{NAME}/{NAME}.ipynb: differs",
        "assignments/ is stale: run `make assignments` and commit the result",
    ]


def test_a_folder_without_the_config_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="nbgrader_config.py does not exist"):
        release.assignment_names(tmp_path)
