"""Inference throughput of the U-Net, side by side: float32 against the policy this machine predicts in.

The policy is :func:`unet_course.accelerator.inference_policy`'s: the precision of
the way measured fastest for training that size (cached by a training run or
``unet-course info``), else the rule.

Prediction (``unet_course.evaluate.predict_probabilities``, which the footprints
work calls window by window) at the laptop size (128 px, base 16) and the full
size (256 px, base 32). For each size one model per precision is built with
the same seed and warmed up, then ``--repeats`` timed passes over ``--tiles``
tiles run **interleaved** (float32, default, float32, default, ...). It prints
one JSON object: tiles per second and megapixels per second (median, min,
max, every run) by the wall clock and per CPU-second, the ratio
default / float32, the forward FLOPs per tile and the fraction of the
machine's measured matrix-product rate::

    python benchmarks/bench_inference.py
    python benchmarks/bench_inference.py --tiles 64 --repeats 7
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

from unet_course.accelerator import configure_accelerator, forward_flops, inference_policy, matmul_rate
from unet_course.backend import keras, tf
from unet_course.data import synthetic_tiles
from unet_course.evaluate import predict_probabilities
from unet_course.model import build_unet

SIZES = {"laptop": (128, 16), "full": (256, 32)}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=int, default=32, help="tiles per timed pass (default 32)")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes per way (default 5)")
    parser.add_argument("--batch", type=int, default=8, help="tiles per prediction step (default 8)")
    return parser.parse_args(argv)


def model_under(policy, size, filters):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        keras.utils.set_random_seed(1)
        return build_unet((size, size, 3), filters=filters)
    finally:
        keras.config.set_dtype_policy(previous)


def stats(values):
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2),
            "max": round(max(values), 2), "runs": [round(v, 2) for v in values]}


def bench_size(size, filters, args, peak):
    tiles = synthetic_tiles(args.tiles, size=size, seed=3)
    default = inference_policy(size, filters)
    models = {"float32": model_under("float32", size, filters)}
    if default != "float32":
        models[default] = model_under(default, size, filters)
    for name, model in models.items():
        predict_probabilities(model, tiles, args.batch, precision=name)   # trace and warm up
    wall = {name: [] for name in models}
    cpu = {name: [] for name in models}
    for _ in range(args.repeats):
        for name, model in models.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            predict_probabilities(model, tiles, args.batch, precision=name)   # as built, no twin
            wall[name].append(args.tiles / (time.perf_counter() - start))
            cpu[name].append(args.tiles / (time.process_time() - start_cpu))
    megapixels = size * size / 1e6
    flops = forward_flops(models["float32"])
    out = {
        "image_size": size, "filters": filters, "default_policy": default,
        "tiles_per_second_wall": {n: stats(v) for n, v in wall.items()},
        "tiles_per_cpu_second": {n: stats(v) for n, v in cpu.items()},
        "megapixels_per_second_wall": {n: round(statistics.median(v) * megapixels, 3) for n, v in wall.items()},
        "gflop_per_tile": round(flops / 1e9, 3),
        "fraction_of_float32_matmul_rate": {
            n: round(statistics.median(v) * flops / 1e9 / peak, 3) for n, v in wall.items()},
    }
    if default != "float32":
        out["default_over_float32_wall"] = stats([d / f for d, f in zip(wall[default], wall["float32"])])
    return out


def main(argv=None):
    args = parse_args(argv)
    peak = matmul_rate()
    result = {"benchmark": "U-Net inference throughput (predict_probabilities)",
              "tiles_per_pass": args.tiles, "batch_size": args.batch, "interleaved_repeats": args.repeats,
              "float32_matmul_gflops": round(peak, 1)}
    for name, (size, filters) in SIZES.items():
        result[name] = bench_size(size, filters, args, peak)
    result.update(device=configure_accelerator()["device"], tensorflow_version=tf.__version__)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
