"""``unet-course predict`` and ``unet-course evaluate-footprints`` (lesson 10).

::

    unet-course predict IMAGE.tif [IMAGE2.tif ...] --weights RUN/best.keras --out DIR
                        [--overwrite | --resume] [--workers N | --scheduler ADDRESS]
                        [--instances watershed|none]
    unet-course evaluate-footprints PRED.gpkg TRUTH.geojson|TRUTH.gpkg|LABELS.tif [--out DIR]
                        [--label-rule threshold|truncate]

Images follow the course's image rule (3 bands of whole numbers 0-255: uint8
or the seed's float32 with its nodata; :func:`unet_course.data.geotiff.image_pixels`),
label rasters its label rule (coverage in [0, 1], 0/1 or 0/255). ``predict``
writes, for each image ``NAME``, into ``DIR``: ``NAME_probability.tif``
(float32) and ``NAME_mask.tif`` (0/1), Cloud-Optimized GeoTIFFs on the
image's grid; ``NAME_footprints.geojson`` and ``NAME_footprints.gpkg``
(polygons with ``id`` and ``area``, in the image's CRS, touching buildings
separated); ``NAME_scene.json``, the scene's record, last; and
``summary.json`` for all images. Each scene is one task, here or on a Dask
cluster (:mod:`~unet_course.footprints.batch`). ``evaluate-footprints``
prints the per-building scores and writes ``building_scores.json``,
``missed.geojson``, ``invented.geojson`` and ``evaluation.gpkg``. An output
folder that exists is refused unless ``--overwrite`` (or, for ``predict``,
``--resume``); every file gets its name only when complete.
"""
from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path


from unet_course.data.tiles import LABEL_RULES
from unet_course.footprints import FootprintError, FootprintWarning
from unet_course.validate import probability, whole_number

__all__ = ["MIN_AREA_PX", "SIMPLIFY_PX", "predict_images", "building_table",
           "add_footprint_commands", "run_predict", "run_evaluate_footprints"]

#: Default area filter, in source pixels (about 22 m² at the real data's 1.17 m).
MIN_AREA_PX = 16
#: Default of ``--instances``: how touching buildings are told apart (measured in docs/footprints.md).
INSTANCES = "watershed"
#: Default simplification tolerance, in pixels of the model's resolution (2 source pixels for a
#: ``laptop`` model, whose mask edges step by 2 source pixels).
SIMPLIFY_PX = 1.0


def _check_out(out, overwrite, options="--overwrite"):
    out = Path(out)
    if out.exists() and not overwrite:
        raise FootprintError(f"{out} exists; choose another output folder or pass {options}")
    if out.exists() and not out.is_dir():
        raise FootprintError(f"{out} is a file; expected an output folder")
    return out


