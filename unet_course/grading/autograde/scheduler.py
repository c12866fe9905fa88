"""Where the submissions are graded: a local Dask cluster or an existing Dask scheduler.

``--workers N`` starts a :class:`distributed.LocalCluster` of N worker
processes of one thread each (each waits on one sandboxed kernel at a time),
each watched by a nanny that starts it again if it dies. They listen on
loopback only and speak TLS with certificates made for this run alone
(``security=True``), so no other user of the machine can join the cluster or
hand it work; no dashboard or other web page is served. ``--scheduler ADDRESS`` connects to a scheduler that is
already running, whose workers ``dask-jobqueue`` (Slurm, PBS, SGE) or
Kubernetes (``deploy/kubernetes-grading.yaml``) started on a cluster (the
README shows both). Either way
each task is :func:`unet_course.grading.autograde.worker.grade` on one
submission; the results come back here, to the one process that writes the
gradebook.

A worker that dies takes only its task with it: Dask runs that task again
on another worker (up to ``allowed-failures`` times, then it is reported as
failed and stays ungraded for the next run).
"""
from __future__ import annotations

import logging
from contextlib import contextmanager

__all__ = ["dask_client", "graded_results", "dask_setup"]


def dask_setup(worker):
    """Run in each local worker process as it starts (a Dask preload): Ctrl-C is the command's.

    A terminal's Ctrl-C reaches every process of the command; the workers
    leave it to the command, which stops them in order and says how to resume.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def dask_client(workers=1, address=None):
    """A ``distributed.Client``: on ``address``, or on a new loopback cluster of ``workers``."""
    import dask
    from distributed import Client, LocalCluster

    if address:
        try:
            client = Client(address, timeout=30)
        except OSError as error:
            raise ConnectionError(f"no Dask scheduler answers at {address}: {error}") from None
        try:
            if not client.scheduler_info().get("workers"):
                client.wait_for_workers(1, timeout=120)
            yield client
        finally:
            client.close()
        return
    # Worker processes: one that dies (killed, out of memory) is restarted by its nanny and
    # loses only the submission it was grading, which Dask hands to a worker again.
    # memory_limit=0: the kernels' own limit (RLIMIT_AS) bounds memory; the nanny does not.
    # No dashboard and no other web pages: Dask's HTTP server (which it always starts) gets a
    # free loopback port (so no "Port 8787 is already in use" either) and serves no routes.
    with dask.config.set({"distributed.scheduler.http.routes": [], "distributed.worker.http.routes": []}):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", security=True, memory_limit=0, preload=[__name__],
                               dashboard_address="127.0.0.1:0", scheduler_kwargs={"dashboard": False},
                               silence_logs=logging.ERROR)
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def graded_results(client, jobs):
    """Submit one task per job; yield ``(student, result or None, error or None)`` as each ends.

    Results arrive in the order the tasks finish, so a slow or failing
    submission holds up nobody else's grade.
    """
    from distributed import as_completed

    from unet_course.grading.autograde.worker import grade

    futures = {}
    for job in jobs:
        future = client.submit(grade, job, pure=False, key=f"grade-{job['student']}-{id(job):x}")
        futures[future] = job["student"]
    for future in as_completed(futures):
        student = futures[future]
        try:
            yield student, future.result(), None
        except Exception as error:  # noqa: BLE001 (a killed worker, a grader error: one student)
            yield student, None, error
        finally:
            future.release()
