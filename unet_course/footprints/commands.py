"""``unet-course predict`` and ``unet-course evaluate-footprints`` (lesson 10).

::

    unet-course predict IMAGE.tif [IMAGE2.tif ...] --weights RUN/best.keras --out DIR [--overwrite]
    unet-course evaluate-footprints PRED.gpkg TRUTH.geojson|TRUTH.gpkg|LABELS.tif [--out DIR]

``predict`` writes, for each image ``NAME``, into ``DIR``:
``NAME_probability.tif`` (float32), ``NAME_mask.tif`` (0/1), both on the
image's grid, tiled and compressed; ``NAME_footprints.geojson`` and
``NAME_footprints.gpkg`` (polygons with ``id`` and ``area``, in the image's
CRS); and ``summary.json`` for all images. ``evaluate-footprints`` prints the
per-building scores and writes ``building_scores.json``, ``missed.geojson``,
``invented.geojson`` and ``evaluation.gpkg``. An output folder that exists is
refused unless ``--overwrite``; every file gets its name only when complete.
"""
from __future__ import annotations

import json
import math
import time
import warnings
from pathlib import Path

import numpy as np

from unet_course.footprints import FootprintError
from unet_course.validate import probability, whole_number

__all__ = ["MIN_AREA_PX", "SIMPLIFY_PX", "predict_images", "building_table",
           "add_footprint_commands", "run_predict", "run_evaluate_footprints"]

#: Default area filter, in source pixels (about 22 m² at the real data's 1.17 m).
MIN_AREA_PX = 16
#: Default simplification tolerance, in pixels of the model's resolution (2 source pixels for a
#: ``laptop`` model, whose mask edges step by 2 source pixels).
SIMPLIFY_PX = 1.0


def _check_out(out, overwrite):
    out = Path(out)
    if out.exists() and not overwrite:
        raise FootprintError(f"{out} exists; choose another output folder or pass --overwrite")
    if out.exists() and not out.is_dir():
        raise FootprintError(f"{out} is a file; expected an output folder")
    return out


def _check_images(images, window=None):
    """Open every image before any prediction, so a bad one fails before anything is written."""
    from unet_course.footprints.scene import check_fits, open_image

    stems = {}
    for image in images:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # the georeference warning comes with the prediction
            dataset, info = open_image(image)
        dataset.close()
        if window is not None:
            check_fits(info, window)
        stem = Path(image).stem
        if stem in stems:
            raise FootprintError(f"{image} and {stems[stem]} have the same name {stem!r}; "
                                 "their outputs would overwrite each other")
        stems[stem] = image


def predict_images(images, weights, out, overwrite=False, overlap=None, threshold=0.5,
                   min_area_px=MIN_AREA_PX, simplify_px=SIMPLIFY_PX, regularise=False,
                   batch_size=8, progress=True):
    """Footprints of every image into ``out`` (``unet-course predict``, lesson 10).

    ``min_area_px`` is in source pixels, ``simplify_px`` in pixels of the
    model's resolution (source pixels divided by the scale), both converted to
    map units with each image's pixel size. Returns the summary written to
    ``out/summary.json``.
    """
    from unet_course.accelerator import inference_model
    from unet_course.footprints.inference import predict_scene
    from unet_course.footprints.polygons import clean_polygons, raster_polygons
    from unet_course.footprints.scene import load_model, model_window
    from unet_course.footprints.vectors import write_layers

    out = _check_out(out, overwrite)
    if not images:
        raise FootprintError("no image given; expected one or more IMAGE.tif")
    threshold = probability(threshold, "--threshold", error=FootprintError)
    batch_size = whole_number(batch_size, "--batch-size", error=FootprintError)
    if overlap is not None:
        overlap = whole_number(overlap, "--overlap", minimum=0, error=FootprintError)
    for value, name in ((min_area_px, "--min-area"), (simplify_px, "--simplify")):
        if not value >= 0:
            raise FootprintError(f"{name} must be a number >= 0, got {value!r}")
    _check_images(images)
    model, scale = load_model(weights)
    model = inference_model(model)          # the precision measured fastest here (unet_course.accelerator)
    window = model_window(model, scale)[0]
    if overlap is not None and overlap >= window:
        raise FootprintError(f"--overlap {overlap} must be smaller than the window of {window} px")
    _check_images(images, window)
    out.mkdir(parents=True, exist_ok=True)
    summary = {"weights": str(weights), "scale": scale, "threshold": threshold,
               "min_area_px": min_area_px, "simplify_px": simplify_px, "regularise": regularise,
               "images": []}
    for image in images:
        start = time.perf_counter()
        stem = Path(image).stem
        names = {key: out / f"{stem}_{key}" for key in
                 ("probability.tif", "mask.tif", "footprints.geojson", "footprints.gpkg")}
        stats = predict_scene(model, image, names["probability.tif"], names["mask.tif"], scale,
                              overlap, threshold, batch_size, progress)
        polygons, crs = raster_polygons(names["mask.tif"])
        pixel = _pixel_size(names["mask.tif"])
        polygons = clean_polygons(polygons, min_area_px * pixel ** 2, simplify_px * pixel / scale,
                                  regularise)
        fields = {"id": np.arange(len(polygons), dtype=np.int64),
                  "area": np.array([p.area for p in polygons], float)}
        for key in ("footprints.geojson", "footprints.gpkg"):
            write_layers(names[key], {"footprints": (polygons, fields)}, crs)
        stats.update(image=str(image), buildings=len(polygons),
                     outputs={key: str(path) for key, path in names.items()},
                     seconds=round(time.perf_counter() - start, 2))
        summary["images"].append(stats)
    partial = out / ".summary.partial.json"
    partial.write_text(json.dumps(summary, indent=2) + "\n")
    partial.replace(out / "summary.json")
    return summary


