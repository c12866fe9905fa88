"""Make a lesson run where it was opened: a laptop, Colab, Binder, a JupyterHub (every lesson).

Every lesson's first cell installs this package when it is missing (pinned to
the version the site was built from) and then calls :func:`setup_runtime`,
which

1. checks the installed package is the one the lesson was written for
   (:func:`unet_course.check_version`);
2. installs TensorFlow when it is missing: the CPU build, or the CUDA build
   when a GPU is visible (``UNET_COURSE_INSTALL=no`` forbids any install);
3. picks the profile that fits the machine: what ``UNET_COURSE_PROFILE``
   says when it is set (CI, nbgrader and you win), else ``full`` when a GPU
   is visible and the lesson allows it, else ``laptop``;
4. says in one short report what it found and what it did.

The decision is :func:`plan_runtime`, a plain function of what was found
(``tests/test_setup_runtime.py`` tests it case by case and runs a lesson's
first cell in a fresh virtual environment without the package).

Examples
--------
>>> plan = plan_runtime(env={"COLAB_RELEASE_TAG": "x"}, gpus=["Tesla T4"], have_tensorflow=True)
>>> plan.place, plan.profile, plan.install
('Colab', 'full', ())
>>> plan_runtime(env={}, gpus=[], have_tensorflow=False).install
('tensorflow-cpu>=2.16',)
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

from unet_course import declared
from unet_course.profiles import PROFILE_ENV, profile

__all__ = ["REPOSITORY", "INSTALL_ENV", "RuntimePlan", "detect_place", "visible_gpus", "plan_runtime",
           "setup_runtime", "FULL_ON_GPU"]

#: Where the lessons' first cell installs the package from when it is missing (its tag is ``v`` + the version):
#: pyproject.toml's ``[project.urls] Repository``.
REPOSITORY = declared()[1]["Repository"]
#: ``no`` forbids :func:`setup_runtime` to pip-install anything (a locked-down hub); it then says what is missing.
INSTALL_ENV = "UNET_COURSE_INSTALL"
#: TensorFlow builds, as pyproject.toml's ``cpu`` and ``gpu`` extras name them.
TENSORFLOW = {"cpu": "tensorflow-cpu>=2.16", "gpu": "tensorflow[and-cuda]>=2.16"}
#: Lessons that may run the ``full`` profile on a GPU (all of them: full is sized for a modern GPU).
FULL_ON_GPU = frozenset(range(1, 11))


@dataclass(frozen=True)
class RuntimePlan:
    """What :func:`setup_runtime` will do, and why (see :func:`plan_runtime`)."""

    place: str
    gpus: tuple
    profile: str
    reason: str
    install: tuple = field(default=())
    missing: tuple = field(default=())


def detect_place(env=None):
    """Where the notebook runs: ``Colab``, ``Binder``, ``JupyterHub``, or ``this machine``."""
    env = os.environ if env is None else env
    if "COLAB_RELEASE_TAG" in env or "COLAB_GPU" in env:
        return "Colab"
    if "BINDER_LAUNCH_HOST" in env or "BINDER_SERVICE_HOST" in env or "BINDER_REPO_URL" in env:
        return "Binder"
    if "JUPYTERHUB_API_URL" in env:
        return "JupyterHub"
    return "this machine"


def visible_gpus():
    """The NVIDIA GPUs ``nvidia-smi -L`` lists (names), without importing TensorFlow; ``[]`` when none."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        done = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return []
    names = []
    for line in done.stdout.splitlines():
        if line.startswith("GPU "):
            names.append(line.split(":", 1)[1].split("(UUID")[0].strip())
    return names


def plan_runtime(env, gpus, have_tensorflow, lesson=None):
    """Decide the profile and the installs from what was found; nothing is changed.

    Parameters
    ----------
    env : mapping
        The environment variables (``os.environ``).
    gpus : sequence of str
        The GPUs visible (:func:`visible_gpus`).
    have_tensorflow : bool
        Whether ``tensorflow`` can be imported.
    lesson : int, optional
        The lesson asking; ``full`` on a GPU only for :data:`FULL_ON_GPU`.

    Returns
    -------
    RuntimePlan
    """
    place, gpus = detect_place(env), tuple(gpus)
    if env.get(PROFILE_ENV):
        name, reason = env[PROFILE_ENV].strip().lower(), f"${PROFILE_ENV} says so"
    elif env.get("NBGRADER_EXECUTION"):
        name, reason = "smoke", "nbgrader is running the notebook"
    elif gpus and (lesson is None or lesson in FULL_ON_GPU):
        name, reason = "full", "a GPU is visible: the seed's full scale"
    elif gpus:
        name, reason = "laptop", f"lesson {lesson} keeps the laptop profile even on a GPU"
    else:
        name, reason = "laptop", "no GPU: sized for a CPU"
    wanted = () if have_tensorflow else (TENSORFLOW["gpu" if gpus else "cpu"],)
    if env.get(INSTALL_ENV, "").strip().lower() == "no":
        return RuntimePlan(place, gpus, name, reason, install=(), missing=wanted)
    return RuntimePlan(place, gpus, name, reason, install=wanted)


def _pip_install(requirements):
    """``pip install`` into this kernel's Python; ``None`` when it worked, else pip's last words."""
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *requirements],
                          capture_output=True, text=True)
    if done.returncode == 0:
        return None
    return (done.stderr or done.stdout).strip().splitlines()[-1:] or [f"pip exited {done.returncode}"]


def setup_runtime(written_for, lesson=None, installed_now=None):
    """Check the version, install what is missing, pick the profile and say so (every lesson's first cell).

    Parameters
    ----------
    written_for : str
        The version the lesson was written for (``"0.1"``).
    lesson : int, optional
        The lesson's number (decides whether ``full`` is allowed on a GPU).
    installed_now : bool, optional
        Whether the first cell just pip-installed the package (only for the report).

    Returns
    -------
    unet_course.profiles.Profile
        The profile the lesson then uses; ``UNET_COURSE_PROFILE`` is set to it,
        so the command line and worker processes agree.
    """
    from unet_course import check_version

    version = check_version(written_for)
    plan = plan_runtime(os.environ, visible_gpus(), importlib.util.find_spec("tensorflow") is not None, lesson)
    lines = [f"unet_course {version}" + (" (installed just now)" if installed_now else "")
             + f" on {plan.place}, " + (f"GPU: {', '.join(plan.gpus)}" if plan.gpus else "no GPU")]
    for requirement in plan.install:
        print(f"installing {requirement} (a minute or two)...", flush=True)
        failed = _pip_install([requirement])
        lines.append(f"installed {requirement}" if failed is None else
                     f"could not install {requirement}: {failed[0]}; lessons 3-10 need TensorFlow")
    for requirement in plan.missing:
        lines.append(f"TensorFlow is missing and ${INSTALL_ENV}=no: install {requirement} for lessons 3-10")
    os.environ[PROFILE_ENV] = plan.profile
    chosen = profile()
    lines.append(f"profile {chosen.name!r} ({plan.reason}): {chosen.n_tiles} tiles of {chosen.image_size} px, "
                 f"up to {chosen.epochs} epochs")
    print("\n".join(lines))
    return chosen
