"""Training throughput, side by side: the seed's way against the way this machine measured fastest.

The seed loaded every tile into one float32 numpy array and called
``model.fit(x, y, batch_size=8)`` in float32 without XLA (Keras' default on a
CPU). The package measures, on first use, which way trains fastest here
(:mod:`unet_course.tuning`) and trains that way. This script

1. runs that measurement as a run would (not cached), and records its cost
   and its choice for a laptop run (``--no-bf16`` leaves bfloat16 out, as on
   a CPU without native bfloat16, to show the choice on either kind of CPU);
2. builds one model per way (same seed, same tiles), warms each up, then
   times ``--repeats`` epochs of ``--steps`` batches per way, **interleaved**
   (seed, chosen, float32 tf.data, bfloat16, XLA, seed, ...), so a machine that
   slows down mid-run slows every way alike. It prints one JSON object:

- the median and spread (min, max) of images per second of each way, by the
  wall clock and per CPU-second (the second stays meaningful on a shared machine);
- the ratio chosen / seed, run by run and its median (each timed epoch is a
  call of ``fit``, and the seed's arrays pay a set-up at each call that a run
  pays once: at 8 steps an epoch, tf.data ways look faster than they are);
- the FLOPs per image (forward and training), the machine's measured matrix
  product rate in float32 and bfloat16, and the fraction of it each way reaches;
- XLA's compile time, as a separate figure;
- the machine's load average before and after;
- optionally (``--process``) the whole-process time of a short ``unet-course
  train`` run (1 epoch of the laptop profile's data) with the defaults and
  with the seed's settings (``--precision float32 --xla off``).

::

    python benchmarks/bench_training.py                      # 128 px, base 16 (the laptop profile)
    python benchmarks/bench_training.py --no-bf16            # as on a CPU without native bfloat16
    python benchmarks/bench_training.py --size 256 --filters 32
    python benchmarks/bench_training.py --first-use 5         # what the first-use measurement costs a run
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from unet_course import tuning
from unet_course.accelerator import _default_build, configure_accelerator, cpu_flags, forward_flops, matmul_rate
from unet_course.backend import keras, tf
from unet_course.data import make_dataset, synthetic_tiles
from unet_course.model import build_unet
from unet_course.train import compile_unet

BATCH = 8


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128, help="tile side in pixels (default 128)")
    parser.add_argument("--filters", type=int, default=16, help="base filters (default 16)")
    parser.add_argument("--steps", type=int, default=8, help="batches per timed epoch (default 8)")
    parser.add_argument("--repeats", type=int, default=5, help="timed epochs per way (default 5)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-xla", action="store_true", help="leave out the XLA way")
    parser.add_argument("--no-bf16", action="store_true",
                        help="measure and compare as on a CPU without native bfloat16")
    parser.add_argument("--run-steps", type=int, default=660,
                        help="the run the choice is made for (default 660: the laptop demo's)")
    parser.add_argument("--process", action="store_true", help="add the whole-process runs")
    parser.add_argument("--first-use", type=int, default=0, metavar="N",
                        help="only measure what the first-use measurement costs: N pairs of 1-epoch laptop "
                             "runs, interleaved, one measuring (empty cache), one reading the cache")
    return parser.parse_args(argv)


def build(size, filters, seed, policy, jit):
    """One U-Net under ``policy`` (the global policy is restored), compiled the package's way."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        keras.utils.set_random_seed(seed)
        return compile_unet(build_unet((size, size, 3), filters=filters), jit_compile=jit)
    finally:
        keras.config.set_dtype_policy(previous)


def ways(args, tiles, chosen):
    """``{name: (model, fit_one_epoch)}`` for each way, each warmed up once; and XLA's compile time."""
    x = tiles.images.astype(np.float32) / np.float32(255.0)
    y = tiles.masks[..., None].astype(np.float32)
    dataset = make_dataset(tiles, batch_size=BATCH, shuffle=True, seed=args.seed)
    fits = {"numpy": lambda m: m.fit(x, y, batch_size=BATCH, epochs=1, shuffle=True, verbose=0),
            "tf.data": lambda m: m.fit(dataset, epochs=1, shuffle=False, verbose=0)}
    names = ["seed", f"chosen ({chosen})", "float32"]
    if not args.no_bf16:
        names.append("bfloat16")
    if not args.no_xla:
        names.append("xla")
    built, first_epoch = {}, {}
    for name in names:
        way = tuning.WAYS[name.split("(")[-1].rstrip(")") if name.startswith("chosen") else name]
        model = build(args.size, args.filters, args.seed, way.policy, way.jit)
        start = time.perf_counter()
        fits[way.inputs](model)                      # traces (and for XLA compiles) the step
        first_epoch[name] = time.perf_counter() - start
        built[name] = (model, fits[way.inputs])
    return built, first_epoch


def timed(ways_, repeats, images):
    """Interleaved timed epochs: ``{name: {"wall": [...], "cpu": [...]}}`` in images per second."""
    rates = {name: {"wall": [], "cpu": []} for name in ways_}
    for _ in range(repeats):
        for name, (model, fit) in ways_.items():
            wall, cpu = time.perf_counter(), time.process_time()
            fit(model)
            rates[name]["wall"].append(images / (time.perf_counter() - wall))
            rates[name]["cpu"].append(images / (time.process_time() - cpu))
    return rates


def summary(values):
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2),
            "max": round(max(values), 2), "runs": [round(v, 2) for v in values]}


