"""Whole-scene inference: megapixels per second, the cost of blending, and peak memory.

Predicts synthetic GeoTIFF scenes with :func:`unet_course.footprints.inference.predict_scene`
(windows read from disk, blended, written strip by strip) and prints one JSON
object::

    python benchmarks/bench_inference_scenes.py                 # 2,000² scenes, then 10,000²
    python benchmarks/bench_inference_scenes.py --side 1500 --big 0   # no 10,000² run

For the ``laptop`` (128 px windows of a scene shrunk by half, base 16) and
the ``full`` (256 px, base 32) model sizes it times a prediction with the
default overlap (a quarter window, blended) and one without overlap (no
blending, fewer windows): ``blending_overhead`` is their ratio of seconds.
The models are untrained: speed does not depend on the weights. The
10,000 x 10,000 RGB scene runs in a fresh process whose peak resident memory
(``VmHWM``, TensorFlow included) is reported; the issue asks for < 2 GB.
``--big-only --big-image FILE`` runs just that part on an existing scene.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import unet_course
from unet_course.backend import keras, tf
from unet_course.data.scenes import write_synthetic_scene
from unet_course.footprints.inference import predict_scene
from unet_course.model import build_unet

SIZES = {"laptop": (128, 16, 0.5), "full": (256, 32, 1.0)}

_BIG = """
import json, sys, time
from bench_inference_scenes import peak_rss_mb
import keras
from unet_course.footprints.inference import predict_scene
from unet_course.model import build_unet
keras.utils.set_random_seed(0)
model = build_unet((128, 128, 3), 16)
start = time.perf_counter()
stats = predict_scene(model, sys.argv[1], sys.argv[2], sys.argv[3], scale=0.5, batch_size=16,
                      progress=False)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": round(seconds, 1), "windows": stats["windows"],
                  "megapixels_per_s": round(stats["height"] * stats["width"] / seconds / 1e6, 3),
                  "peak_rss_mb": round(peak_rss_mb())}))
"""


def peak_rss_mb():
    """Peak resident memory of this process since it started (``VmHWM``), in MiB.

    Not ``ru_maxrss``: on Linux a child started from a large parent inherits
    the parent's high-water mark there.
    """
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024



def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=2000, help="side of the timed scenes (default 2000)")
    parser.add_argument("--big", type=int, default=10000,
                        help="side of the peak-memory scene, 0 to skip (default 10000)")
    parser.add_argument("--batch-size", type=int, default=16, help="windows per model call")
    parser.add_argument("--big-only", action="store_true", help="only the peak-memory run")
    parser.add_argument("--big-image", type=Path, default=None,
                        help="an existing RGB GeoTIFF for the peak-memory run")
    return parser.parse_args(argv)


def time_scene(model, image, folder, scale, overlap, batch_size):
    """Seconds of one prediction, and its statistics."""
    start = time.perf_counter()
    stats = predict_scene(model, image, folder / "p.tif", folder / "m.tif", scale=scale,
                          overlap=overlap, batch_size=batch_size, progress=False)
    return time.perf_counter() - start, stats


def main(argv=None):
    args = parse_args(argv)
    result = {"package_version": unet_course.__version__, "tensorflow": tf.__version__,
              "device": "GPU" if tf.config.list_physical_devices("GPU") else "CPU",
              "side": args.side, "batch_size": args.batch_size, "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        scene = None if args.big_only else write_synthetic_scene(folder, args.side, args.side, seed=0)
        result["scene_seconds"] = round(time.perf_counter() - start, 1)
        megapixels = args.side * args.side / 1e6
        for name, (size, filters, scale) in ({} if args.big_only else SIZES).items():
            keras.utils.set_random_seed(0)
            model = build_unet((size, size, 3), filters)
            time_scene(model, scene["image"], folder, scale, 0, args.batch_size)   # trace, warm caches
            window = int(round(size / scale))
            blended, stats = time_scene(model, scene["image"], folder, scale, None, args.batch_size)
            plain, plain_stats = time_scene(model, scene["image"], folder, scale, 0, args.batch_size)
            result["models"][name] = {
                "window_px": window, "model_px": size, "base_filters": filters, "scale": scale,
                "overlap_px": stats["overlap"], "windows": stats["windows"],
                "windows_without_overlap": plain_stats["windows"],
                "megapixels_per_s": round(megapixels / blended, 3),
                "megapixels_per_s_without_overlap": round(megapixels / plain, 3),
                "blending_overhead": round(blended / plain, 3),
            }
        result["peak_rss_mb_this_process"] = round(peak_rss_mb())
        if args.big:
            start = time.perf_counter()
            image = args.big_image or write_synthetic_scene(folder / "big", args.big, args.big,
                                                            seed=1)["image"]
            generated = time.perf_counter() - start
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(
                [str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
            done = subprocess.run([sys.executable, "-c", _BIG, str(image),
                                   str(folder / "big_p.tif"), str(folder / "big_m.tif")],
                                  capture_output=True, text=True, env=env)
            if done.returncode:
                raise SystemExit(done.stderr[-3000:])
            result["big_scene"] = {"image": str(args.big_image or "synthetic"), "side": args.big,
                                   "generated_seconds": round(generated, 1),
                                   "model": "laptop", **json.loads(done.stdout.strip().splitlines()[-1])}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