def _pixel_size(path):
    """Side of a (square-ish) pixel of a raster, in map units (1 without georeference)."""
    import rasterio

    with rasterio.open(path) as dataset:
        t = dataset.transform
        return math.sqrt(abs(t.a * t.e - t.b * t.d))


def _percent(value):
    return "n/a" if value is None else f"{100 * value:.1f}%"


def building_table(scores):
    """The per-building scores as a few printed lines (``evaluate-footprints``)."""
    lines = [f"buildings: {scores['predicted']} predicted, {scores['truth']} true; "
             f"a match needs IoU >= {scores['iou_threshold']:g}, one to one",
             f"matched {scores['tp']}   invented {scores['fp']}   missed {scores['fn']}",
             f"precision {_percent(scores['precision'])}   recall {_percent(scores['recall'])}   "
             f"F1 {_percent(scores['f1'])}   mean IoU of matches "
             + ("n/a" if scores["mean_iou"] is None else f"{scores['mean_iou']:.3f}"),
             "recall by building area:"]
    for row in scores["by_size"]:
        span = f"{row['from']:g}+" if row["to"] is None else f"{row['from']:g}-{row['to']:g}"
        lines.append(f"  {span:>10} : {row['found']}/{row['buildings']} ({_percent(row['recall'])})")
    return "\n".join(lines)


def add_footprint_commands(commands):
    """Add ``predict`` and ``evaluate-footprints`` to the ``unet-course`` sub-command parsers."""
    predict = commands.add_parser("predict", help="footprints of whole GeoTIFF scenes")
    predict.add_argument("images", nargs="+", type=Path, metavar="IMAGE",
                         help="8-bit RGB rasters (GeoTIFF)")
    predict.add_argument("--weights", type=Path, required=True, metavar="FILE",
                         help="RUN/best.keras (the run's run.json gives the training resolution)")
    predict.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    predict.add_argument("--overwrite", action="store_true", help="write into an existing --out")
    predict.add_argument("--overlap", type=int, default=None, metavar="PX",
                         help="pixels shared by neighbouring windows (default: a quarter window)")
    predict.add_argument("--threshold", type=float, default=0.5,
                         help="probability above which a pixel is building (default 0.5)")
    predict.add_argument("--min-area", type=float, default=MIN_AREA_PX, metavar="PX",
                         help=f"drop buildings smaller than this many pixels (default {MIN_AREA_PX})")
    predict.add_argument("--simplify", type=float, default=SIMPLIFY_PX, metavar="PX",
                         help="simplification tolerance in pixels of the model's resolution "
                              f"(default {SIMPLIFY_PX:g})")
    predict.add_argument("--regularise", action="store_true", help="right-angle outlines")
    predict.add_argument("--batch-size", type=int, default=8, help="windows per model call")
    predict.add_argument("--quiet", action="store_true", help="no progress bars")
    evaluate = commands.add_parser("evaluate-footprints", help="per-building scores (SpaceNet)")
    evaluate.add_argument("predicted", type=Path, metavar="PRED", help="predicted .gpkg/.geojson")
    evaluate.add_argument("truth", type=Path, metavar="TRUTH",
                          help="true footprints (.geojson, .gpkg) or a label raster (.tif)")
    evaluate.add_argument("--out", type=Path, default=None, metavar="DIR",
                          help="where the scores and error layers go (default: PRED_evaluation)")
    evaluate.add_argument("--overwrite", action="store_true", help="write into an existing --out")
    evaluate.add_argument("--iou", type=float, default=0.5, help="IoU a match needs (default 0.5)")
    evaluate.add_argument("--min-area", type=float, default=0.0, metavar="AREA",
                          help="leave out true buildings smaller than this (map units²)")
    return {"predict": run_predict, "evaluate-footprints": run_evaluate_footprints}


def run_predict(args):
    """``unet-course predict``: footprints of each image, then a one-line summary per image."""
    summary = predict_images(args.images, args.weights, args.out, args.overwrite, args.overlap,
                             args.threshold, args.min_area, args.simplify, args.regularise,
                             args.batch_size, progress=not args.quiet)
    for stats in summary["images"]:
        print(f"{stats['image']}: {stats['buildings']} buildings, {stats['windows']} windows "
              f"in {stats['seconds']:.1f} s -> {args.out}")
    print(f"Wrote {args.out / 'summary.json'}")
    return 0


def run_evaluate_footprints(args):
    """``unet-course evaluate-footprints``: print the scores, write them and the error layers."""
    from unet_course.footprints.matching import evaluate_footprints

    out = args.out or args.predicted.with_name(f"{args.predicted.stem}_evaluation")
    out = _check_out(out, args.overwrite)
    scores = evaluate_footprints(args.predicted, args.truth, out, args.iou, args.min_area)
    print(building_table(scores))
    print(f"\nWrote building_scores.json, missed.geojson, invented.geojson and evaluation.gpkg in {out}")
    return 0
