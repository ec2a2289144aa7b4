"""read_image keeps values and dtypes: 16-bit, float, RGBA (alpha dropped), planar multi-channel TIFF."""

import numpy as np
import tifffile

from psp_plugin.data.image_reading import read_image

from .conftest import write_png


def test_16_bit_png_keeps_its_values(tmp_path):
    array = np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000
    out = read_image(write_png(tmp_path / 'a.png', array))
    assert out.dtype == np.uint16 and out.shape == (8, 8, 1)
    np.testing.assert_array_equal(out[..., 0], array)


def test_rgba_drops_alpha_and_says_so(tmp_path):
    array = np.random.default_rng(0).integers(0, 255, (6, 5, 4), dtype=np.uint8)
    notes = set()
    out = read_image(write_png(tmp_path / 'a.png', array), notes)
    np.testing.assert_array_equal(out, array[..., :3])
    assert any('alpha' in n for n in notes)


def test_planar_multichannel_and_float_tiff(tmp_path):
    bands = np.random.default_rng(1).random((6, 10, 12)).astype(np.float64)  # (C, H, W), 6 bands
    tifffile.imwrite(tmp_path / 'ms.tif', bands, planarconfig='separate', photometric='minisblack')
    out = read_image(tmp_path / 'ms.tif')
    assert out.shape == (10, 12, 6) and out.dtype == np.float32
    np.testing.assert_allclose(out, np.moveaxis(bands, 0, -1), rtol=1e-6)


def test_headers_match_what_decoding_gives(tmp_path):
    from psp_plugin.data.image_headers import read_image_header

    rng = np.random.default_rng(2)
    files = [
        write_png(tmp_path / 'gray16.png', (rng.random((7, 9)) * 60000).astype(np.uint16)),
        write_png(tmp_path / 'rgba.png', rng.integers(0, 255, (7, 9, 4), dtype=np.uint8)),
        write_png(
            tmp_path / 'pal.png',
            rng.integers(0, 3, (7, 9)).astype(np.uint8),
            palette=[0, 0, 0, 9, 9, 9, 80, 0, 0],
        ),
    ]
    tifffile.imwrite(
        tmp_path / 'f64.tif', rng.random((5, 7, 9)), planarconfig='separate', photometric='minisblack'
    )
    tifffile.imwrite(tmp_path / 'u16.tif', (rng.random((7, 9)) * 900).astype('>u2'))
    files += [tmp_path / 'f64.tif', tmp_path / 'u16.tif']
    for path in files:
        decoded = read_image(path)
        assert read_image_header(path) == (*decoded.shape, decoded.dtype.name), path
