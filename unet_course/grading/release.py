"""Regenerate ``assignments/`` from ``solutions/`` with nbgrader, or check it is current.

``assignments/`` (nbgrader's release directory) is exactly what ``nbgrader
generate_assignment NAME --force`` makes from ``solutions/`` (its source
directory), as ``nbgrader_config.py`` names them. ``make assignments`` runs::

    python -m unet_course.grading.release            # regenerate every assignment
    python -m unet_course.grading.release --check    # exit 1 when assignments/ is stale

in the repository root. ``--no-db`` keeps the release out of any gradebook:
instructors generate again in their own course directory, where the database
lives (the instructor's guide, docs/instructors.md).
"""
from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from unet_course.grading.course_config import CONFIG

__all__ = ["assignment_names", "generate", "stale_files", "main"]

SOURCE = "solutions"
RELEASE = "assignments"


def _nbgrader_env():
    """The environment for nbgrader: this Python's scripts first (nbgrader runs ``alembic``)."""
    env = dict(os.environ)
    scripts = str(Path(sys.executable).parent)
    env["PATH"] = scripts + os.pathsep + env.get("PATH", "")
    return env


def _check_root(root):
    root = Path(root)
    for name in (CONFIG, SOURCE):
        if not (root / name).exists():
            raise FileNotFoundError(
                f"{root / name} does not exist: run this in the course repository's root "
                f"(where {CONFIG} and {SOURCE}/ are), or pass --root")
    return root


def assignment_names(root="."):
    """Names of the assignments in ``root/solutions`` (one folder each), sorted."""
    source = _check_root(root) / SOURCE
    return sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def generate(root=".", names=None, db=False):
    """Run ``nbgrader generate_assignment NAME --force`` in ``root`` for each assignment.

    Parameters
    ----------
    root : str or pathlib.Path
        A course directory holding ``nbgrader_config.py`` and ``solutions/``.
    names : list of str, optional
        Assignments to generate (default: all of them).
    db : bool, default False
        Record the assignments in ``root``'s gradebook (an instructor's course
        directory); the repository's own release uses ``--no-db``.

    Raises
    ------
    RuntimeError
        With nbgrader's output, when nbgrader fails.
    """
    root = _check_root(root)
    for name in names or assignment_names(root):
        command = [str(Path(sys.executable).parent / "nbgrader"), "generate_assignment",
                   name, "--force"] + ([] if db else ["--no-db"])
        done = subprocess.run(command, cwd=root, env=_nbgrader_env(), capture_output=True,
                              text=True)
        if done.returncode != 0:
            raise RuntimeError(f"nbgrader generate_assignment {name} failed in {root}:\n"
                               f"{done.stdout}{done.stderr}")


def _files(folder):
    folder = Path(folder)
    return {p.relative_to(folder) for p in folder.rglob("*") if p.is_file()} if folder.is_dir() else set()


def stale_files(root="."):
    """Files of ``root/assignments`` that differ from a fresh ``generate_assignment``.

    Returns
    -------
    list of str
        ``"path: missing"``, ``"path: differs"`` or ``"path: not generated"``
        for each difference; empty when ``assignments/`` is current.
    """
    root = _check_root(root)
    with tempfile.TemporaryDirectory(prefix="unet-course-release-") as tmp:
        shutil.copy(root / CONFIG, tmp)
        shutil.copytree(root / SOURCE, Path(tmp) / SOURCE)
        generate(tmp)
        fresh, current = Path(tmp) / RELEASE, root / RELEASE
        want, have = _files(fresh), _files(current)
        problems = [f"{RELEASE}/{p}: missing" for p in sorted(want - have)]
        problems += [f"{RELEASE}/{p}: not generated from {SOURCE}/" for p in sorted(have - want)]
        problems += [f"{RELEASE}/{p}: differs" for p in sorted(want & have)
                     if not filecmp.cmp(fresh / p, current / p, shallow=False)]
    return problems


def main(argv=None):
    """Command line: regenerate ``assignments/``, or ``--check`` that it is current."""
    parser = argparse.ArgumentParser(prog="python -m unet_course.grading.release",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=".", help="course repository root (default: .)")
    parser.add_argument("--check", action="store_true",
                        help="only check that assignments/ is current; exit 1 when stale")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale_files(args.root)
        for line in problems:
            print(line)
        if problems:
            print("assignments/ is stale: run `make assignments` and commit the result")
            return 1
        print("assignments/ is current")
        return 0
    release = Path(args.root) / RELEASE
    names = assignment_names(args.root)
    for extra in sorted(p for p in release.iterdir() if p.is_dir() and p.name not in names) \
            if release.is_dir() else []:
        shutil.rmtree(extra)
    generate(args.root, names)
    print(f"generated {', '.join(names)} into {release}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
