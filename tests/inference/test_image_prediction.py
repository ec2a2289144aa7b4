"""Images: label PNGs and overlays; intensities mapped as in training, never stretched per image."""
import cv2
import numpy as np
import pytest
from PIL import Image

from psp_plugin.inference import ChannelMismatchError, Predictor, predict

from .conftest import VOLUME_NORMALIZATION


def test_folder_of_images_matches_mmseg_whole_inference(tmp_path, squares_model_files, squares_predictor,
                                                        single_thread):
    """Images smaller than the window are predicted whole (the documented shrink), as inference_model does."""
    from mmseg.apis import inference_model, init_model

    rng = np.random.default_rng(0)
    (tmp_path / 'in' / 'sub').mkdir(parents=True)
    images = {'rgb.jpg': rng.integers(0, 256, (40, 56, 3), dtype=np.uint8),
              'sub/gray16.png': rng.integers(0, 65535, (33, 47), dtype=np.uint16),
              'rgba.png': rng.integers(0, 256, (48, 40, 4), dtype=np.uint8)}
    for name, pixels in images.items():
        assert cv2.imwrite(str(tmp_path / 'in' / name), pixels)
    summary = predict(tmp_path / 'in', squares_predictor, tmp_path / 'out', show_progress=False)
    assert sorted(p.relative_to(tmp_path / 'out' / 'labels').as_posix() for p in summary.outputs) == \
        ['rgb.png', 'rgba.png', 'sub/gray16.png']
    model = init_model(str(squares_model_files[0]), str(squares_model_files[1]), device='cpu')
    for name, pixels in images.items():
        png = name.rsplit('.', 1)[0] + '.png'
        labels = cv2.imread(str(tmp_path / 'out' / 'labels' / png), cv2.IMREAD_UNCHANGED)
        overlay = cv2.imread(str(tmp_path / 'out' / 'overlays' / png), cv2.IMREAD_UNCHANGED)
        expected = inference_model(model, str(tmp_path / 'in' / name)).pred_sem_seg.data[0].numpy()
        np.testing.assert_array_equal(labels, expected)
        assert labels.dtype == np.uint8 and overlay.shape == pixels.shape[:2] + (3, )
    assert summary.lines[0] == f'segmented 3 image(s); wrote {tmp_path / "out"}/labels/ and ' \
                               f'{tmp_path / "out"}/overlays/'


def test_sixteen_bit_image_uses_the_stored_normalization(tmp_path, one_channel_model_files, single_thread):
    """Two 16-bit images with different ranges go through one fixed mapping, not a per-image stretch."""
    predictor = Predictor.from_files(*one_channel_model_files, window=(32, 32))
    dark = np.linspace(0, 300, 20 * 24).reshape(20, 24).astype(np.uint16)
    bright = dark * 3
    for name, pixels in (('dark.png', dark), ('bright.png', bright)):
        Image.fromarray(pixels).save(tmp_path / name)
        read = predictor.inputs.read_image(tmp_path / name)
        assert read.dtype == np.uint16
        network_input = predictor.inputs.to_tensor(read, name).numpy()[0]
        low, high = VOLUME_NORMALIZATION['low'][0], VOLUME_NORMALIZATION['high'][0]
        expected = (np.clip(pixels.astype(np.float32), low, high) - 400.0) / 250.0
        np.testing.assert_allclose(network_input, expected, rtol=1e-6)
    summary = predict(tmp_path / 'dark.png', predictor, tmp_path / 'out', show_progress=False)
    assert summary.outputs == [tmp_path / 'out' / 'labels' / 'dark.png']


def test_image_with_other_channel_count_is_refused(tmp_path, one_channel_model_files):
    predictor = Predictor.from_files(*one_channel_model_files)
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / 'colour.png')
    with pytest.raises(ChannelMismatchError, match=r'colour\.png has 3 channel\(s\).*trained on 1'):
        predict(tmp_path / 'colour.png', predictor, tmp_path / 'out', show_progress=False)
