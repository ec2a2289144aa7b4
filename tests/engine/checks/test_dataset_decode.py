"""The startup decode check reads multispectral TIFFs (which PIL and OpenCV refuse) with tifffile."""

import numpy as np
import tifffile

from psp_plugin.engine.checks.dataset import _decode_problem


def test_five_band_float_tiff_decodes_and_a_truncated_one_does_not(tmp_path):
    path = tmp_path / 'tile.tif'
    bands = np.random.default_rng(0).random((32, 32, 5), dtype=np.float32)
    tifffile.imwrite(path, bands, planarconfig='contig')
    assert _decode_problem(str(path)) is None
    path.write_bytes(path.read_bytes()[:300])
    assert _decode_problem(str(path)) is not None