def _make_folder(out):
    """Create the output folder, or say in one line why it cannot be."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise FootprintError(f"{out}: cannot create the output folder ({error.strerror or 'refused'})"
                             "; choose a folder you can write to") from None


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
                   batch_size=8, progress=True, instances=INSTANCES, resume=False, workers=None,
                   scheduler=None):
    """Footprints of every image into ``out`` (``unet-course predict``, lesson 10).

    ``min_area_px`` is in source pixels, ``simplify_px`` in pixels of the
    model's resolution (source pixels divided by the scale), both converted to
    map units with each image's pixel size. ``instances`` is ``"watershed"``
    (touching buildings separated, :mod:`~unet_course.footprints.instances`)
    or ``"none"``. Each scene is one task (:mod:`~unet_course.footprints.batch`),
    run here or on a Dask cluster (``workers``, ``scheduler``); ``resume``
    skips the scenes already complete in ``out``. Returns the summary written
    to ``out/summary.json``.
    """
    from unet_course.footprints.batch import predict_many, scene_done
    from unet_course.footprints.instances import INSTANCE_METHODS
    from unet_course.footprints.scene import load_model, model_window

    out = _check_out(out, overwrite or resume,
                     "--resume (skip the scenes already complete) or --overwrite")
    if not images:
        raise FootprintError("no image given; expected one or more IMAGE.tif")
    threshold = probability(threshold, "--threshold", error=FootprintError)
    batch_size = whole_number(batch_size, "--batch-size", error=FootprintError)
    if overlap is not None:
        overlap = whole_number(overlap, "--overlap", minimum=0, error=FootprintError)
    for value, name in ((min_area_px, "--min-area"), (simplify_px, "--simplify")):
        if not value >= 0:
            raise FootprintError(f"{name} must be a number >= 0, got {value!r}")
    if instances not in INSTANCE_METHODS:
        raise FootprintError(f"--instances {instances!r}: expected one of {', '.join(INSTANCE_METHODS)}")
    if workers is not None:
        workers = whole_number(workers, "--workers", error=FootprintError)
    _check_images(images)
    model, scale = load_model(weights)
    window = model_window(model, scale)[0]
    if overlap is not None and overlap >= window:
        raise FootprintError(f"--overlap {overlap} must be smaller than the window of {window} px")
    _check_images(images, window)
    settings = {"weights": str(Path(weights).resolve()), "overlap": overlap, "threshold": threshold,
                "min_area_px": min_area_px, "simplify_px": simplify_px, "regularise": regularise,
                "instances": instances}
    done = {str(image): scene_done(out, image, settings) for image in images} if resume else {}
    todo = [image for image in images if done.get(str(image)) is None]
    _make_folder(out)
    jobs = [{"image": str(image), "out": str(out), "settings": settings, "batch_size": batch_size}
            for image in todo]
    records, failures = predict_many(jobs, workers, scheduler, progress, len(images) - len(todo))
    if failures:
        first, message = next(iter(failures.items()))
        if len(images) == 1:
            raise FootprintError(message)
        raise FootprintError(f"{len(failures)} of {len(images)} scenes failed (the others are "
                             f"complete: --resume goes on from them); {first}: {message}")
    summary = {**settings, "scale": scale, "skipped": len(images) - len(todo), "images": [
        (records.get(str(image)) or done[str(image)])["stats"] for image in images]}
    partial = out / ".summary.partial.json"
    partial.write_text(json.dumps(summary, indent=2) + "\n")
    partial.replace(out / "summary.json")
    return summary


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
                         help="RGB rasters of whole numbers 0-255 (uint8, or the seed's float32)")
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
    predict.add_argument("--instances", choices=("watershed", "none"), default=INSTANCES,
                         help="separate touching buildings by a watershed on the probability "
                              f"(default {INSTANCES}), or keep the mask's regions (none)")
    predict.add_argument("--resume", action="store_true",
                         help="write into an existing --out, skipping the scenes already complete")
    where = predict.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None, metavar="N",
                       help="predict the scenes on a local Dask cluster of N worker processes")
    where.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="predict the scenes on the Dask cluster of this scheduler")
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
    evaluate.add_argument("--label-rule", choices=LABEL_RULES, default="threshold",
                          help="how a fractional label raster becomes buildings, as in training: "
                               "threshold (coverage >= 0.5, default) or truncate (only 1.0)")
    return {"predict": run_predict, "evaluate-footprints": run_evaluate_footprints}


def _say_warnings(caught):
    """Our warnings as one line each on stderr; those of libraries are not the user's to read."""
    said = set()
    for warning in caught:
        text = str(warning.message)
        if issubclass(warning.category, FootprintWarning) and text not in said:
            print(f"warning: {text}", file=sys.stderr)
            said.add(text)


def run_predict(args):
    """``unet-course predict``: footprints of each image, then a one-line summary per image."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = predict_images(args.images, args.weights, args.out, args.overwrite, args.overlap,
                                 args.threshold, args.min_area, args.simplify, args.regularise,
                                 args.batch_size, progress=not args.quiet,
                                 instances=args.instances, resume=args.resume,
                                 workers=args.workers, scheduler=args.scheduler)
    _say_warnings(caught)
    if summary["skipped"]:
        print(f"{summary['skipped']} scene(s) already complete in {args.out}: skipped")
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
    _make_folder(out)
    scores = evaluate_footprints(args.predicted, args.truth, out, args.iou, args.min_area,
                                 rule=args.label_rule)
    print(building_table(scores))
    print(f"\nWrote building_scores.json, missed.geojson, invented.geojson and evaluation.gpkg in {out}")
    return 0
