"""Start a Dask scheduler here and N grading workers as Slurm jobs (dask-jobqueue).

Usage: ``DASK_CONFIG=deploy/slurm-grading.yaml python deploy/slurm_scheduler.py N``.
Writes the scheduler's address to ``scheduler-address`` and keeps the workers
until interrupted; ``unet-course autograde A --scheduler ADDRESS`` grades on them.
"""
import sys
import time
from pathlib import Path

from dask_jobqueue import SLURMCluster


def main(workers):
    """Start the cluster, write its address, wait until Ctrl-C."""
    with SLURMCluster() as cluster:
        cluster.scale(jobs=workers)
        Path("scheduler-address").write_text(cluster.scheduler_address)
        print(f"scheduler at {cluster.scheduler_address}; {workers} Slurm jobs requested; Ctrl-C ends them")
        try:
            while True:
                time.sleep(60)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
