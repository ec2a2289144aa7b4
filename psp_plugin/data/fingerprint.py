"""The dataset fingerprint: sizes, channels, intensities, class frequencies and object sizes per split.

Accumulated while the samples stream past, with running sums and bounded
reservoirs, so memory does not grow with the number of samples. Intensity
mean and std use every second pixel in each direction; minimum and maximum
use all pixels. Object size is the median equivalent diameter
(``sqrt(4 * area / pi)``, pixels) of the 8-connected components of each
class, measured on every mask of a split up to 100 masks and on an even
subsample of them beyond; ``object_diameter_px_area_weighted`` weights each
component by its area (the size of the object a typical pixel belongs to,
robust to specks).
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ['SplitFingerprint', 'fingerprint_json']

RESERVOIR = 20_000
OBJECT_MASKS = 100


class _Reservoir:
    """A uniform sample of at most ``capacity`` numbers from a stream."""

    def __init__(self, rng: np.random.Generator, capacity: int = RESERVOIR) -> None:
        self.values: list = []
        self.seen = 0
        self.capacity = capacity
        self.rng = rng

    def add(self, values) -> None:
        for value in values:
            self.seen += 1
            if len(self.values) < self.capacity:
                self.values.append(value)
            else:
                slot = int(self.rng.integers(0, self.seen))
                if slot < self.capacity:
                    self.values[slot] = value

    def median(self) -> float | None:
        return float(np.median(self.values)) if self.values else None

    def area_weighted_median(self) -> float | None:
        """Median diameter of the (diameter, area) pairs kept, each weighted by its area."""
        if not self.values:
            return None
        pairs = np.array(sorted(self.values))
        cumulative = np.cumsum(pairs[:, 1])
        return float(pairs[np.searchsorted(cumulative, cumulative[-1] / 2), 0])


def _first_median(reservoir: _Reservoir) -> float | None:
    """Median of the first items of the (diameter, area) pairs of ``reservoir``."""
    return float(np.median([pair[0] for pair in reservoir.values])) if reservoir.values else None


class SplitFingerprint:
    """Running statistics of one split.

    Args:
        num_classes (int): K.
        channels (int): C.
        seed (int): Seed of the reservoirs. Defaults to 0.
        expected (int): Samples the split will receive (sets the object-size subsampling).
    """

    def __init__(self, num_classes: int, channels: int, seed: int = 0, expected: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.object_every = max(1, -(-expected // OBJECT_MASKS))
        self.count = 0
        self.heights, self.widths = _Reservoir(rng), _Reservoir(rng)
        self.min_hw = [None, None]
        self.max_hw = [0, 0]
        self.dtypes: set[str] = set()
        self.sums = np.zeros((3, channels))  # pixel count, sum, sum of squares per channel
        self.low = np.full(channels, np.inf)
        self.high = np.full(channels, -np.inf)
        self.class_pixels = np.zeros(num_classes, dtype=np.int64)
        self.ignore_pixels = 0
        self.diameters = [_Reservoir(rng) for _ in range(num_classes)]

    def add(self, image: np.ndarray, mask: np.ndarray, invalid: np.ndarray | None = None) -> None:
        """Add one (H, W, C) image and its (H, W) uint8 class mask (255 = ignore).

        ``invalid`` (H, W) bool marks pixels without data (raster nodata): they count for the sizes and
        the mask statistics, not for the intensity statistics (as they stay out of the normalisation).
        """
        h, w = mask.shape
        self.count += 1
        self.heights.add([h])
        self.widths.add([w])
        self.min_hw = [
            h if self.min_hw[0] is None else min(self.min_hw[0], h),
            w if self.min_hw[1] is None else min(self.min_hw[1], w),
        ]
        self.max_hw = [max(self.max_hw[0], h), max(self.max_hw[1], w)]
        self.dtypes.add(str(image.dtype))
        values = image if invalid is None else image[~invalid][None]  # (H, W, C) or (1, N, C)
        if values.size:
            pixels = values[::2, ::2].reshape(-1, image.shape[2]).astype(np.float32)
            self.sums += [
                np.full(pixels.shape[1], pixels.shape[0]),
                pixels.sum(0, dtype=np.float64),
                np.einsum('ij,ij->j', pixels, pixels, dtype=np.float64),
            ]
            self.low = np.minimum(self.low, [values[..., c].min() for c in range(image.shape[2])])
            self.high = np.maximum(self.high, [values[..., c].max() for c in range(image.shape[2])])
        counts = np.bincount(mask.ravel(), minlength=256)
        self.class_pixels += counts[: len(self.class_pixels)]
        self.ignore_pixels += int(counts[255])
        if (self.count - 1) % self.object_every:
            return
        for cls in np.flatnonzero(counts[: len(self.class_pixels)]):
            number, _, stats, _ = cv2.connectedComponentsWithStats(
                (mask == cls).astype(np.uint8), connectivity=8
            )
            areas = stats[1:number, cv2.CC_STAT_AREA]
            self.diameters[cls].add(zip(np.sqrt(4.0 * areas / np.pi).tolist(), areas.tolist()))

    def to_json(self, classes: list[str]) -> dict:
        """The split's fingerprint as a JSON-ready dict."""
        if not self.count:
            return {'num_images': 0}
        n, total, squares = self.sums
        mean = total / np.maximum(n, 1)
        std = np.sqrt(np.maximum(squares / np.maximum(n, 1) - mean**2, 0.0))
        labelled = int(self.class_pixels.sum())
        return {
            'num_images': self.count,
            'height': {'median': self.heights.median(), 'min': self.min_hw[0], 'max': self.max_hw[0]},
            'width': {'median': self.widths.median(), 'min': self.min_hw[1], 'max': self.max_hw[1]},
            'channels': int(len(mean)),
            'dtype': sorted(self.dtypes),
            'intensity': {
                'min': self.low.tolist(),
                'max': self.high.tolist(),
                'mean': mean.tolist(),
                'std': std.tolist(),
            },
            'class_pixels': {name: int(c) for name, c in zip(classes, self.class_pixels)},
            'class_frequency': {
                name: (float(c) / labelled if labelled else 0.0)
                for name, c in zip(classes, self.class_pixels)
            },
            'ignore_pixels': self.ignore_pixels,
            'object_diameter_px': {name: _first_median(r) for name, r in zip(classes, self.diameters)},
            'object_diameter_px_area_weighted': {
                name: r.area_weighted_median() for name, r in zip(classes, self.diameters)
            },
            'num_objects': {name: r.seen for name, r in zip(classes, self.diameters)},
            'foreground_fraction': float(self.class_pixels[1:].sum()) / labelled if labelled else 0.0,
        }


def fingerprint_json(
    by_split: dict[str, SplitFingerprint], classes: list[str], normalization: dict, train_percentiles: dict
) -> dict:
    """Assemble fingerprint.json: per split statistics plus the train intensity percentiles."""
    result = {split: fp.to_json(classes) for split, fp in by_split.items()}
    if result.get('train', {}).get('num_images'):
        result['train']['intensity'].update(train_percentiles)
    result['normalization'] = normalization
    return result
