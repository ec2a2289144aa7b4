"""Georeferenced rasters (GeoTIFF) and mask rasters cut into tiles with rasterio.

Tiles are ``tile_size`` pixels square and cover the raster completely: the
last row and column of tiles are shifted back inside the raster (they
overlap their neighbours) instead of being padded or dropped. A raster
smaller than a tile gives one tile of its size. Pixels that are nodata in
every band of the image become ignore pixels; tiles that are all nodata are
skipped. The mask raster must have the image's size, CRS and transform.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from .errors import import_error
from .layouts import Pair
from .masks import raw_mask_from_array
from .samples import Sample, SampleOptions

__all__ = ['tile_offsets', 'raster_samples', 'open_raster']

NODATA_NOTE = (
    'raster pixels that are nodata in every band became ignore pixels; all-nodata tiles were skipped'
)


def tile_offsets(length: int, tile: int) -> list[int]:
    """Start offsets of tiles of ``tile`` pixels covering ``0..length`` (last one shifted back)."""
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile + 1, tile))
    if starts[-1] + tile < length:
        starts.append(length - tile)
    return starts


def open_raster(path: Path):
    """Open a raster with rasterio, naming the file and the fix on failure."""
    try:
        import rasterio
    except ImportError as error:
        raise import_error(
            path, 'is a georeferenced raster but rasterio is not installed', 'pip install "psp_plugin[geo]"'
        ) from error
    try:
        return rasterio.open(path)
    except rasterio.errors.RasterioIOError as error:
        raise import_error(
            path,
            f'cannot be read as a raster ({error})',
            're-export or re-copy the raster, or remove it with its mask',
        ) from error


def _check_alignment(image, mask, pair: Pair) -> None:
    if (mask.height, mask.width) != (image.height, image.width):
        raise import_error(
            pair.mask,
            f'is {mask.height}x{mask.width} pixels but its raster {pair.images[0].name} '
            f'is {image.height}x{image.width}',
            "export the mask raster on the image's pixel grid",
        )
    if mask.crs != image.crs:
        raise import_error(
            pair.mask,
            f'has CRS {mask.crs} but its raster {pair.images[0].name} has {image.crs}',
            "reproject the mask raster to the image's CRS and grid (e.g. gdalwarp with "
            "-r near and the image's -te/-tr), or fix the metadata",
        )
    if not mask.transform.almost_equals(image.transform, precision=1e-6):
        raise import_error(
            pair.mask,
            f'has the transform {tuple(mask.transform)[:6]} but its raster '
            f'{pair.images[0].name} has {tuple(image.transform)[:6]}: the pixels are not aligned',
            "resample the mask raster onto the image's grid (nearest-neighbour)",
        )


def raster_samples(pair: Pair, options: SampleOptions, notes: set[str]) -> Iterator[Sample]:
    """Yield the tiles of one raster and its mask raster.

    Args:
        pair (Pair): The image raster and the mask raster.
        options (SampleOptions): ``tile_size``; ``spacing`` is set to the pixel size.
        notes (set[str]): Receives what was done.

    Yields:
        Sample: (T, T, C) image tile, its raw mask tile, nodata pixels; position (row, col).
    """
    from rasterio.windows import Window

    if len(pair.images) != 1:
        raise import_error(
            pair.images[0], 'is one of several channel files of a raster', 'stack the bands into one GeoTIFF'
        )
    with open_raster(pair.images[0]) as image, open_raster(pair.mask) as mask:
        _check_alignment(image, mask, pair)
        if options.spacing is None:
            options.spacing = [abs(float(image.transform.e)), abs(float(image.transform.a))]
        tile = options.tile_size
        rows, cols = tile_offsets(image.height, tile), tile_offsets(image.width, tile)
        notes.add(
            f'rasters were cut into tiles of {tile}x{tile} pixels (edge tiles shifted inside the raster)'
        )
        for r, top in enumerate(rows):
            for c, left in enumerate(cols):
                window = Window(left, top, min(tile, image.width), min(tile, image.height))
                try:
                    pixels = np.moveaxis(image.read(window=window), 0, -1)
                    labels = np.moveaxis(mask.read(window=window), 0, -1)
                except Exception as error:  # rasterio raises its own errors for broken blocks
                    raise import_error(
                        pair.images[0],
                        f'cannot be read at tile ({r}, {c}) ({error})',
                        're-export or re-copy the raster',
                    ) from error
                invalid = None
                if image.nodata is not None:
                    invalid = np.all(pixels == image.nodata, axis=2)
                    if invalid.all():
                        notes.add(NODATA_NOTE)
                        continue
                    if invalid.any():
                        notes.add(NODATA_NOTE)
                    else:
                        invalid = None
                yield Sample(
                    f'{pair.name}_r{r:03d}_c{c:03d}',
                    pair.name,
                    (r, c),
                    pair.split,
                    np.ascontiguousarray(pixels),
                    raw_mask_from_array(labels, pair.mask),
                    invalid,
                    source=f'{pair.images[0]} tile ({r}, {c})',
                    mask_file=pair.mask,
                )
