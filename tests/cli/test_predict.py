"""``psp-plugin predict``: the CLI shell over psp_plugin.inference.predict."""
import cv2
import numpy as np
import pytest
import rasterio

from psp_plugin.cli.main import main
from psp_plugin.inference import Predictor
from tests.inference.conftest import cached_squares_model, draw_scene, random_squares
from tests.inference.test_rasters import write_geotiff


@pytest.fixture(scope='module')
def squares_model_files(pytestconfig):
    return cached_squares_model(pytestconfig)


def test_predict_command_on_images_and_a_geotiff(tmp_path, squares_model_files, capsys, single_thread):
    rng = np.random.default_rng(2)
    (tmp_path / 'in').mkdir()
    scene, _ = draw_scene(rng, 90, 120, random_squares(rng, 90, 120, big=3, small=3))
    cv2.imwrite(str(tmp_path / 'in' / 'photo.png'), scene[:60, :60])
    write_geotiff(tmp_path / 'in' / 'field.tif', scene)
    config, checkpoint = squares_model_files
    status = main(['predict', str(tmp_path / 'in'), '--config', str(config), '--checkpoint', str(checkpoint),
                   '--out', str(tmp_path / 'out'), '--window', '64', '64', '--overlap', '0.5',
                   '--save-probs', '--batch-size', '2'])
    assert status == 0
    output = capsys.readouterr().out
    assert 'windows/s' in output and 'ETA' in output
    assert 'm^2' in output and 'segmented 1 image(s)' in output
    labels = cv2.imread(str(tmp_path / 'out' / 'labels' / 'photo.png'), cv2.IMREAD_UNCHANGED)
    assert labels.shape == (60, 60)
    assert (tmp_path / 'out' / 'overlays' / 'photo.png').is_file()
    with rasterio.open(tmp_path / 'out' / 'labels' / 'field.tif') as out, \
            rasterio.open(tmp_path / 'in' / 'field.tif') as src:
        assert (out.crs, out.transform, out.shape) == (src.crs, src.transform, src.shape)
    assert (tmp_path / 'out' / 'probabilities' / 'field.tif').is_file()


def test_window_larger_than_the_input_is_predicted_whole(tmp_path, squares_model_files, single_thread):
    image = np.random.default_rng(4).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / 'small.png'), image)
    config, checkpoint = squares_model_files
    assert main(['predict', str(tmp_path / 'small.png'), '--config', str(config), '--checkpoint',
                 str(checkpoint), '--out', str(tmp_path / 'out'), '--window', '256', '256',
                 '--no-progress']) == 0
    predictor = Predictor.from_files(*squares_model_files)
    tensor = predictor.inputs.to_tensor(image, 'small')
    whole = predictor.to_labels(predictor.logits_fn()(tensor[None])[0])
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / 'out' / 'labels' / 'small.png'),
                                             cv2.IMREAD_UNCHANGED), whole)


def test_strip_width_flag_reaches_the_raster_prediction(tmp_path, squares_model_files, capsys, single_thread):
    rng = np.random.default_rng(5)
    scene, _ = draw_scene(rng, 90, 200, random_squares(rng, 90, 200, big=3, small=3))
    write_geotiff(tmp_path / 'field.tif', scene)
    config, checkpoint = squares_model_files
    lines = {}
    for width in ('64', '1000'):
        assert main(['predict', str(tmp_path / 'field.tif'), '--config', str(config), '--checkpoint',
                     str(checkpoint), '--out', str(tmp_path / width), '--window', '32', '32',
                     '--strip-width', width]) == 0
        lines[width] = capsys.readouterr().out
    with rasterio.open(tmp_path / '64' / 'labels' / 'field.tif') as narrow, \
            rasterio.open(tmp_path / '1000' / 'labels' / 'field.tif') as wide:
        np.testing.assert_array_equal(narrow.read(1), wide.read(1))
    with pytest.raises(ValueError, match=r'field.tif: strip_width=0 is not a width in pixels. Fix:'):
        main(['predict', str(tmp_path / 'field.tif'), '--config', str(config), '--checkpoint',
              str(checkpoint), '--out', str(tmp_path / 'zero'), '--strip-width', '0'])
