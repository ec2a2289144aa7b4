"""segment_images: one image or a folder -> label and overlay PNGs."""
import cv2
import numpy as np
import pytest

from psp_plugin.data.image_io import read_image_bgr
from psp_plugin.inference import images as demo
from psp_plugin.testing.tiny_pspnet import CLASSES, PALETTE, save_config_and_checkpoint


@pytest.fixture(scope='module')
def model_files(tmp_path_factory):
    return save_config_and_checkpoint(tmp_path_factory.mktemp('model'))


def _write_inputs(folder):
    rng = np.random.default_rng(0)
    (folder / 'scans').mkdir(parents=True)
    images = {
        'rgb.jpg': rng.integers(0, 256, (40, 56, 3), dtype=np.uint8),
        'scans/gray16.png': rng.integers(0, 4096, (33, 47), dtype=np.uint16),
        'rgba.png': rng.integers(0, 256, (48, 40, 4), dtype=np.uint8),
        'gray.png': rng.integers(0, 256, (25, 31), dtype=np.uint8),
    }
    for name, pixels in images.items():
        assert cv2.imwrite(str(folder / name), pixels)
    return images


def test_folder_gives_one_label_and_overlay_per_image(tmp_path, model_files, capsys):
    from mmseg.apis import inference_model, init_model

    config_file, checkpoint_file = model_files
    images = _write_inputs(tmp_path / 'in')
    written = demo.segment_images(tmp_path / 'in', config=str(config_file),
                                  checkpoint=str(checkpoint_file), out=tmp_path / 'out')
    assert sorted(p.relative_to(tmp_path / 'out' / 'labels').as_posix() for p in written) == \
        sorted(name.rsplit('.', 1)[0] + '.png' for name in images)
    model = init_model(str(config_file), str(checkpoint_file), device='cpu')
    for name, pixels in images.items():
        png_name = name.rsplit('.', 1)[0] + '.png'
        labels = cv2.imread(str(tmp_path / 'out' / 'labels' / png_name), cv2.IMREAD_UNCHANGED)
        overlay = cv2.imread(str(tmp_path / 'out' / 'overlays' / png_name), cv2.IMREAD_UNCHANGED)
        assert labels.shape == pixels.shape[:2] and labels.dtype == np.uint8
        assert overlay.shape == pixels.shape[:2] + (3, )
        image = read_image_bgr(tmp_path / 'in' / name)
        expected = inference_model(model, image).pred_sem_seg.data[0].numpy()
        np.testing.assert_array_equal(labels, expected)
        palette = np.asarray(PALETTE, np.uint8)
        np.testing.assert_array_equal(
            overlay, demo.overlay_labels(image, expected, palette_rgb=palette))
    output = capsys.readouterr().out
    assert 'segmented 4 image(s)' in output and '4/4' in output
    assert any(f'  {name}: ' in output for name in CLASSES)


def test_single_image_goes_to_out_root(tmp_path, model_files):
    config_file, checkpoint_file = model_files
    image = tmp_path / 'photo.jpg'
    cv2.imwrite(str(image), np.full((30, 20, 3), 90, dtype=np.uint8))
    written = demo.segment_images(image, config=str(config_file), checkpoint=str(checkpoint_file),
                                  out=tmp_path / 'out')
    assert written == [tmp_path / 'out' / 'labels' / 'photo.png']
    assert (tmp_path / 'out' / 'overlays' / 'photo.png').is_file()


def test_overlay_blends_class_colours():
    image = np.full((1, 2, 3), 100, dtype=np.uint8)
    labels = np.array([[0, 1]])
    palette = np.array([[0, 0, 0], [200, 50, 0]], dtype=np.uint8)
    blended = demo.overlay_labels(image, labels, palette_rgb=palette, opacity=0.5)
    np.testing.assert_array_equal(blended, [[[50, 50, 50], [50, 75, 150]]])
    with pytest.raises(ValueError, match='outside'):
        demo.overlay_labels(image, labels, palette_rgb=palette, opacity=1.5)


def test_label_png_switches_to_16_bit_above_256_classes(tmp_path):
    labels = np.array([[0, 299]])
    demo.write_label_png(tmp_path / 'l.png', labels, num_classes=300)
    read = cv2.imread(str(tmp_path / 'l.png'), cv2.IMREAD_UNCHANGED)
    assert read.dtype == np.uint16
    np.testing.assert_array_equal(read, labels)
