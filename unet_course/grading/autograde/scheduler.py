"""Where the submissions are graded: a local Dask cluster or an existing Dask scheduler.

The cluster is :func:`unet_course.cluster.dask_client` (``unet-course
predict`` uses it too); this module hands it one grading task per submission.

``--workers N`` starts a :class:`distributed.LocalCluster` of N worker
processes of one thread each (each waits on one sandboxed kernel at a time),
each watched by a nanny that starts it again if it dies. They listen on
loopback only and speak TLS with certificates made for this run alone
(``security=True``), so no other user of the machine can join the cluster or
hand it work; no dashboard or other web page is served. ``--scheduler ADDRESS`` connects to a scheduler that is
already running, whose workers ``dask-jobqueue`` (Slurm, PBS, SGE) or
Kubernetes (``deploy/kubernetes-grading.yaml``) started on a cluster (the
instructor's guide, docs/instructors.md, shows both). Either way
each task is :func:`unet_course.grading.autograde.worker.grade` on one
submission; the results come back here, to the one process that writes the
gradebook.

A worker that dies takes only its task with it: Dask runs that task again
on another worker (up to ``allowed-failures`` times, then it is reported as
failed and stays ungraded for the next run).
"""
from __future__ import annotations

# The cluster itself is the core's (``predict`` runs on it too); dask_setup is the workers' preload.
from unet_course.cluster import completed, dask_client, dask_setup

__all__ = ["dask_client", "graded_results", "dask_setup"]


def graded_results(client, jobs):
    """Submit one task per job; yield ``(student, result or None, error or None)`` as each ends.

    Results arrive in the order the tasks finish, so a slow or failing
    submission holds up nobody else's grade.
    """
    from unet_course.grading.autograde.worker import grade

    jobs = list(jobs)
    yield from completed(client, grade, jobs, [job["student"] for job in jobs], prefix="grade")
