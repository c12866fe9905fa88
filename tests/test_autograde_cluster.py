"""``unet-course autograde`` past one process: an existing Dask scheduler, the Slurm set-up, the limits.

- ``--scheduler ADDRESS``: a real Dask cluster on loopback, started here as
  an instructor's cluster would be, grades a small class; the gradebook is
  written by the command's process only;
- ``deploy/slurm-grading.yaml``: dask-jobqueue builds the Slurm job script
  from it (nothing is submitted);
- ``deploy/kubernetes-grading.yaml``: every object read by Kubernetes' own
  Python models, strictly (a field they drop is an error), and the worker pods
  as the sandbox and the one-GPU-per-worker rule need them;
- the notebook time limit and the sandbox's command line, checked directly.
"""
from __future__ import annotations

import csv
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
import yaml

from _autograde_course import make_course
from test_nbgrader_e2e import ROOT, _env, nbgrader, submissions

A1 = "a1_data_imbalance"


@pytest.fixture(scope="module")
def small_course(tmp_path_factory):
    """Assignment 1 generated in a fresh course, with the solution and the blank release submitted."""
    course = tmp_path_factory.mktemp("cluster") / "course"
    subs = submissions(A1, *make_course(course, A1))
    for student in ("solution", "blank"):
        target = course / "submitted" / student / A1 / f"{A1}.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(subs[student], str(target))
    return course


@pytest.mark.slow
@pytest.mark.sandbox
def test_grades_on_an_existing_scheduler(small_course):
    """Workers of a separately started loopback cluster grade; export shows the grades."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        done = subprocess.run([sys.executable, "-m", "unet_course", "autograde", A1, "--quiet",
                               "--scheduler", cluster.scheduler_address, "--cell-timeout", "60"],
                              cwd=small_course, env={**_env(), "PYTHONPATH": str(ROOT)},
                              capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    nbgrader(small_course, "export")
    with open(small_course / "grades.csv", newline="") as file:
        scores = {row["student_id"]: float(row["score"]) for row in csv.DictReader(file)}
    assert scores == {"solution": 10.0, "blank": 0.0}


@pytest.mark.sandbox
def test_no_scheduler_at_the_address(small_course):
    """A scheduler address where nothing listens: one line saying so, exit status 1."""
    done = subprocess.run([sys.executable, "-m", "unet_course", "autograde", A1, "--force", "--quiet",
                           "--scheduler", "tcp://127.0.0.1:9"], cwd=small_course,
                          env={**_env(), "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 1
    assert "no Dask scheduler answers at tcp://127.0.0.1:9" in done.stderr


def test_slurm_configuration_makes_a_job_script():
    """deploy/slurm-grading.yaml: one thread, one GPU per worker, the course's environment."""
    import dask
    from dask_jobqueue import SLURMCluster

    config = yaml.safe_load((ROOT / "deploy" / "slurm-grading.yaml").read_text())
    flat = {}

    def flatten(prefix, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                flatten(f"{prefix}.{key}" if prefix else key, inner)
        else:
            flat[prefix] = value

    flatten("", config)
    with dask.config.set(flat), SLURMCluster(scheduler_options={"host": "127.0.0.1", "port": 0},
                                               dashboard_address=None) as cluster:
        script = cluster.job_script()
    assert "#SBATCH --gres=gpu:1" in script and "#SBATCH -p gpu" in script
    assert "--nthreads 1" in script and "source /opt/unet-course/.venv/bin/activate" in script
    assert dask.config.get("distributed.scheduler.allowed-failures", config=config) == 2


@pytest.mark.sandbox
def test_notebook_time_limit_stops_the_notebook():
    """Cells within the cell limit but past the notebook's: stopped, later test cells score 0."""
    from nbgrader import utils

    from unet_course.grading.autograde.execute import execute
    from unet_course.grading.autograde.limits import Limits

    test = nbformat.v4.new_code_cell("assert True", metadata={"nbgrader": {
        "grade": True, "grade_id": "t", "locked": True, "points": 1, "solution": False,
        "task": False, "schema_version": 3}})
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import time\ntime.sleep(4)")
                                         for _ in range(4)] + [test])
    with tempfile.TemporaryDirectory() as tmp:
        folders = [Path(tmp) / name for name in ("work", "home", "sockets")]
        for folder in folders:
            folder.mkdir()
        outcome = execute(nb, folders, Limits(cell_timeout=60, notebook_timeout=8), "none")
    assert outcome.limit == "notebook"
    assert outcome.notes[0].startswith("The notebook time limit (8 s) ran out in cell")
    assert utils.determine_grade(nb.cells[-1])[0] == 0


