"""Tests for unet_course.lessons.runs (lessons 7 and 8: reuse lesson 7's model only when it fits)."""
from __future__ import annotations

import json
from dataclasses import asdict, replace

import pytest

from unet_course import profile
from unet_course.lessons.runs import lesson_run_dir, reusable_run


def _write_run(run_dir, prof, status="finished", model=True):
    run_dir.mkdir(parents=True, exist_ok=True)
    info = {"status": status, "profile": prof.name, "profile_settings": asdict(prof)}
    (run_dir / "run.json").write_text(json.dumps(info))
    if model:
        (run_dir / "best.keras").write_bytes(b"not checked here")


def test_lesson_run_dir(tmp_path):
    prof = profile("laptop")
    assert lesson_run_dir("lesson07", prof, root=tmp_path) == tmp_path / "lesson07-laptop"
    with pytest.raises(ValueError, match="lesson"):
        lesson_run_dir("../elsewhere", prof)


def test_reusable_only_when_finished_and_matching(tmp_path):
    smoke = profile("smoke")
    run = tmp_path / "run"
    assert not reusable_run(run, smoke)                       # nothing there
    _write_run(run, smoke)
    assert reusable_run(run, smoke)
    assert not reusable_run(run, profile("laptop"))           # another profile
    assert not reusable_run(run, replace(smoke, data="tiles:/data"))
    assert not reusable_run(run, replace(smoke, seed=7))
    _write_run(run, smoke, status="running")                  # interrupted, never resumed
    assert not reusable_run(run, smoke)
    other = tmp_path / "other"
    _write_run(other, smoke, model=False)
    assert not reusable_run(other, smoke)
    (run / "run.json").write_text("{broken")
    assert not reusable_run(run, smoke)
