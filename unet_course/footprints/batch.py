"""Many scenes: one task per scene, in this process or on a Dask cluster, resumable (lesson 10).

A county is hundreds of scenes, a state thousands. ``unet-course predict``
treats each scene as one task (:func:`predict_one`): read the image, predict
it in blended windows, write the probability and the mask (Cloud-Optimized
GeoTIFFs), trace the polygons, separate touching buildings, write the
footprints; last of all ``NAME_scene.json``, the scene's record. A scene
whose record exists, whose outputs are all there and whose settings are this
run's is complete: ``--resume`` skips it (:func:`scene_done`), so a run that
was interrupted, or lost a machine, continues where it stopped.

The tasks run here one after the other, or on the cluster of
:func:`unet_course.cluster.dask_client` (``--workers N`` on this machine,
``--scheduler ADDRESS`` on an existing one, whose workers must see the same
files), with a progress bar over the scenes.
"""
from __future__ import annotations

import json
import math
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

from unet_course.footprints import FootprintError

__all__ = ["OUTPUTS", "scene_paths", "scene_done", "predict_one", "predict_many"]

#: What ``predict`` writes for a scene ``NAME``, after ``NAME_``; the record ``scene.json`` comes last.
OUTPUTS = ("probability.tif", "mask.tif", "footprints.geojson", "footprints.gpkg")
RECORD = "scene.json"


def scene_paths(out, image):
    """``{output: path}`` of one scene's files in ``out``, its record under ``"scene.json"``."""
    stem = Path(image).stem
    return {key: Path(out) / f"{stem}_{key}" for key in OUTPUTS + (RECORD,)}


def scene_done(out, image, settings):
    """The record of a complete scene predicted with ``settings``, or None (then it is predicted).

    Raises :class:`FootprintError` when the scene is complete but was
    predicted with other settings (resuming would mix two runs).
    """
    paths = scene_paths(out, image)
    if not all(path.is_file() for path in paths.values()):
        return None
    try:
        record = json.loads(paths[RECORD].read_text())
    except (OSError, ValueError):
        return None
    if record.get("settings") != settings:
        changed = sorted(key for key in settings if record.get("settings", {}).get(key) != settings[key])
        raise FootprintError(f"{paths[RECORD]}: this scene was predicted with other settings "
                             f"({', '.join(changed)}); use --overwrite, or another --out")
    return record


@lru_cache(maxsize=2)
def _model(weights, modified):
    """The model of ``weights``, loaded once per process (a worker keeps it for its next scenes)."""
    from unet_course.accelerator import inference_model
    from unet_course.footprints.scene import load_model

    model, scale = load_model(weights)
    return inference_model(model), scale    # the precision measured fastest here (lesson 8)


def _pixel_size(path):
    """Side of a (square-ish) pixel of a raster, in map units (1 without georeference)."""
    import rasterio

    with rasterio.open(path) as dataset:
        t = dataset.transform
        return math.sqrt(abs(t.a * t.e - t.b * t.d))


def predict_one(job):
    """Predict one scene into its outputs (a task: runs here or on a Dask worker; lesson 10).

    ``job`` holds ``image``, ``out``, ``batch_size`` and ``settings`` (weights,
    overlap, threshold, min_area_px, simplify_px, regularise, instances: what
    the outputs depend on); ``progress`` shows a bar over the windows. Returns the scene's record,
    also written to ``NAME_scene.json`` once every output is complete.
    """
    from unet_course.footprints.inference import predict_scene
    from unet_course.footprints.instances import split_touching
    from unet_course.footprints.polygons import clean_polygons, raster_polygons
    from unet_course.footprints.vectors import write_layers

    start = time.perf_counter()
    image, settings = Path(job["image"]), job["settings"]
    weights = Path(settings["weights"])
    model, scale = _model(str(weights), weights.stat().st_mtime_ns)
    paths = scene_paths(job["out"], image)
    stats = predict_scene(model, image, paths["probability.tif"], paths["mask.tif"], scale,
                          settings["overlap"], settings["threshold"], job["batch_size"],
                          job.get("progress", False))
    polygons, crs = raster_polygons(paths["mask.tif"])
    pixel = _pixel_size(paths["mask.tif"])
    traced = len(polygons)
    if settings["instances"] == "watershed":
        polygons = split_touching(polygons, paths["probability.tif"], min_core=settings["min_area_px"])
    polygons = clean_polygons(polygons, settings["min_area_px"] * pixel ** 2,
                              settings["simplify_px"] * pixel / scale, settings["regularise"])
    fields = {"id": np.arange(len(polygons), dtype=np.int64),
              "area": np.array([p.area for p in polygons], float)}
    for key in ("footprints.geojson", "footprints.gpkg"):
        write_layers(paths[key], {"footprints": (polygons, fields)}, crs)
    stats.update(image=str(image), buildings=len(polygons), regions=traced,
                 outputs={key: str(paths[key]) for key in OUTPUTS},
                 seconds=round(time.perf_counter() - start, 2))
    record = {"settings": settings, "stats": stats}
    partial = paths[RECORD].with_name(f".{paths[RECORD].name}.partial")
    partial.write_text(json.dumps(record, indent=2) + "\n")
    partial.replace(paths[RECORD])
    return record


def _message(error):
    """One line for a failed scene: our own errors as they are, others by their kind only."""
    from unet_course.data.errors import DatasetError

    if isinstance(error, (FootprintError, DatasetError)):
        return str(error)
    return f"{type(error).__name__} while predicting it"


def _say_nodata(record):
    """The no-data warning of a scene predicted on a worker, said here (a worker's warnings stay there)."""
    import warnings

    from unet_course.footprints import FootprintWarning
    from unet_course.footprints.inference import nodata_note

    count = record["stats"]["nodata_pixels"]
    if count:
        warnings.warn(nodata_note(record["stats"]["image"], count), FootprintWarning, stacklevel=2)


def predict_many(jobs, workers=None, scheduler=None, progress=True, skipped=0):
    """Run :func:`predict_one` on every job; return ``(records, failures)`` (lesson 10).

    ``workers`` / ``scheduler``: on a local Dask cluster of that many
    workers, or on the scheduler at that address; neither: here, one scene
    after the other (with a bar over each scene's windows when there is only
    one). The bar over the scenes counts ``skipped`` ones (complete already)
    as done. ``failures`` maps an image to its one-line error; the other
    scenes are complete all the same.
    """
    from tqdm.auto import tqdm

    from unet_course.data.errors import DatasetError

    records, failures = {}, {}
    total = len(jobs) + skipped
    bar = tqdm(total=total, initial=skipped, desc="scenes", unit="scene",
               disable=not progress or total < 2)
    with bar:
        if workers is None and scheduler is None:
            for job in jobs:
                try:
                    records[job["image"]] = predict_one({**job, "progress": progress and total == 1})
                except (FootprintError, DatasetError, OSError) as error:
                    failures[job["image"]] = _message(error)
                bar.update(1)
            return records, failures
        from unet_course.cluster import completed, dask_client

        try:
            with dask_client(workers or 1, scheduler) as client:
                names = [job["image"] for job in jobs]
                for image, record, error in completed(client, predict_one, jobs, names, "predict"):
                    if error is None:
                        records[image] = record
                        _say_nodata(record)
                    else:
                        failures[image] = _message(error)
                    bar.update(1)
        except ConnectionError as error:
            raise FootprintError(str(error)) from None
    return records, failures
