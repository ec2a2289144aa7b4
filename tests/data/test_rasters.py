"""GeoTIFF rasters: tiles that cover the raster, spatial bands, nodata, CRS/transform checks."""

import numpy as np
import pytest

from psp_plugin.data import import_dataset
from psp_plugin.data.rasters import tile_offsets

from .test_import_errors import refused

rasterio = pytest.importorskip('rasterio')
from rasterio.transform import from_origin  # noqa: E402


def _raster(path, array, crs='EPSG:32633', transform=None, nodata=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    bands = array[None] if array.ndim == 2 else np.moveaxis(array, -1, 0)
    with rasterio.open(
        path,
        'w',
        driver='GTiff',
        height=bands.shape[1],
        width=bands.shape[2],
        count=bands.shape[0],
        dtype=str(bands.dtype),
        crs=crs,
        nodata=nodata,
        transform=transform or from_origin(500000, 4000000, 0.5, 0.5),
    ) as dst:
        dst.write(bands)


def _scene(height=160, width=96):
    rng = np.random.default_rng(0)
    mask = np.zeros((height, width), np.uint8)
    for top in range(0, height, 20):
        mask[top + 4 : top + 12, 10:30] = 255  # buildings, 0/255
        mask[top + 2 : top + 9, 60:70] = 255
    image = (mask[..., None] * 20 + rng.integers(100, 900, (height, width, 4))).astype(np.uint16)
    return image, mask


def test_tile_offsets_cover_the_raster():
    assert (
        tile_offsets(100, 32) == [0, 32, 64, 68]
        and tile_offsets(20, 32) == [0]
        and tile_offsets(64, 32) == [0, 32]
    )


def test_geotiff_is_tiled_split_in_bands_and_nodata_ignored(tmp_path):
    image, mask = _scene()
    image[:16, :16] = 0  # a nodata corner
    _raster(tmp_path / 'geo' / 'images' / 'scene.tif', image, nodata=0)
    _raster(tmp_path / 'geo' / 'masks' / 'scene.tif', mask)
    prepared = import_dataset(tmp_path / 'geo', tmp_path / 'out', tile_size=16)
    assert prepared.kind == 'rasters' and prepared.channels == 4 and prepared.spacing == [0.5, 0.5]
    assert any('0/255 were mapped' in n for n in prepared.notes)
    assert 'scene_r000_c000' not in sum(prepared.splits.values(), [])  # all nodata: skipped
    rows = {s: {int(n.split('_r')[1][:3]) for n in names} for s, names in prepared.splits.items()}
    assert all(rows.values()) and not (rows['train'] & (rows['val'] | rows['test']))
    for row in rows['train']:  # one tile row of gap to other splits
        assert not ({row - 1, row + 1} & (rows['val'] | rows['test']))


def test_nodata_pixels_stay_out_of_the_fingerprint_intensities(tmp_path):
    import json
    image, mask = _scene()
    image[:, :5] = 0  # a nodata strip inside every tile of the first tile column
    _raster(tmp_path / 'geo' / 'images' / 'scene.tif', image, nodata=0)
    _raster(tmp_path / 'geo' / 'masks' / 'scene.tif', mask)
    import_dataset(tmp_path / 'geo', tmp_path / 'out', tile_size=16)
    fingerprint = json.loads((tmp_path / 'out' / 'fingerprint.json').read_text())
    for split in ('train', 'val', 'test'):
        intensity = fingerprint[split]['intensity']
        assert min(intensity['min']) >= 100  # the scene's values; 0 is nodata
        assert fingerprint[split]['ignore_pixels'] > 0  # nodata pixels are ignored in the masks


def test_mask_raster_with_another_crs(tmp_path):
    image, mask = _scene(64, 64)
    _raster(tmp_path / 'g' / 'images' / 'a.tif', image)
    _raster(tmp_path / 'g' / 'masks' / 'a.tif', mask, crs='EPSG:4326')
    refused(
        tmp_path / 'g',
        tmp_path / 'out',
        r'masks/a.tif: has CRS EPSG:4326 but its raster a.tif has EPSG:32633',
    )


def test_mask_raster_with_another_transform(tmp_path):
    image, mask = _scene(64, 64)
    _raster(tmp_path / 'g' / 'images' / 'a.tif', image)
    _raster(tmp_path / 'g' / 'masks' / 'a.tif', mask, transform=from_origin(500010, 4000000, 0.5, 0.5))
    refused(tmp_path / 'g', tmp_path / 'out', r'masks/a.tif: has the transform .* not aligned')
