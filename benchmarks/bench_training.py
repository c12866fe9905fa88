"""Training throughput, side by side: the seed's way against the package's default, and why.

The seed loaded every tile into one float32 numpy array and called
``model.fit(x, y, batch_size=8)`` in float32 without XLA (Keras' default on a
CPU). The package streams uint8 tiles through ``make_dataset`` and trains in
the precision :mod:`unet_course.accelerator` chooses for the machine. This
script builds one model per way (same seed, same tiles), warms each up, then
times ``--repeats`` epochs of ``--steps`` batches per way, **interleaved**
(seed, default, float32 tf.data, XLA, seed, default, ...), so a machine that
slows down mid-run slows every way alike. It prints one JSON object:

- the median and spread (min, max) of images per second of each way, by the
  wall clock and per CPU-second (the second stays meaningful on a shared machine);
- the ratio default / seed, run by run and its median;
- the FLOPs per image (forward and training), the machine's measured matrix
  product rate in float32 and bfloat16, and the fraction of it each way reaches;
- XLA's compile time, as a separate figure;
- the whole-process time of a short ``unet-course train`` run (1 epoch of the
  laptop profile's data) with the default settings and with the seed's
  (``--precision float32 --xla off``): what a student waits for.

::

    python benchmarks/bench_training.py                      # 128 px, base 16 (the laptop profile)
    python benchmarks/bench_training.py --size 256 --filters 32 --no-process
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from unet_course.accelerator import configure_accelerator, forward_flops, matmul_rate
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
    parser.add_argument("--no-process", action="store_true", help="leave out the whole-process runs")
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


def ways(args, tiles):
    """``{name: (model, fit_one_epoch)}`` for each way, each warmed up once; and XLA's compile time."""
    x = tiles.images.astype(np.float32) / np.float32(255.0)
    y = tiles.masks[..., None].astype(np.float32)
    dataset = make_dataset(tiles, batch_size=BATCH, shuffle=True, seed=args.seed)
    default = configure_accelerator(args.size)
    plan = {
        "seed_numpy_float32": ("float32", False, lambda m: m.fit(x, y, batch_size=BATCH, epochs=1,
                                                                   shuffle=True, verbose=0)),
        "unet_course_default": (default["policy"], default["jit_compile"],
                                lambda m: m.fit(dataset, epochs=1, shuffle=False, verbose=0)),
        "tf_data_float32": ("float32", False, lambda m: m.fit(dataset, epochs=1, shuffle=False, verbose=0)),
    }
    if not args.no_xla:
        plan["tf_data_float32_xla"] = ("float32", True, lambda m: m.fit(dataset, epochs=1, shuffle=False, verbose=0))
    built, first_epoch = {}, {}
    for name, (policy, jit, fit) in plan.items():
        model = build(args.size, args.filters, args.seed, policy, jit)
        start = time.perf_counter()
        fit(model)                                   # traces (and for XLA compiles) the step
        first_epoch[name] = time.perf_counter() - start
        built[name] = (model, fit)
    return built, first_epoch, default


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


def whole_process(args, extra):
    """Seconds of ``unet-course train`` (1 epoch, laptop profile's data) as a fresh process."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "unet_course", "train", "--profile", "laptop", "--epochs", "1",
                   "--quiet", "--out", str(Path(out) / "run"), *extra]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        return round(time.perf_counter() - start, 1)


def main(argv=None):
    args = parse_args(argv)
    tiles = synthetic_tiles(args.steps * BATCH, size=args.size, seed=args.seed)
    built, first_epoch, default = ways(args, tiles)
    images = args.steps * BATCH
    rates = timed(built, args.repeats, images)
    forward = forward_flops(built["seed_numpy_float32"][0])
    train_flops = 3 * forward
    peaks = {"float32": matmul_rate(dtype="float32"), "bfloat16": matmul_rate(dtype="bfloat16")}
    result = {
        "benchmark": "U-Net training throughput: the seed's way vs unet_course's default",
        "image_size": args.size, "filters": args.filters, "batch_size": BATCH,
        "steps_per_epoch": args.steps, "interleaved_repeats": args.repeats,
        "default_settings": default,
        "images_per_second_wall": {name: summary(r["wall"]) for name, r in rates.items()},
        "images_per_cpu_second": {name: summary(r["cpu"]) for name, r in rates.items()},
    }
    seed, ours = rates["seed_numpy_float32"]["wall"], rates["unet_course_default"]["wall"]
    ratios = [o / s for o, s in zip(ours, seed)]
    result["default_over_seed_wall"] = summary(ratios)
    result["default_beats_seed_in_every_run"] = all(r > 1 for r in ratios)
    result["gflop_per_image"] = {"forward": round(forward / 1e9, 3), "training_step": round(train_flops / 1e9, 3)}
    result["matmul_gflops"] = {k: round(v, 1) for k, v in peaks.items()}
    result["fraction_of_matmul_rate"] = {
        name: {dtype: round(statistics.median(r["wall"]) * train_flops / 1e9 / peak, 3)
               for dtype, peak in peaks.items()}
        for name, r in rates.items()
    }
    if "tf_data_float32_xla" in built:
        steady = images / statistics.median(rates["tf_data_float32_xla"]["wall"])
        result["xla_compile_seconds"] = round(first_epoch["tf_data_float32_xla"] - steady, 1)
    result["first_epoch_seconds"] = {k: round(v, 1) for k, v in first_epoch.items()}
    if not args.no_process:
        result["whole_process_seconds_1_epoch_laptop"] = {
            "default": whole_process(args, []),
            "seed_settings": whole_process(args, ["--precision", "float32", "--xla", "off"]),
        }
    result.update(device=default["device"], tensorflow_version=tf.__version__,
                  keras_version=keras.__version__)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
