"""Whole-scene prediction in overlapping, blended windows (lesson 10 "From aerial image to building footprints").

A U-Net sees one window at a time. Cut a large scene into windows that do not
overlap and every window border shows: pixels near a border see less context
(zero padding), so the probabilities jump there, a *seam*. Here windows
overlap, and each prediction is weighted by :func:`blend_weights`, a raised
cosine that is 1 in the middle of the window and close to 0 at its edge; the
weighted sum divided by the summed weights is the scene's probability. No
pixel's value then comes mostly from a window edge, so the seams vanish.

Memory stays bounded: the scene is processed one row of windows at a time,
and only the rows that later windows can still change are kept
(:func:`blended_strips`). :func:`predict_scene` reads windows from the image
on disk and writes the probability and mask GeoTIFFs strip by strip, so a
10,000 x 10,000 image needs about as much memory as a 2,000 x 2,000 one.
:func:`predict_array` does the same for an image in memory, and
:func:`predict_tiles` for a batch of 256 px tiles.
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from unet_course.footprints import FootprintError, FootprintWarning
from unet_course.footprints.cog import write_cog
from unet_course.footprints.scene import check_fits, model_window, open_image, read_window
from unet_course.validate import probability, whole_number

__all__ = ["window_starts", "blend_weights", "predict_windows", "blended_strips",
           "predict_array", "predict_tiles", "predict_scene", "BLOCK"]

#: Block side of the GeoTIFFs written (tiled, deflate-compressed).
BLOCK = 256


def window_starts(length, window, overlap, name="image"):
    """First pixels of windows of side ``window`` covering ``length`` with at least ``overlap`` shared.

    The first window starts at 0 and the last ends at ``length``; the others
    are spread evenly between them (lesson 10).

    Examples
    --------
    >>> window_starts(512, 256, 64).tolist()
    [0, 128, 256]
    """
    if length < window:
        raise FootprintError(f"{name} is {length} px across, smaller than one window of {window} px; "
                             "use a larger image (or a model trained on smaller tiles)")
    if not 0 <= overlap < window:
        raise FootprintError(f"overlap must be between 0 and the window side {window} - 1, got {overlap}")
    if length == window:
        return np.zeros(1, np.int64)
    count = math.ceil((length - window) / (window - overlap)) + 1
    return np.round(np.linspace(0, length - window, count)).astype(np.int64)


def blend_weights(window, overlap):
    """The weight of each pixel of a window's prediction: ``(window, window)`` float32 (lesson 10).

    A raised cosine rises from near 0 at the window's edge to 1 at ``overlap``
    pixels in, and stays 1 in the middle; without overlap every weight is 1.
    Never exactly 0, so a scene's border pixels (seen by one window only) keep
    their prediction.
    """
    if overlap == 0:
        return np.ones((window, window), np.float32)
    inward = np.minimum(np.arange(window) + 0.5, window - 0.5 - np.arange(window))
    ramp = np.clip(inward / overlap, 0.0, 1.0)
    side = 0.5 - 0.5 * np.cos(np.pi * ramp)
    return np.outer(side, side).astype(np.float32)


def _resize(batch, size, method):
    """Resize ``(n, h, w, c)`` to ``(n, size, size, c)`` with TensorFlow, as the training tiles were."""
    from unet_course.backend import tf

    return tf.image.resize(batch, (size, size), method=method).numpy()


def predict_windows(model, images, model_side=None):
    """Building probability of each window: ``(n, s, s)`` float32 for uint8 ``(n, s, s, 3)`` (lesson 10).

    Windows are scaled to [0, 1] as in training and, when the model's input
    side ``model_side`` differs from ``s``, resized to it (area average when
    shrinking, as ``load_data`` resized the tiles) and the probabilities resized
    back (bilinear).
    """
    from unet_course.data import scale_image

    side = images.shape[1]
    model_side = model_side or side
    x = scale_image(np.asarray(images))
    if model_side != side:
        x = _resize(x, model_side, "area" if model_side < side else "bilinear")
    probs = np.asarray(model.predict_on_batch(x), np.float32)
    if model_side != side:
        probs = _resize(probs, side, "bilinear")
    return np.clip(probs[..., 0], 0.0, 1.0)


def _options(window, overlap, batch_size):
    window = whole_number(window, "window", minimum=16, error=FootprintError)
    overlap = window // 4 if overlap is None else whole_number(overlap, "overlap", 0, FootprintError)
    return window, overlap, whole_number(batch_size, "batch_size", error=FootprintError)


def blended_strips(model, read, shape, window, overlap=None, batch_size=8, model_side=None,
                   progress=False):
    """Predict a scene window by window and yield its finished rows, top to bottom (lesson 10).

    Parameters
    ----------
    model : keras.Model
    read : callable
        ``read(row, col, size)`` returns the window's uint8 ``(size, size, 3)``
        pixels and a boolean valid-pixel mask (or None when all are valid).
    shape : (int, int)
        Scene height and width in pixels.
    window : int
        Window side in scene pixels.
    overlap : int, optional
        Pixels neighbouring windows share at least (default: a quarter window).
    batch_size : int
        Windows per model call.
    model_side : int, optional
        The model's input side, when windows are resized for it.
    progress : bool
        A tqdm bar over the windows.

    Yields
    ------
    (int, numpy.ndarray)
        The first row of a strip and its probabilities, float32 ``(rows, width)``;
        invalid (nodata) pixels are 0. At most about one window of rows is held.
    """
    from tqdm.auto import tqdm

    window, overlap, batch_size = _options(window, overlap, batch_size)
    height, width = shape
    rows = window_starts(height, window, overlap, "the image height")
    cols = window_starts(width, window, overlap, "the image width")
    weight = blend_weights(window, overlap)
    total = np.zeros((0, width), np.float32)
    weights = np.zeros((0, width), np.float32)
    done = 0
    with tqdm(total=len(rows) * len(cols), desc="windows", unit="window", disable=not progress) as bar:
        for k, row in enumerate(rows):
            grow = row + window - done - len(total)
            if grow > 0:
                total = np.concatenate([total, np.zeros((grow, width), np.float32)])
                weights = np.concatenate([weights, np.zeros((grow, width), np.float32)])
            top = row - done
            for start in range(0, len(cols), batch_size):
                batch = cols[start:start + batch_size]
                pieces = [read(int(row), int(col), window) for col in batch]
                probs = predict_windows(model, np.stack([p[0] for p in pieces]), model_side)
                for col, prob, (_, valid) in zip(batch, probs, pieces):
                    if valid is not None:
                        prob = np.where(valid, prob, 0.0)
                    total[top:top + window, col:col + window] += prob * weight
                    weights[top:top + window, col:col + window] += weight
                bar.update(len(batch))
            finished = int(rows[k + 1]) if k + 1 < len(rows) else height
            n = finished - done
            yield done, total[:n] / weights[:n]
            total, weights, done = total[n:], weights[n:], finished


def _array_reader(image, valid):
    def read(row, col, size):
        part = None if valid is None else valid[row:row + size, col:col + size]
        return image[row:row + size, col:col + size], part
    return read


def _check_rgb(image, name="image", nodata=None):
    """An RGB array in memory by the course's image rule: uint8 ``(H, W, 3)`` and valid mask or None."""
    from unet_course.data.errors import DatasetError
    from unet_course.data.geotiff import image_pixels

    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise FootprintError(f"{name} has shape {image.shape}; expected (height, width, 3) RGB")
    if image.dtype == np.uint8 and nodata is None:
        return image, None
    try:
        return image_pixels(np.moveaxis(image, -1, 0), nodata, name)
    except DatasetError as error:
        raise FootprintError(str(error)) from None