def whole_process(args, extra, cache=None, info=None):
    """Seconds of ``unet-course train`` (1 epoch, laptop profile's data) as a fresh process.

    ``cache``: the accelerator cache folder it uses (default: the user's);
    ``info``: a dict, filled with the run's ``run.json``.
    """
    env = {**os.environ, **({tuning.CACHE_ENV: str(cache)} if cache else {})}
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "unet_course", "train", "--profile", "laptop", "--epochs", "1",
                   "--quiet", "--out", str(Path(out) / "run"), *extra]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        seconds = round(time.perf_counter() - start, 1)
        if info is not None:
            info.update(json.loads((Path(out) / "run" / "run.json").read_text()))
        return seconds


def first_use_cost(pairs):
    """What measuring on first use adds to a run: ``pairs`` pairs of whole 1-epoch laptop runs.

    In each pair, one run starts from an empty cache (it measures, then trains
    the chosen way) and one reads the cache a first run filled (it trains the
    same way without measuring); the pair's order alternates. The cost is the
    difference of each pair, median and spread.
    """
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        filled = Path(folder) / "filled"
        whole_process(None, [], filled)                        # fills the cache (and warms the disk)
        measuring, cached, measured = [], [], []
        for pair in range(pairs):
            for kind in (("measure", "cached") if pair % 2 == 0 else ("cached", "measure")):
                if kind == "cached":
                    cached.append(whole_process(None, [], filled))
                    continue
                info = {}
                measuring.append(whole_process(None, [], Path(folder) / f"empty{pair}", info))
                measured.append({"way": info["way"], "cost_seconds": info["measurement"]["cost_seconds"],
                                 "ways": list(info["measurement"]["figures"])})
    return {
        "benchmark": "first-use measurement: whole 1-epoch laptop runs, measuring (empty cache) vs reading the cache",
        "pairs": pairs, "measuring_seconds": summary(measuring), "cached_seconds": summary(cached),
        "net_extra_seconds": summary([m - c for m, c in zip(measuring, cached)]),
        "measurements": measured,
        "device": configure_accelerator(128)["device"], "tensorflow_version": tf.__version__,
        "load_average": {"before": [round(v, 1) for v in load_before],
                         "after": [round(v, 1) for v in os.getloadavg()]},
    }


def main(argv=None):
    args = parse_args(argv)
    if args.first_use:
        print(json.dumps(first_use_cost(args.first_use), indent=2))
        return
    load_before = os.getloadavg()
    flags = cpu_flags() - (tuning.NATIVE_BF16 if args.no_bf16 else set())
    names, left_out = tuning.candidate_ways(flags)
    start = time.perf_counter()
    measured = tuning.measure_ways(names, _default_build(args.size, args.filters), args.size, BATCH)
    cost = time.perf_counter() - start
    chosen, projected, reason = tuning.select_way(measured, args.run_steps)
    tiles = synthetic_tiles(args.steps * BATCH, size=args.size, seed=args.seed)
    built, first_epoch = ways(args, tiles, chosen)
    images = args.steps * BATCH
    rates = timed(built, args.repeats, images)
    forward = forward_flops(built["seed"][0])
    train_flops = 3 * forward
    peaks = {"float32": matmul_rate(dtype="float32"), "bfloat16": matmul_rate(dtype="bfloat16")}
    result = {
        "benchmark": "U-Net training throughput: the seed's way vs the way measured fastest here",
        "image_size": args.size, "filters": args.filters, "batch_size": BATCH,
        "steps_per_epoch": args.steps, "interleaved_repeats": args.repeats,
        "bf16_left_out": args.no_bf16,
        "first_use_measurement": {"ways": names, "left_out": left_out, "seconds": round(cost, 1),
                                  "figures": measured, "chosen_for_run_steps": args.run_steps,
                                  "chosen": chosen, "projected_run_seconds": projected, "reason": reason},
        "images_per_second_wall": {name: summary(r["wall"]) for name, r in rates.items()},
        "images_per_cpu_second": {name: summary(r["cpu"]) for name, r in rates.items()},
    }
    seed, ours = rates["seed"]["wall"], rates[f"chosen ({chosen})"]["wall"]
    ratios = [o / s for o, s in zip(ours, seed)]
    result["chosen_over_seed_wall"] = summary(ratios)
    result["chosen_at_least_seed_in_every_run"] = all(r >= 1 for r in ratios)
    result["gflop_per_image"] = {"forward": round(forward / 1e9, 3), "training_step": round(train_flops / 1e9, 3)}
    result["matmul_gflops"] = {k: round(v, 1) for k, v in peaks.items()}
    result["fraction_of_matmul_rate"] = {
        name: {dtype: round(statistics.median(r["wall"]) * train_flops / 1e9 / peak, 3)
               for dtype, peak in peaks.items()}
        for name, r in rates.items()
    }
    if "xla" in built:
        steady = images / statistics.median(rates["xla"]["wall"])
        result["xla_compile_seconds"] = round(first_epoch["xla"] - steady, 1)
    result["first_epoch_seconds"] = {k: round(v, 1) for k, v in first_epoch.items()}
    if args.process:
        result["whole_process_seconds_1_epoch_laptop"] = {
            "default": whole_process(args, []),
            "seed_settings": whole_process(args, ["--precision", "float32", "--xla", "off"]),
        }
    result.update(device=configure_accelerator(args.size)["device"], tensorflow_version=tf.__version__,
                  keras_version=keras.__version__,
                  load_average={"before": [round(v, 1) for v in load_before],
                                "after": [round(v, 1) for v in os.getloadavg()]})
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
