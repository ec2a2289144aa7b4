"""Image reading for the demo: grayscale, RGBA, 16-bit and float inputs become 8-bit BGR."""
import cv2
import numpy as np
import pytest

from psp_plugin.data.image_io import list_images, read_image_bgr, to_three_channels, to_uint8


def test_uint16_minmax_stretches_the_image_range():
    image = np.array([[1000, 2000], [3000, 5000]], dtype=np.uint16)
    np.testing.assert_array_equal(to_uint8(image), [[0, 64], [128, 255]])


def test_uint16_full_range_divides_by_257():
    image = np.array([[0, 257], [25700, 65535]], dtype=np.uint16)
    np.testing.assert_array_equal(to_uint8(image, scaling='full'), [[0, 1], [100, 255]])


def test_constant_high_bit_image_becomes_black():
    assert not to_uint8(np.full((3, 4), 700, dtype=np.uint16)).any()


def test_float_image_is_stretched():
    image = np.array([[-1.0, 0.0, 1.0]], dtype=np.float32)
    np.testing.assert_array_equal(to_uint8(image, scaling='full'), [[0, 128, 255]])


def test_unknown_scaling_names_the_choices():
    with pytest.raises(ValueError, match="'minmax' or 'full'"):
        to_uint8(np.zeros((2, 2), dtype=np.uint16), scaling='log')


def test_alpha_is_composited_over_black():
    bgra = np.array([[[10, 20, 30, 255], [10, 20, 30, 0], [200, 100, 50, 128]]], dtype=np.uint8)
    np.testing.assert_array_equal(
        to_three_channels(bgra), [[[10, 20, 30], [0, 0, 0], [100, 50, 25]]])


def test_gray_is_replicated_to_three_channels():
    gray = np.arange(6, dtype=np.uint8).reshape(2, 3)
    bgr = to_three_channels(gray)
    assert bgr.shape == (2, 3, 3)
    for channel in range(3):
        np.testing.assert_array_equal(bgr[:, :, channel], gray)


def test_five_band_image_is_rejected_with_advice():
    with pytest.raises(ValueError, match='multi-band'):
        to_three_channels(np.zeros((2, 2, 5), dtype=np.uint8))


@pytest.mark.parametrize('name, pixels', [
    ('gray8.png', np.array([[0, 100], [200, 255]], dtype=np.uint8)),
    ('gray16.png', np.array([[0, 1000], [2000, 4000]], dtype=np.uint16)),
    ('bgra.png', np.full((2, 2, 4), 255, dtype=np.uint8)),
    ('bgr16.tif', np.full((2, 2, 3), 40000, dtype=np.uint16)),
    ('bgr.jpg', np.full((2, 2, 3), 128, dtype=np.uint8)),
])
def test_read_image_bgr_returns_uint8_bgr(tmp_path, name, pixels):
    path = tmp_path / name
    assert cv2.imwrite(str(path), pixels)
    image = read_image_bgr(path, scaling='full' if pixels.ndim == 3 else 'minmax')
    assert image.shape == (2, 2, 3) and image.dtype == np.uint8
    if name == 'gray16.png':
        np.testing.assert_array_equal(image[:, :, 0], [[0, 64], [128, 255]])
    if name == 'bgr16.tif':
        assert (image == round(40000 / 257)).all()


def test_read_image_bgr_explains_missing_and_undecodable_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        read_image_bgr(tmp_path / 'missing.png')
    broken = tmp_path / 'broken.png'
    broken.write_bytes(b'not a png')
    with pytest.raises(ValueError, match='cannot decode'):
        read_image_bgr(broken)


def test_list_images_walks_folders_and_skips_other_files(tmp_path):
    (tmp_path / 'sub').mkdir()
    for name in ('b.png', 'sub/a.JPG', 'notes.txt'):
        (tmp_path / name).write_bytes(b'')
    assert list_images(tmp_path) == [tmp_path / 'b.png', tmp_path / 'sub' / 'a.JPG']
    assert list_images(tmp_path / 'b.png') == [tmp_path / 'b.png']
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='no images'):
        list_images(tmp_path / 'empty')
    with pytest.raises(FileNotFoundError, match='neither an image file nor a folder'):
        list_images(tmp_path / 'missing')
