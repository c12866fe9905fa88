"""How far a laptop gets on the real tiles: the seed's recipe, then one change at a time.

Trains the ``laptop`` profile's U-Net (16 base filters, 128 px input, batch 8,
up to the profile's 10 epochs, early stopping) on the 128 real training tiles
and scores it on the 32 real validation tiles, for each change of
:mod:`unet_course.recipes` and each seed, interleaved (seed 1: every change,
then seed 2...), so that machine load falls on all changes alike. Prints one
JSON object (with the Dice of flips at test time too), then a Markdown table:
per change, the validation Dice and the per-building F1 (median, and min-max
over the seeds) and the median seconds of a training run::

    python benchmarks/bench_recipes.py --tiles ../shared/real_tiles --seeds 42 43 44 --json runs/recipes.json

With ``--json`` the runs already in that file are kept and not run again, so
an interrupted benchmark continues where it stopped.

Dice counts every pixel of the validation tiles at their full 256 px (a
model trained at half resolution has its probabilities resized back up, as a
GIS user would see them), summed over the tiles, threshold 0.5. Building F1
is ``benchmarks/bench_footprints_real.py``'s: the validation tiles that touch
are merged into mosaics, every scene goes through ``unet-course predict``'s
path (``predict_images``, watershed instances) and each building is matched
one to one at IoU >= 0.5 against the label raster; counts are summed over the
31 scenes. The test tiles are never read: tune on validation only. Figures
name the machine.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench_footprints_real import score, validation_scenes      # the same scenes and matching
from unet_course.backend import tf
from unet_course.data import Splits, load_tiles, resize_tiles
from unet_course.evaluate import score_predictions
from unet_course.footprints.commands import predict_images
from unet_course.profiles import profile
from unet_course.recipes import SEED, predict_with_recipe, quarter_tiles
from unet_course.train import train_unet


def change(name, **fields):
    """The seed's recipe with ``fields`` changed, named ``name``."""
    return replace(SEED, name=name, **fields)


