"""One intensity normalisation, computed on the training split and applied everywhere alike.

Training (``LoadNormalizedImage``), ``mim test`` and ``predict`` all call
:func:`normalize_image` with the ``normalization`` dict stored in the prepared
``dataset.json``, so an image maps to the same network input in all three.
The dict is ``{"type": "clip_zscore", "low": [C], "high": [C], "mean": [C],
"std": [C]}``: each channel is clipped to ``[low, high]`` (the 0.5th and 99.5th
percentiles of the training pixels) and then z-scored with the mean and
standard deviation of the clipped training pixels.
"""

from __future__ import annotations

import numpy as np

__all__ = ['PixelSampler', 'compute_normalization', 'normalize_image']

LOW_PERCENTILE = 0.5
HIGH_PERCENTILE = 99.5


def _as_hwc(image: np.ndarray) -> np.ndarray:
    """Return ``image`` as (H, W, C); (H, W) becomes (H, W, 1)."""
    if image.ndim == 2:
        return image[:, :, None]
    if image.ndim != 3:
        raise ValueError(f'expected an (H, W) or (H, W, C) image, got shape {image.shape}')
    return image


def normalize_image(image: np.ndarray, normalization: dict) -> np.ndarray:
    """Clip each channel to ``[low, high]`` and z-score it with ``mean`` and ``std``.

    Args:
        image (np.ndarray): (H, W, C) or (H, W) pixels of any numeric dtype.
        normalization (dict): ``{"type": "clip_zscore", "low", "high", "mean", "std"}``,
            each a list of C floats, as written to the prepared ``dataset.json``.

    Returns:
        np.ndarray: (H, W, C) float32 normalised image.
    """
    kind = normalization.get('type', 'clip_zscore')
    if kind != 'clip_zscore':
        raise ValueError(f"normalization type {kind!r} is not supported; use 'clip_zscore'")
    pixels = _as_hwc(image).astype(np.float32)
    low, high, mean, std = (
        np.asarray(normalization[key], dtype=np.float32) for key in ('low', 'high', 'mean', 'std')
    )
    if low.shape != (pixels.shape[2],):
        raise ValueError(
            f'the image has {pixels.shape[2]} channels but the normalization has {low.size}; '
            'the image must have the channels of the prepared dataset (dataset.json "channels")'
        )
    np.clip(pixels, low, high, out=pixels)
    pixels -= mean
    pixels /= np.maximum(std, np.float32(1e-6))
    return pixels


class PixelSampler:
    """Keep a bounded, uniform random sample of pixels from a stream of images.

    Memory stays at ``capacity`` pixels however many images pass: each image
    contributes up to ``per_image`` random pixels, and once the store is full a
    reservoir rule keeps every pixel seen with equal probability.

    Args:
        channels (int): C, the channels of every image.
        capacity (int): Most pixels kept. Defaults to 1,000,000.
        per_image (int): Most pixels drawn from one image. Defaults to 20,000.
        seed (int): Seed of the sampling. Defaults to 0.
    """

    def __init__(
        self, channels: int, *, capacity: int = 1_000_000, per_image: int = 20_000, seed: int = 0
    ) -> None:
        self.store = np.empty((capacity, channels), dtype=np.float64)
        self.filled = 0
        self.seen = 0
        self.per_image = per_image
        self.rng = np.random.default_rng(seed)

    def add(self, image: np.ndarray) -> None:
        """Sample pixels of one (H, W, C) or (H, W) image."""
        flat = _as_hwc(image).reshape(-1, self.store.shape[1])
        take = min(self.per_image, flat.shape[0])
        if take == flat.shape[0]:
            drawn = flat.astype(np.float64)
        else:
            drawn = flat[self.rng.integers(0, flat.shape[0], size=take)].astype(np.float64)
        free = min(self.store.shape[0] - self.filled, take)
        self.store[self.filled : self.filled + free] = drawn[:free]
        self.filled += free
        rest = drawn[free:]
        if rest.shape[0]:
            slots = self.rng.integers(0, self.seen + free + np.arange(1, rest.shape[0] + 1))
            keep = slots < self.store.shape[0]
            self.store[slots[keep]] = rest[keep]
        self.seen += take

    @property
    def pixels(self) -> np.ndarray:
        """(N, C) float64 sampled pixels."""
        return self.store[: self.filled]


def compute_normalization(pixels: np.ndarray) -> dict:
    """Derive the ``clip_zscore`` normalisation from sampled training pixels.

    Args:
        pixels (np.ndarray): (N, C) training pixel values, N >= 1.

    Returns:
        dict: ``{"type": "clip_zscore", "low", "high", "mean", "std"}``, lists of C floats.
            A channel whose clipped pixels are constant gets ``std`` 1.
    """
    if pixels.ndim != 2 or pixels.shape[0] == 0:
        raise ValueError(f'need (N, C) pixels with N >= 1, got shape {pixels.shape}')
    low = np.percentile(pixels, LOW_PERCENTILE, axis=0)
    high = np.percentile(pixels, HIGH_PERCENTILE, axis=0)
    clipped = np.clip(pixels, low, high)
    mean = clipped.mean(axis=0)
    std = clipped.std(axis=0)
    std = np.where(std > 1e-6, std, 1.0)
    return {
        'type': 'clip_zscore',
        'low': low.tolist(),
        'high': high.tolist(),
        'mean': mean.tolist(),
        'std': std.tolist(),
    }