def predict_array(model, image, scale=1.0, overlap=None, batch_size=8, valid=None, progress=False,
                  nodata=None):
    """Probabilities of an RGB image in memory, predicted in blended windows (lesson 10).

    Parameters
    ----------
    model : keras.Model
        A U-Net; its input side (divided by ``scale``) is the window side.
    image : numpy.ndarray
        ``(H, W, 3)`` of whole numbers 0-255: uint8, or the seed's float32
        (the course's image rule, :func:`unet_course.data.geotiff.image_pixels`).
    scale : float
        Resampling factor the model was trained at (0.5 for a ``laptop`` run).
    overlap : int, optional
        Pixels neighbouring windows share (default a quarter window; 0: no blending).
    valid : numpy.ndarray, optional
        Boolean ``(H, W)``: False where the image has no data (predicted 0).
    nodata : float, optional
        The image's nodata value (the seed's -3.4e38): those pixels are no data too.

    Returns
    -------
    numpy.ndarray
        float32 ``(H, W)`` in [0, 1].
    """
    image, missing = _check_rgb(image, nodata=nodata)
    if missing is not None:
        valid = missing if valid is None else np.asarray(valid, bool) & missing
    window, side = model_window(model, scale)
    out = np.empty(image.shape[:2], np.float32)
    for row, strip in blended_strips(model, _array_reader(image, valid), image.shape[:2], window,
                                     overlap, batch_size, side, progress):
        out[row:row + len(strip)] = strip
    return out


