"""Cloud-Optimized GeoTIFFs: the rasters ``unet-course predict`` writes (lesson 10).

A Cloud-Optimized GeoTIFF (COG) is an ordinary GeoTIFF laid out so that a
reader can fetch one part of it without the rest: tiled, with the tile index
at the start of the file and reduced-resolution *overviews* inside. QGIS and
GDAL open it as any GeoTIFF, draw a zoomed-out view from the overviews at
once, and read it over HTTP tile by tile. :func:`write_cog` turns a GeoTIFF
written strip by strip into one with ``rio-cogeo`` (overviews averaged for
probabilities, nearest for masks); :func:`is_cog` checks a file with the
same library's validator.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

__all__ = ["write_cog", "is_cog"]

#: Tile side of the COGs written (pixels).
COG_BLOCK = 256


def write_cog(source, out, resampling="nearest"):
    """Copy the GeoTIFF ``source`` into the Cloud-Optimized GeoTIFF ``out`` (lesson 10).

    Deflate-compressed in tiles of :data:`COG_BLOCK` px (with the floating-point
    predictor for float rasters), overviews made with ``resampling``
    (``"average"`` for probabilities, ``"nearest"`` for 0/1 masks). ``out``
    appears only when complete. Returns ``out``.
    """
    import rasterio
    from rio_cogeo.cogeo import cog_translate

    out = Path(out)
    partial = out.with_name(f".{out.stem}.cog-partial{out.suffix}")
    with rasterio.open(source) as dataset:
        floating = dataset.dtypes[0].startswith("float")
    profile = {"driver": "GTiff", "interleave": "pixel", "tiled": True, "blockxsize": COG_BLOCK,
               "blockysize": COG_BLOCK, "compress": "DEFLATE", "predictor": 3 if floating else 2}
    try:
        with warnings.catch_warnings():       # rio-cogeo's notes on nodata/alpha: not the user's
            warnings.simplefilter("ignore")
            cog_translate(source, partial, profile, overview_resampling=resampling, quiet=True,
                          in_memory=False)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return out


def is_cog(path):
    """Whether ``path`` is a valid Cloud-Optimized GeoTIFF (rio-cogeo's ``cog_validate``)."""
    from rio_cogeo.cogeo import cog_validate

    valid, _, _ = cog_validate(path, quiet=True)
    return bool(valid)