def test_sandbox_command_line_hides_the_course(tmp_path):
    """The sandbox binds the system read-only and only its three folders read-write."""
    from unet_course.grading.autograde.sandbox import kernel_env, sandbox_argv

    folders = [tmp_path / name for name in ("work", "home", "sockets")]
    argv = sandbox_argv(folders, folders[0], kernel_env(folders[1]))
    writable = [argv[i + 1] for i, a in enumerate(argv) if a == "--bind"]
    assert writable == [str(f) for f in folders]
    isolated = "--unshare-all" in argv or {"--unshare-pid", "--unshare-net", "--unshare-ipc"} <= set(argv)
    assert isolated and "--clearenv" in argv and "--die-with-parent" in argv
    read_only = [argv[i + 1] for i, a in enumerate(argv) if a == "--ro-bind"]
    assert "/" not in read_only and str(ROOT) not in read_only and str(ROOT / "solutions") not in read_only
    assert str(Path.home()) not in read_only



MODELS = {("v1", "Service"): "V1Service", ("apps/v1", "Deployment"): "V1Deployment",
          ("networking.k8s.io/v1", "NetworkPolicy"): "V1NetworkPolicy"}


def _kubernetes_objects():
    return list(yaml.safe_load_all((ROOT / "deploy" / "kubernetes-grading.yaml").read_text()))


def _unknown_fields(document):
    """What Kubernetes' own model of ``document`` does not know (read, written back, compared)."""
    from kubernetes.client import ApiClient

    client = ApiClient()
    model = client._ApiClient__deserialize(document, MODELS[document["apiVersion"], document["kind"]])
    back = client.sanitize_for_serialization(model)

    def differences(original, rebuilt, where):
        if isinstance(original, dict):
            for key, value in original.items():
                if not isinstance(rebuilt, dict) or key not in rebuilt:
                    yield f"{where}.{key}"
                else:
                    yield from differences(value, rebuilt[key], f"{where}.{key}")
        elif isinstance(original, list):
            for index, item in enumerate(original):
                yield from differences(item, rebuilt[index], f"{where}[{index}]")
        elif original != rebuilt:
            yield f"{where} ({original!r} read as {rebuilt!r})"

    return list(differences(document, back, document["kind"]))


def test_kubernetes_configuration_is_valid_for_kubernetes():
    """deploy/kubernetes-grading.yaml: every object and field known to Kubernetes' models."""
    objects = _kubernetes_objects()
    assert [(o["apiVersion"], o["kind"]) for o in objects] == [
        ("v1", "Service"), ("apps/v1", "Deployment"), ("apps/v1", "Deployment"),
        ("networking.k8s.io/v1", "NetworkPolicy")]
    for document in objects:
        assert _unknown_fields(document) == [], document["metadata"]["name"]


def test_kubernetes_workers_are_sandboxable_single_gpu_graders():
    """One thread and one GPU per worker pod; what bubblewrap needs; no API token; the scheduler found."""
    service, scheduler, workers, policy = _kubernetes_objects()
    pod = workers["spec"]["template"]["spec"]
    worker = pod["containers"][0]
    command = worker["command"]
    assert command[:3] == ["dask", "worker", f"tcp://{service['metadata']['name']}:8786"]
    assert command[command.index("--nthreads") + 1] == "1"
    assert worker["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert pod["hostUsers"] is False and worker["securityContext"]["procMount"] == "Unmasked"
    assert pod["automountServiceAccountToken"] is False
    assert {"name": "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES", "value": "2"} in \
        scheduler["spec"]["template"]["spec"]["containers"][0]["env"]
    assert service["spec"]["selector"] == scheduler["spec"]["template"]["metadata"]["labels"]
    assert set(policy["spec"]["podSelector"]["matchLabels"].items()) <= \
        set(workers["spec"]["template"]["metadata"]["labels"].items())


def test_kubernetes_check_catches_a_misspelt_field():
    """The check above can fail: a typo in the pod spec is reported with its place."""
    workers = _kubernetes_objects()[2]
    workers["spec"]["template"]["spec"]["containers"][0]["securityContext"]["procMont"] = "Unmasked"
    assert _unknown_fields(workers) == ["Deployment.spec.template.spec.containers[0].securityContext.procMont"]


@pytest.mark.slow
def test_the_local_cluster_admits_no_stranger():
    """--workers N: a loopback cluster on TLS with this run's certificates; a client without them is refused."""
    from distributed import Client
    from distributed.security import Security

    from unet_course.grading.autograde.scheduler import dask_client

    with dask_client(workers=1) as client:
        address = client.scheduler.address
        assert address.startswith("tls://127.0.0.1:")
        worker, = client.scheduler_info()["workers"]
        assert worker.startswith("tls://127.0.0.1:")
        assert client.submit(sum, [1, 2], pure=False).result(timeout=60) == 3
        # Another user's TLS certificates, made just like this run's, and plain TCP: both refused.
        for stranger, security in ((address, Security.temporary()),
                                   (address.replace("tls://", "tcp://"), None)):
            with pytest.raises((OSError, TimeoutError)):
                Client(stranger, security=security, timeout=5)