def predict_tiles(model, images, scale=1.0, batch_size=8):
    """Probabilities of a batch of tiles ``(N, 256, 256, 3)``, each one window (lesson 10).

    The same resampling as for scenes: a ``laptop`` model (scale 0.5) sees each
    256 px tile shrunk to 128 px, and its probabilities come back at 256 px.
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise FootprintError(f"images has shape {images.shape}; expected (N, height, width, 3)")
    if len(images):
        images = np.stack([_check_rgb(image, f"images[{i}]")[0] for i, image in enumerate(images)])
    batch_size = whole_number(batch_size, "batch_size", error=FootprintError)
    side = int(round(images.shape[1] * scale))
    parts = [predict_windows(model, images[i:i + batch_size], side)
             for i in range(0, len(images), batch_size)]
    return np.concatenate(parts) if parts else np.zeros(images.shape[:3], np.float32)


def _profile(info, dtype, **extra):
    """GeoTIFF creation options: the source grid, tiled, deflate-compressed."""
    return dict(driver="GTiff", width=info.width, height=info.height, count=1, dtype=dtype,
                crs=info.crs, transform=info.transform, tiled=True, blockxsize=BLOCK,
                blockysize=BLOCK, compress="deflate", **extra)


class _BlockWriter:
    """Write strips of rows into two GeoTIFFs, in whole rows of blocks (so no block is rewritten)."""

    def __init__(self, probs_ds, mask_ds, threshold):
        self.probs_ds, self.mask_ds, self.threshold = probs_ds, mask_ds, threshold
        self.pending, self.row, self.building_pixels = [], 0, 0

    def add(self, strip, last=False):
        from rasterio.windows import Window

        self.pending.append(strip)
        rows = sum(len(part) for part in self.pending)
        keep = 0 if last else (self.row + rows) % BLOCK
        if rows - keep <= 0:
            return
        block = np.concatenate(self.pending)
        out, rest = block[:rows - keep], block[rows - keep:]
        self.pending = [rest] if len(rest) else []
        window = Window(0, self.row, out.shape[1], len(out))
        mask = (out > self.threshold).astype(np.uint8)
        self.probs_ds.write(out, 1, window=window)
        self.mask_ds.write(mask, 1, window=window)
        self.building_pixels += int(mask.sum())
        self.row += len(out)


def predict_scene(model, image_path, probability_path, mask_path, scale=1.0, overlap=None,
                  threshold=0.5, batch_size=8, progress=True):
    """Predict a raster on disk into a probability and a mask GeoTIFF on its grid (lesson 10).

    Windows are read from ``image_path`` and the two outputs written strip by
    strip (memory bounded by about one row of windows), then made
    Cloud-Optimized GeoTIFFs (:func:`~unet_course.footprints.cog.write_cog`:
    tiled, deflate-compressed, with overviews). Both have the source's size,
    CRS and transform, and appear under their names only when complete.

    Returns
    -------
    dict
        ``height``, ``width``, ``windows``, ``window``, ``overlap``,
        ``building_pixels``, ``nodata_pixels``, ``georeferenced``, ``crs``.
    """
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    threshold = probability(threshold, "threshold", error=FootprintError)
    dataset, info = open_image(image_path)
    window, side = model_window(model, scale)
    try:
        check_fits(info, window)
    except FootprintError:
        dataset.close()
        raise
    overlap = window // 4 if overlap is None else overlap
    paths = [Path(probability_path), Path(mask_path)]
    partial = [p.with_name(f".{p.stem}.partial{p.suffix}") for p in paths]
    nodata = 0
    try:
        with warnings.catch_warnings():           # no georeference: open_image said so already
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            probs_ds = rasterio.open(partial[0], "w", **_profile(info, "float32", predictor=3))
            mask_ds = rasterio.open(partial[1], "w", **_profile(info, "uint8"))
        with dataset, rasterio.Env(GDAL_CACHEMAX=64), probs_ds, mask_ds:
            writer = _BlockWriter(probs_ds, mask_ds, threshold)

            def read(row, col, size):
                return read_window(dataset, info, row, col, size)

            strips = blended_strips(model, read, (info.height, info.width), window, overlap,
                                    batch_size, side, progress)
            for row, strip in strips:
                last = row + len(strip) == info.height
                writer.add(strip, last=last)
            if info.has_nodata:
                nodata = _count_invalid(dataset, info)
        for done, path, resampling in zip(partial, paths, ("average", "nearest")):
            write_cog(done, path, resampling)
    finally:
        for path in partial:
            path.unlink(missing_ok=True)
    if nodata:
        warnings.warn(nodata_note(info.path, nodata), FootprintWarning, stacklevel=2)
    return {"height": info.height, "width": info.width, "window": window, "overlap": overlap,
            "model_side": side, "scale": scale,
            "windows": len(window_starts(info.height, window, overlap))
            * len(window_starts(info.width, window, overlap)),
            "building_pixels": writer.building_pixels, "nodata_pixels": nodata,
            "georeferenced": info.georeferenced, "crs": info.crs.to_string() if info.crs else None}


def nodata_note(path, count):
    """What ``predict`` says about a scene with ``count`` no-data pixels."""
    return f"{path}: {count:,} pixels have no data; they are predicted as no building"


def _count_invalid(dataset, info):
    """Pixels without data (the image rule's, and a mask band's), counted block row by block row."""
    from rasterio.windows import Window

    from unet_course.data.geotiff import no_data

    count = 0
    for row in range(0, info.height, BLOCK):
        window = Window(0, row, info.width, min(BLOCK, info.height - row))
        missing = no_data(dataset.read(window=window), info.nodata)
        if info.mask_band:
            missing |= dataset.dataset_mask(window=window) == 0
        count += int(missing.sum())
    return count

