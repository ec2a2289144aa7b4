"""GeoTIFF rasters: georeferencing, tiling, nodata, colour table, probabilities, block processing."""
import numpy as np
import pytest
import rasterio
from rasterio.crs import CRS
from rasterio.transform import from_origin

from psp_plugin.inference import ChannelMismatchError, predict
from psp_plugin.inference.raster_prediction import predict_raster

from .conftest import PALETTE, draw_scene, random_squares

UTM = CRS.from_epsg(32633)
TRANSFORM = from_origin(500_000.0, 4_600_000.0, 0.5, 0.5)


def write_geotiff(path, bgr: np.ndarray, *, crs=UTM, transform=TRANSFORM, nodata=None, dtype='uint8'):
    """Write an (H, W, 3) BGR scene as an RGB GeoTIFF, tiled 32 x 32."""
    bands = np.moveaxis(bgr[:, :, ::-1], -1, 0).astype(dtype)
    profile = dict(driver='GTiff', width=bgr.shape[1], height=bgr.shape[0], count=bands.shape[0],
                   dtype=dtype, crs=crs, transform=transform, nodata=nodata, tiled=True,
                   blockxsize=32, blockysize=32)
    with rasterio.open(path, 'w', **profile) as dataset:
        dataset.write(bands)
    return path


@pytest.fixture(scope='module')
def scene():
    rng = np.random.default_rng(7)
    image, _ = draw_scene(rng, 150, 203, random_squares(rng, 150, 203, big=6, small=6))
    image[100:150, 0:40] = 0                      # a nodata corner
    return image


def test_label_geotiff_keeps_georeferencing_tiling_and_nodata(tmp_path, scene, squares_predictor,
                                                              single_thread):
    source = write_geotiff(tmp_path / 'scene.tif', scene, nodata=0)
    result = predict_raster(squares_predictor, source, tmp_path / 'labels.tif',
                            probabilities_path=tmp_path / 'probs.tif', strip_width=64, show_progress=False)
    with rasterio.open(source) as src, rasterio.open(result.labels) as out, \
            rasterio.open(result.probabilities) as probs:
        assert out.crs == src.crs == UTM
        assert out.transform == src.transform
        assert (out.width, out.height) == (src.width, src.height)
        assert out.block_shapes == [(32, 32)] and out.profile['tiled']
        assert out.dtypes == ('uint8', ) and out.nodata == 255
        labels = out.read(1)
        colours = out.colormap(1)
        assert [list(colours[i][:3]) for i in range(2)] == PALETTE
        invalid = src.dataset_mask() == 0
        assert invalid[100:, :40].all() and not invalid[:100].any()
        assert (labels[invalid] == 255).all() and (labels[~invalid] != 255).all()
        probabilities = probs.read()
        assert probs.count == 2 and probs.crs == UTM and probs.transform == src.transform
        assert np.isnan(probabilities[:, invalid]).all()
        np.testing.assert_allclose(probabilities[:, ~invalid].sum(0), 1.0, atol=1e-5)
        np.testing.assert_array_equal(probabilities[:, ~invalid].argmax(0), labels[~invalid])
    # strips of 64 px, banded row by row, give the in-memory result of the whole image
    network_input = squares_predictor.inputs.to_tensor(scene, 'scene')
    in_memory = squares_predictor.to_labels(squares_predictor.logits(network_input))
    assert np.mean(in_memory[~invalid] == labels[~invalid]) > 0.999
    grid = squares_predictor.grid(150, 203)
    assert len(grid.starts_y) > 2 and len(grid.starts_x) > 2  # several bands and strips were exercised
    assert len(grid) < result.windows < 2 * len(grid)  # only windows across strip edges run twice
    one_strip = predict_raster(squares_predictor, source, tmp_path / 'one_strip.tif', strip_width=1000,
                               show_progress=False)
    assert one_strip.windows == len(grid)  # one strip: every window runs once
    with rasterio.open(one_strip.labels) as out:
        np.testing.assert_array_equal(out.read(1), labels)
    assert result.counts.sum() == (~invalid).sum()
    assert result.pixel_m2 == pytest.approx(0.25)


def test_summary_gives_square_metres_and_hectares(tmp_path, scene, squares_predictor, single_thread):
    (tmp_path / 'in').mkdir()
    write_geotiff(tmp_path / 'in' / 'tile.tif', scene[:64, :80])
    summary = predict(tmp_path / 'in', squares_predictor, tmp_path / 'out', save_probs=True,
                      show_progress=False)
    assert summary.outputs == [tmp_path / 'out' / 'labels' / 'tile.tif']
    assert (tmp_path / 'out' / 'probabilities' / 'tile.tif').is_file()
    assert any('m^2' in line and ' ha)' in line for line in summary.lines)


def test_raster_without_crs_warns_and_is_written_without(tmp_path, scene, squares_predictor, single_thread):
    source = write_geotiff(tmp_path / 'plain.tif', scene[:70, :90], crs=None,
                           transform=from_origin(0, 70, 1, 1))
    with pytest.warns(UserWarning, match=r'plain\.tif has no CRS'):
        result = predict_raster(squares_predictor, source, tmp_path / 'labels.tif', show_progress=False)
    with rasterio.open(result.labels) as out:
        assert out.crs is None and (out.width, out.height) == (90, 70)
        assert out.transform == from_origin(0, 70, 1, 1)
    assert result.pixel_m2 is None


def test_band_count_must_match_the_model(tmp_path, scene, squares_predictor):
    four = np.concatenate([scene, scene[:, :, :1]], axis=2)      # e.g. RGB + near infrared
    bands = np.moveaxis(four, -1, 0)
    path = tmp_path / 'four.tif'
    with rasterio.open(path, 'w', driver='GTiff', width=203, height=150, count=4, dtype='uint8',
                       crs=UTM, transform=TRANSFORM, photometric='MINISBLACK') as dataset:
        dataset.write(bands)
    with pytest.raises(ChannelMismatchError, match=r'four\.tif has 4 band\(s\).*trained on 3'):
        predict_raster(squares_predictor, path, tmp_path / 'labels.tif', show_progress=False)


def test_sixteen_bit_raster_needs_the_training_normalization(tmp_path, scene, squares_predictor):
    path = write_geotiff(tmp_path / 'deep.tif', scene.astype(np.uint16) * 200, dtype='uint16')
    with pytest.raises(ValueError, match=r'deep\.tif has uint16 pixels.*psp_meta\.normalization'):
        predict_raster(squares_predictor, path, tmp_path / 'labels.tif', show_progress=False)
