"""Per-building F1 on the real validation tiles, with and without separating touching buildings.

Trains (or reuses) a U-Net of the ``laptop`` profile on the 128 real training
tiles (validation: the 32 real validation tiles), merges the validation tiles
that touch into mosaics (``rasterio.merge``; the others are scenes of one
tile), predicts every scene with ``--instances none`` and ``--instances
watershed``, scores each against its fractional label raster (SpaceNet's
one-to-one IoU >= 0.5) and prints one JSON object: the summed counts,
precision, recall and F1 of each variant, on all scenes and on the mosaics
alone, with the seconds each took::

    python benchmarks/bench_footprints_real.py --tiles ../shared/real_tiles --run runs/real-laptop

The scores are deterministic for one model; the model depends on the
machine's arithmetic, so the figures name the machine they were measured on.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import unet_course
from unet_course.data import load_tiles, resize_tiles
from unet_course.data.sources import Splits
from unet_course.footprints.commands import predict_images
from unet_course.footprints.matching import evaluate_footprints
from unet_course.footprints.mosaic import merge_tiles, neighbour_groups
from unet_course.metrics import scores_from_counts
from unet_course.profiles import profile
from unet_course.train import train_unet


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=Path, default=Path("../shared/real_tiles"),
                        help="the real tiles: training/ and validation/ (default ../shared/real_tiles)")
    parser.add_argument("--run", type=Path, default=Path("runs/real-laptop"),
                        help="run folder of the model (trained there unless finished)")
    parser.add_argument("--profile", default="laptop", help="profile to train with (default laptop)")
    parser.add_argument("--workers", type=int, default=None, help="predict on a local Dask cluster")
    return parser.parse_args(argv)


def validation_scenes(tiles, folder):
    """``[(image, labels, is_mosaic)]``: touching validation tiles merged, the others alone."""
    scenes = []
    for group in neighbour_groups(sorted((tiles / "validation" / "images").glob("*.tif"))):
        labels = [p.parent.parent / "labels" / p.name.replace("image_", "label_") for p in group]
        if len(group) == 1:
            scenes.append((group[0], labels[0], False))
        else:
            name = f"{group[0].stem}_mosaic"
            scenes.append((merge_tiles(group, folder / f"{name}.tif"),
                           merge_tiles(labels, folder / f"{name}_labels.tif"), True))
    return scenes


def score(scenes, out):
    """Summed building counts and scores over ``scenes``, and over the mosaics alone."""
    totals = {"all": {"tp": 0, "fp": 0, "fn": 0}, "mosaics": {"tp": 0, "fp": 0, "fn": 0}}
    for image, labels, is_mosaic in scenes:
        found = evaluate_footprints(out / f"{Path(image).stem}_footprints.gpkg", labels)
        for key in ("all", "mosaics") if is_mosaic else ("all",):
            for count in ("tp", "fp", "fn"):
                totals[key][count] += found[count]
    for counts in totals.values():
        scores = scores_from_counts({**counts, "tn": 0})
        counts.update(precision=round(scores["precision"], 4), recall=round(scores["recall"], 4),
                      f1=round(scores["dice"], 4))
    return totals


def main(argv=None):
    args = parse_args(argv)
    prof = profile(args.profile)
    start = time.perf_counter()
    train, val = (resize_tiles(load_tiles(args.tiles, split), prof.image_size)
                  for split in ("training", "validation"))
    with contextlib.redirect_stdout(sys.stderr):           # stdout is the JSON alone
        trained = train_unet(prof, args.run, data=Splits(train, val, val),
                             source=f"tiles:{args.tiles}", resume=True, verbose=0)
    result = {"package_version": unet_course.__version__, "machine": platform.node(),
              "cpus": os.cpu_count(), "load_average": os.getloadavg(), "profile": prof.name,
              "run": str(args.run), "train_seconds": round(time.perf_counter() - start, 1),
              "best_epoch": trained.metadata.get("best_epoch"),
              "best_val_loss": trained.metadata.get("best_val_loss"), "variants": {}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        scenes = validation_scenes(args.tiles, folder)
        result["scenes"] = {"all": len(scenes), "mosaics": sum(s[2] for s in scenes)}
        for instances in ("none", "watershed"):
            start = time.perf_counter()
            out = folder / f"out-{instances}"
            predict_images([s[0] for s in scenes], args.run / "best.keras", out, instances=instances,
                           progress=False, workers=args.workers)
            seconds = time.perf_counter() - start
            result["variants"][instances] = {**score(scenes, out), "predict_seconds": round(seconds, 1)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
