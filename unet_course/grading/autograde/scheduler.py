"""Where the submissions are graded: a local Dask cluster or an existing Dask scheduler.

``--workers N`` starts a :class:`distributed.LocalCluster` of N workers of
one thread each, in this process (each waits on its own sandboxed kernel
process), talking over Dask's in-process transport: no network at all. ``--scheduler
ADDRESS`` connects to a scheduler that is already running, whose workers
``dask-jobqueue`` (Slurm, PBS, SGE) or ``dask-kubernetes`` started on a
cluster (the README shows both). Either way each task is
:func:`unet_course.grading.autograde.worker.grade` on one submission; the
results come back here, to the one process that writes the gradebook.

A worker that dies takes only its task with it: Dask runs that task again
on another worker (up to ``allowed-failures`` times, then it is reported as
failed and stays ungraded for the next run).
"""
from __future__ import annotations

import logging
from contextlib import contextmanager

__all__ = ["dask_client", "graded_results"]


@contextmanager
def dask_client(workers=1, address=None):
    """A ``distributed.Client``: on ``address``, or on a new loopback cluster of ``workers``."""
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
    # Worker threads in this process: the students' code runs in the sandboxed kernels (their own
    # processes), so a worker only waits on its kernel; no worker processes to start or lose.
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=False,
                           protocol="inproc://", dashboard_address=None, silence_logs=logging.ERROR)
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
