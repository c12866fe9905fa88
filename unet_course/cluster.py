"""Where many independent tasks run: a local Dask cluster or an existing Dask scheduler.

``unet-course autograde`` grades one submission per task and ``unet-course
predict`` predicts one scene per task; both take ``--workers N`` or
``--scheduler ADDRESS`` and run here.

``--workers N`` starts a :class:`distributed.LocalCluster` of N worker
processes of one thread each, each watched by a nanny that starts it again if
it dies. They listen on loopback only and speak TLS with certificates made for
this run alone (``security=True``), so no other user of the machine can join
the cluster or hand it work. ``--scheduler ADDRESS`` connects to a scheduler
that is already running, whose workers ``dask-jobqueue`` (Slurm, PBS, SGE) or
Kubernetes started on a cluster. Either way the results come back to the one
process that writes them (the gradebook, the scenes' summary).

A worker that dies takes only its task with it: Dask runs that task again on
another worker (up to ``allowed-failures`` times, then it is reported as
failed).
"""
from __future__ import annotations

import logging
from contextlib import contextmanager

__all__ = ["dask_client", "completed", "dask_setup"]


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
        except OSError:
            raise ConnectionError(f"no Dask scheduler answers at {address} (nothing listens there, "
                                  "or it is not a Dask scheduler); expected tcp://HOST:PORT or "
                                  "tls://HOST:PORT of a running scheduler") from None
        try:
            if not client.scheduler_info().get("workers"):
                client.wait_for_workers(1, timeout=120)
            yield client
        finally:
            client.close()
        return
    # Worker processes: one that dies (killed, out of memory) is restarted by its nanny and
    # loses only the task it was running, which Dask hands to a worker again.
    # memory_limit=0: the tasks' own limits (the kernels' RLIMIT_AS) bound memory; the nanny does not.
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


def completed(client, function, jobs, names, prefix="task"):
    """Submit ``function(job)`` for each job; yield ``(name, result or None, error or None)`` as each ends.

    Results arrive in the order the tasks finish, so a slow or failing task
    holds up no other.
    """
    from distributed import as_completed

    futures = {}
    for job, name in zip(jobs, names):
        future = client.submit(function, job, pure=False, key=f"{prefix}-{name}-{id(job):x}")
        futures[future] = name
    for future in as_completed(futures):
        name = futures[future]
        try:
            yield name, future.result(), None
        except Exception as error:  # noqa: BLE001 (a killed worker, a failing task: that one only)
            yield name, None, error
        finally:
            future.release()
