"""Georeferenced rasters through rasterio: what to read, how the outputs look.

The prediction loop is in :mod:`psp_plugin.inference.raster_prediction`; this
module answers the questions around it: is a file a raster, which bands feed
the model, the output profiles (same CRS, transform, size and tiling as the
input; a colour table with the class palette; nodata kept) and the ground
area of a pixel.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

__all__ = ['RASTER_SUFFIXES', 'label_dtype_and_nodata', 'label_profile', 'model_bands', 'open_raster',
           'pixel_area_m2', 'probability_profile', 'warn_if_no_crs']

#: Suffixes read through rasterio (GDAL).
RASTER_SUFFIXES = ('.tif', '.tiff', '.img', '.jp2', '.vrt')
_TILE_KEYS = ('tiled', 'blockxsize', 'blockysize')


@contextmanager
def open_raster(path: str | Path) -> Iterator:
    """Open ``path`` with rasterio, without its warning about missing georeferencing."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    with warnings.catch_warnings():
        warnings.simplefilter('ignore', NotGeoreferencedWarning)
        try:
            dataset = rasterio.open(path)
        except RasterioIOError as error:
            raise ValueError(f'{path} cannot be opened as a raster ({error}); pass a GeoTIFF or '
                             'another GDAL-readable raster') from error
    with dataset:
        yield dataset


def is_georeferenced(path: str | Path) -> bool:
    """True when ``path`` opens with rasterio and has a CRS, GCPs or a non-identity transform."""
    from affine import Affine

    try:
        with open_raster(path) as dataset:
            return dataset.crs is not None or bool(dataset.gcps[0]) or dataset.transform != Affine.identity()
    except ValueError:
        return False


def warn_if_no_crs(dataset, path: str | Path) -> None:
    """Warn (documented behaviour) that ``path`` has no CRS: outputs carry none and areas are pixels."""
    if dataset.crs is None:
        warnings.warn(
            f'{path} has no CRS: the label GeoTIFF is written without one (same size and transform) '
            'and areas are reported in pixels only; assign the CRS to the input (e.g. '
            '`gdal_edit.py -a_srs EPSG:32633 FILE`) to get georeferenced output', UserWarning, stacklevel=3)


def model_bands(dataset, channels: int, path: str | Path) -> list[int]:
    """1-based band indexes that feed the model: every band except alpha bands.

    Raises:
        ChannelMismatchError: When their number is not ``channels``.
    """
    from rasterio.enums import ColorInterp

    from .network_input import ChannelMismatchError

    bands = [index for index, interp in zip(dataset.indexes, dataset.colorinterp)
             if interp != ColorInterp.alpha]
    if len(bands) != channels:
        raise ChannelMismatchError(
            f'{path} has {len(bands)} band(s) (alpha bands excluded) but the model was trained on '
            f'{channels}; pass a raster with {channels} band(s) in the training order, e.g. '
            f'`gdal_translate -b 1 ... -b {channels} IN OUT`')
    return bands


def label_dtype_and_nodata(num_classes: int) -> tuple[str, int]:
    """('uint8', 255) up to 255 classes, else ('uint16', 65535): nodata never equals a class."""
    return ('uint8', 255) if num_classes < 255 else ('uint16', 65535)


def _same_layout(dataset) -> dict:
    profile = dataset.profile
    layout = {key: profile[key] for key in _TILE_KEYS if key in profile}
    if not layout.get('tiled') and layout.get('blockxsize') != dataset.width:
        layout = dict(tiled=True, blockxsize=256, blockysize=256)
    layout['compress'] = profile.get('compress', 'deflate')
    return layout


def label_profile(dataset, num_classes: int) -> dict:
    """GeoTIFF profile of the label raster: the input's CRS, transform, size and tiling, one band."""
    dtype, nodata = label_dtype_and_nodata(num_classes)
    return dict(driver='GTiff', width=dataset.width, height=dataset.height, count=1, dtype=dtype,
                crs=dataset.crs, transform=dataset.transform, nodata=nodata, **_same_layout(dataset))


def probability_profile(dataset, num_classes: int) -> dict:
    """GeoTIFF profile of the per-class probability raster (float32, NaN where the input is nodata)."""
    return dict(driver='GTiff', width=dataset.width, height=dataset.height, count=num_classes,
                dtype='float32', crs=dataset.crs, transform=dataset.transform, nodata=float('nan'),
                **_same_layout(dataset))


def write_colour_table(destination, palette: np.ndarray) -> None:
    """Give band 1 of ``destination`` the class colours; index ``nodata`` is transparent."""
    colours = {index: (int(r), int(g), int(b), 255) for index, (r, g, b) in enumerate(palette.tolist())}
    colours[int(destination.nodata)] = (0, 0, 0, 0)
    destination.write_colormap(1, colours)


def pixel_area_m2(dataset) -> float | None:
    """Ground area of one pixel in m^2 for a projected CRS, else ``None`` (geographic or no CRS)."""
    crs = dataset.crs
    if crs is None or not crs.is_projected:
        return None
    transform = dataset.transform
    _, metres_per_unit = crs.linear_units_factor
    return abs(transform.a * transform.e - transform.b * transform.d) * metres_per_unit ** 2
