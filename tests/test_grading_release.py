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


@pytest.fixture
def course(tmp_path):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "solutions" / NAME, tmp_path / "solutions" / NAME)
    return tmp_path


def test_the_config_names_solutions_as_source_and_assignments_as_release():
    from traitlets.config import PyFileConfigLoader
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert config.CourseDirectory.source_directory == "solutions"
    assert config.CourseDirectory.release_directory == "assignments"
    assert config.Execute.timeout >= 120


def test_main_generates_the_release_and_check_finds_it_current(course, capsys):
    (course / "assignments" / "a0_removed").mkdir(parents=True)
    assert release.main(["--root", str(course)]) == 0
    assert sorted(p.name for p in (course / "assignments").iterdir()) == [NAME]
    notebook = course / "assignments" / NAME / f"{NAME}.ipynb"
    assert "raise NotImplementedError()" in notebook.read_text()
    assert "BEGIN HIDDEN TESTS" not in notebook.read_text()
    assert not (course / "gradebook.db").exists()
    assert release.main(["--root", str(course), "--check"]) == 0
    assert "assignments/ is current" in capsys.readouterr().out


def test_check_reports_a_changed_a_missing_and_an_extra_file(course, capsys):
    release.generate(course)
    notebook = course / "assignments" / NAME / f"{NAME}.ipynb"
    notebook.write_text(notebook.read_text().replace("Assignment 1", "Assignment one"))
    (course / "assignments" / NAME / "notes.txt").write_text("by hand")
    assert release.stale_files(course) == [
        f"assignments/{NAME}/notes.txt: not generated from solutions/",
        f"assignments/{NAME}/{NAME}.ipynb: differs",
    ]
    notebook.unlink()
    assert release.main(["--root", str(course), "--check"]) == 1
    out = capsys.readouterr().out
    assert f"assignments/{NAME}/{NAME}.ipynb: missing" in out
    assert "run `make assignments`" in out


def test_a_folder_without_the_config_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="nbgrader_config.py does not exist"):
        release.assignment_names(tmp_path)
