"""normalize_image and the bounded pixel sample behind the train statistics."""
import numpy as np

from psp_plugin.data import normalize_image
from psp_plugin.data.normalization import PixelSampler, compute_normalization


def test_normalize_image_clips_then_zscores():
    norm = {'type': 'clip_zscore', 'low': [0.0, 10.0], 'high': [100.0, 20.0], 'mean': [50.0, 15.0],
            'std': [25.0, 5.0]}
    image = np.array([[[-5, 30], [75, 12]]], dtype=np.int16)  # (1, 2, 2)
    out = normalize_image(image, norm)
    np.testing.assert_allclose(out, [[[-2.0, 1.0], [1.0, -0.6]]], rtol=1e-6)
    assert out.dtype == np.float32


def test_pixel_sampler_memory_is_bounded_and_sample_is_fair():
    sampler = PixelSampler(2, capacity=5000, per_image=1000, seed=0)
    for value in range(100):  # 100 images, each a constant (value, -value)
        sampler.add(np.stack([np.full((40, 40), value), np.full((40, 40), -value)], axis=-1))
    assert sampler.pixels.shape == (5000, 2) and sampler.store.shape == (5000, 2)
    assert abs(sampler.pixels[:, 0].mean() - 49.5) < 2.0  # late images are as present as early ones
    norm = compute_normalization(sampler.pixels)
    assert norm['low'][0] < 2 and norm['high'][0] > 97 and norm['std'][0] > 25
