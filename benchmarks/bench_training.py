"""Training throughput: the seed's numpy arrays against this package's tf.data pipeline.

The seed loaded every tile into one float32 numpy array and called
``model.fit(x, y, batch_size=8)``. The package streams uint8 tiles through
``make_dataset`` (scale to [0, 1], cache, shuffle, batch, prefetch). This
script trains the same U-Net on the same synthetic tiles both ways, in one
process, and prints one JSON object::

    python benchmarks/bench_training.py                 # laptop profile's 128 px, base 16
    python benchmarks/bench_training.py --size 256 --filters 32 --steps 50

Each way gets a fresh model with the same seed, a short warm-up (tracing and
compiling the training step) and then ``--steps`` timed batches; for tf.data
the timed epoch also fills the cache, as a first epoch does. On a GPU, mixed
precision and XLA are chosen as in training (``configure_accelerator``).
"""
from __future__ import annotations

import argparse
import json
import time

import keras
import numpy as np
import tensorflow as tf

import unet_course
from unet_course.data import make_dataset, synthetic_tiles
from unet_course.model import build_unet
from unet_course.train import compile_unet, configure_accelerator

BATCH = 8


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128, help="tile side in pixels (default 128)")
    parser.add_argument("--filters", type=int, default=16, help="base filters (default 16)")
    parser.add_argument("--steps", type=int, default=24, help="timed batches per way (default 24)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed batches first (default 3)")
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args(argv)


def fresh_model(size, filters, seed, accel):
    """The same U-Net for both ways: seeded, compiled the package's way."""
    keras.utils.set_random_seed(seed)
    model = build_unet((size, size, 3), filters=filters)
    return compile_unet(model, jit_compile=accel["jit_compile"])


def timed_fit(model, fit_timed, fit_warmup, images):
    """Warm up, then time one fit; return images per second."""
    fit_warmup(model)
    start = time.perf_counter()
    fit_timed(model)
    return images / (time.perf_counter() - start)


def seed_way(tiles, args, accel):
    """The seed: float32 arrays in memory, ``model.fit(x, y, batch_size=8)``."""
    x = tiles.images.astype(np.float32) / 255.0
    y = tiles.masks[..., None].astype(np.float32)
    warm = args.warmup * BATCH
    model = fresh_model(args.size, args.filters, args.seed, accel)
    return timed_fit(
        model,
        lambda m: m.fit(x[warm:], y[warm:], batch_size=BATCH, epochs=1, shuffle=True, verbose=0),
        lambda m: m.fit(x[:warm], y[:warm], batch_size=BATCH, epochs=1, verbose=0),
        args.steps * BATCH,
    )


def pipeline_way(tiles, args, accel):
    """This package: uint8 tiles through ``make_dataset`` (cache, shuffle, prefetch)."""
    timed = tiles.subset(np.arange(args.warmup * BATCH, len(tiles)))
    dataset = make_dataset(timed, batch_size=BATCH, shuffle=True, cache=True, seed=args.seed)
    warm = make_dataset(tiles.subset(np.arange(args.warmup * BATCH)), batch_size=BATCH, shuffle=False)
    model = fresh_model(args.size, args.filters, args.seed, accel)
    return timed_fit(
        model,
        lambda m: m.fit(dataset, epochs=1, verbose=0, shuffle=False),  # the dataset shuffles
        lambda m: m.fit(warm, epochs=1, verbose=0, shuffle=False),
        args.steps * BATCH,
    )


def main(argv=None):
    args = parse_args(argv)
    accel = configure_accelerator()
    tiles = synthetic_tiles((args.warmup + args.steps) * BATCH, size=args.size, seed=args.seed)
    result = {
        "benchmark": "training throughput, numpy arrays (the seed) vs tf.data (unet_course)",
        "images_per_second": {
            "seed_numpy_arrays": round(seed_way(tiles, args, accel), 2),
            "unet_course_tf_data": round(pipeline_way(tiles, args, accel), 2),
        },
        "image_size": args.size, "filters": args.filters, "batch_size": BATCH,
        "timed_steps": args.steps, "warmup_steps": args.warmup,
        "device": accel["device"], "mixed_precision": accel["mixed_precision"],
        "jit_compile": accel["jit_compile"], "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__, "unet_course_version": unet_course.__version__,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