#: One change at a time from the seed's recipe, then the combinations of what won.
CHANGES = {
    "seed": SEED,
    "full_resolution": change("full_resolution", full_resolution=True),
    "cosine_schedule": change("cosine_schedule", schedule="cosine"),
    "batch_norm": change("batch_norm", batch_norm=True),                  # Keras' momentum 0.99
    "batch_norm_0.9": change("batch_norm_0.9", batch_norm=0.9),
    "augment": change("augment", augment=True),
    "dice_loss": change("dice_loss", loss="dice"),
    "30_epochs": change("30_epochs", epochs=30),                         # best-laptop before this benchmark
    "batch_norm_0.9+30_epochs": change("batch_norm_0.9+30_epochs", batch_norm=0.9, epochs=30),
    "batch_norm_0.9+full_resolution+30_epochs": change(                  # best-laptop now
        "batch_norm_0.9+full_resolution+30_epochs", batch_norm=0.9, full_resolution=True, epochs=30),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=Path, default=Path("../shared/real_tiles"))
    parser.add_argument("--changes", nargs="+", default=list(CHANGES), choices=list(CHANGES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[42, 43, 44])
    parser.add_argument("--epochs", type=int, default=None, help="most epochs (default: the profile's)")
    parser.add_argument("--profile", default="laptop")
    parser.add_argument("--json", type=Path, default=None, help="also write the JSON here (after each run)")
    return parser.parse_args(argv)


def full_size_dice(recipe, model, native, prof, flips):
    """Validation Dice at the tiles' own resolution, with or without flips at test time."""
    recipe = replace(recipe, flips=flips)
    if recipe.full_resolution:
        tiles = quarter_tiles(native, prof.image_size)
        probs = predict_with_recipe(recipe, model, tiles, prof.batch_size)
        return score_predictions(tiles.masks, probs)["dice"]
    small = resize_tiles(native, prof.image_size)
    probs = predict_with_recipe(recipe, model, small, prof.batch_size)
    side = native.images.shape[1]
    probs = tf.image.resize(probs[..., None], (side, side), method="bilinear").numpy()[..., 0]
    return score_predictions(native.masks, probs)["dice"]


def building_f1(run_dir, scenes, folder):
    """Per-building precision, recall and F1 of the run's model over ``scenes`` (watershed instances)."""
    out = Path(folder) / "footprints"
    predict_images([image for image, _, _ in scenes], Path(run_dir) / "best.keras", out,
                   instances="watershed", progress=False)
    return score(scenes, out)["all"]


def summary(values):
    return {"median": round(statistics.median(values), 4), "min": round(min(values), 4),
            "max": round(max(values), 4), "n": len(values)} if values else None


def changes_summary(runs):
    """Per change (in CHANGES' order): median and range of each figure over its seeds."""
    return {n: {key: summary([r[key] for r in runs if r["change"] == n])
                for key in ("dice", "f1", "dice_flips", "seconds", "f1_seconds")}
            for n in CHANGES if any(r["change"] == n for r in runs)}


def cpu_name():
    """The processor's model name (Linux), else the architecture."""
    cpuinfo = Path("/proc/cpuinfo")
    for line in cpuinfo.read_text().splitlines() if cpuinfo.is_file() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine():
    return {"cpu": cpu_name(), "cores": os.cpu_count(),
            "load_average": [round(x, 2) for x in os.getloadavg()], "python": sys.version.split()[0],
            "tensorflow": tf.__version__, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def spread(figure, percent=False):
    """``median (min-max)`` of a summary, as a fraction or in percent."""
    if not figure:
        return "-"
    if percent:
        return f"{100 * figure['median']:.1f} % ({100 * figure['min']:.1f}-{100 * figure['max']:.1f})"
    return f"{figure['median']:.3f} ({figure['min']:.3f}-{figure['max']:.3f})"


def markdown(report):
    lines = ["| change | seeds | val Dice median (min-max) | building F1 median (min-max) | s / run |",
             "|---|---|---|---|---|"]
    for name, row in report["changes"].items():
        if not row["dice"]:
            continue
        lines.append(f"| {name} | {row['dice']['n']} | {spread(row['dice'])} | {spread(row['f1'], True)} | "
                     f"{row['seconds']['median']:.0f} |")
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    if not (args.tiles / "training").is_dir():
        print(f"error: {args.tiles} has no training/ folder; expected the real tiles there", file=sys.stderr)
        return 1
    base = profile(args.profile)
    train, val = load_tiles(args.tiles, "training"), load_tiles(args.tiles, "validation")
    half = Splits(resize_tiles(train, base.image_size), resize_tiles(val, base.image_size),
                  resize_tiles(val, base.image_size))
    full = Splits(train, val, val)
    report = {"machine": machine(), "profile": base.name, "epochs": args.epochs or base.epochs,
              "train_tiles": len(train), "validation_tiles": len(val), "runs": [], "changes": {}}
    if args.json and args.json.is_file():                   # resume: keep the runs already measured
        earlier = json.loads(args.json.read_text())
        if earlier.get("epochs") != report["epochs"]:
            print(f"error: {args.json} holds runs of {earlier.get('epochs')} epochs, not "
                  f"{report['epochs']}; give its --epochs or another --json", file=sys.stderr)
            return 1
        report["runs"] = earlier["runs"]
        report["earlier_machines"] = earlier.get("earlier_machines", []) + [earlier["machine"]]
    done = {(r["change"], r["seed"]) for r in report["runs"]}
    with tempfile.TemporaryDirectory() as mosaics:
        scenes = validation_scenes(args.tiles, Path(mosaics))
        for seed in args.seeds:
            for name in args.changes:
                if (name, seed) not in done:
                    run_one(report, name, replace(base, seed=seed), args, full, half, val, scenes)
                    if args.json:
                        args.json.write_text(json.dumps(report, indent=2) + "\n")
    report["changes"] = changes_summary(report["runs"])
    print(json.dumps(report, indent=2))
    print(markdown(report))
    return 0


def run_one(report, name, prof, args, full, half, val, scenes):
    """Train one change with one seed; add its figures to ``report``."""
    recipe = CHANGES[name]
    with tempfile.TemporaryDirectory() as folder:
        result = train_unet(prof, Path(folder) / "run", verbose=0, epochs=args.epochs,
                            data=full if recipe.full_resolution else half,
                            source=f"tiles:{args.tiles}", recipe=recipe)
        start = time.perf_counter()
        buildings = building_f1(Path(folder) / "run", scenes, folder)
        run = {"change": name, "seed": prof.seed, "seconds": result.metadata["seconds"],
               "epochs_run": result.metadata["epochs_run"], "best_epoch": result.metadata["best_epoch"],
               "dice": round(full_size_dice(recipe, result.model, val, prof, False), 4),
               "dice_flips": round(full_size_dice(recipe, result.model, val, prof, True), 4),
               "f1": buildings["f1"], "buildings": buildings,
               "f1_seconds": round(time.perf_counter() - start, 1),
               "load_average": round(os.getloadavg()[0], 2)}
    report["runs"].append(run)
    print(json.dumps(run), flush=True)
    report["changes"] = changes_summary(report["runs"])
    report["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]


if __name__ == "__main__":
    sys.exit(main())
