"""How fast the synthetic scene generator draws tiles on one CPU core.

Usage: ``python benchmarks/bench_synthetic.py [--n 400] [--size 256]``.
Prints one JSON line: ``{"tiles_per_second": ..., "size": 256, "n": 400, ...}``.
The generator is plain vectorised numpy; the course needs at least 200 tiles
of 256 px a second, so a laptop builds the default data set in seconds.

``tiles_per_second`` counts the CPU time of this single-threaded process, so
it stays meaningful on a busy machine; ``wall_tiles_per_second`` is the
wall-clock rate, equal to it on an idle core.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"                                   # one thread, before numpy loads

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400, help="tiles to draw (default 400)")
    parser.add_argument("--size", type=int, default=256, help="tile side in pixels (default 256)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the best one counts")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})   # pin to one core

    from unet_course.data.synthetic import synthetic_tiles

    synthetic_tiles(16, args.size, seed=123)                 # warm-up: noise tables, imports
    cpu, wall = [], []
    for repeat in range(args.repeats):
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        tiles = synthetic_tiles(args.n, args.size, seed=repeat)
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start_wall)
    print(json.dumps({
        "tiles_per_second": round(args.n / min(cpu), 1), "size": args.size, "n": args.n,
        "wall_tiles_per_second": round(args.n / min(wall), 1), "cpu_seconds": round(min(cpu), 3),
        "repeats": args.repeats, "building_fraction": round(tiles.building_fraction(), 4),
    }))


if __name__ == "__main__":
    main()
