"""``RareClassCrop``: a random crop that holds a pixel of a rare class whenever the image has one.

A class that covers well under 1 % of the training pixels (a lung nodule in a CT slice, a lesion in
an MRI slice) is rarely inside a random crop of a large image, so a short training run sees it a few
dozen times and learns to never predict it. Like nnU-Net's foreground oversampling, this crop picks
one pixel of a rare class present in the mask (every rare pixel equally likely) and places the crop
uniformly among the positions that contain it; images without a rare class get MMSeg's random crop.
Paired with ``PreparedSegDataset(oversample_classes=...)``, which repeats the training images that
hold a rare class, a set share of the crops holds one.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from mmseg.datasets.transforms import RandomCrop
from mmseg.registry import TRANSFORMS

__all__ = ['RareClassCrop', 'crop_box_around']


def crop_box_around(row: int, col: int, image_hw: tuple[int, int], crop_hw: tuple[int, int],
                    rng: np.random.Generator) -> tuple[int, int, int, int]:
    """A random crop box of ``crop_hw`` inside ``image_hw`` that contains pixel (row, col).

    Args:
        row (int): Pixel row.
        col (int): Pixel column.
        image_hw (tuple[int, int]): (H, W) of the image.
        crop_hw (tuple[int, int]): (h, w) of the crop; a side larger than the image takes it whole.
        rng (np.random.Generator): Source of the offsets.

    Returns:
        tuple[int, int, int, int]: (y1, y2, x1, x2), as ``RandomCrop.crop_bbox`` returns.
    """
    box = []
    for at, size, crop in ((row, image_hw[0], crop_hw[0]), (col, image_hw[1], crop_hw[1])):
        crop = min(crop, size)
        first, last = max(0, at - crop + 1), min(at, size - crop)  # offsets that keep `at` inside
        start = int(rng.integers(first, last + 1))
        box += [start, start + crop]
    return box[0], box[1], box[2], box[3]


@TRANSFORMS.register_module()
class RareClassCrop(RandomCrop):
    """Random crop of ``crop_size`` that contains a rare-class pixel when the mask holds one.

    Args:
        crop_size (int | tuple[int, int]): (h, w) of the crop, as for ``RandomCrop``.
        rare_classes (Sequence[int]): Class indices to centre crops on.
        prob (float): Chance of a rare-class crop for an image that has a rare class (else a random
            crop). Default: 1.0.
        seed (int, optional): Seed of the crop positions (default: numpy's global state, which
            MMEngine seeds per worker, as ``RandomCrop`` uses).
        **kwargs: ``cat_max_ratio`` and ``ignore_index`` of ``RandomCrop`` (random crops only).

    Required keys: ``img``, ``gt_seg_map``. Modified: ``img``, ``img_shape``, ``gt_seg_map``.
    """

    def __init__(self, crop_size, rare_classes: Sequence[int], prob: float = 1.0,
                 seed: int | None = None, **kwargs) -> None:
        super().__init__(crop_size, **kwargs)
        if not rare_classes:
            raise ValueError('RareClassCrop needs at least one class in rare_classes; use RandomCrop '
                             'when no class is rare')
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'RareClassCrop prob={prob} must lie in [0, 1]')
        self.rare_classes = tuple(int(c) for c in rare_classes)
        self.prob = float(prob)
        self.seed = seed
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def _generator(self) -> np.random.Generator:
        if self._rng is not None:
            return self._rng
        return np.random.default_rng(np.random.randint(0, 2**31 - 1))

    def crop_bbox(self, results: dict) -> tuple:
        """A box holding a random rare-class pixel of ``gt_seg_map``, or ``RandomCrop``'s box."""
        rng = self._generator()
        seg = results.get('gt_seg_map')
        if seg is not None and rng.random() < self.prob:
            rows, cols = np.nonzero(np.isin(seg, self.rare_classes))
            if rows.size:
                pick = int(rng.integers(rows.size))
                return crop_box_around(int(rows[pick]), int(cols[pick]), seg.shape[:2],
                                       tuple(self.crop_size), rng)
        return super().crop_bbox(results)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(crop_size={self.crop_size}, rare_classes={self.rare_classes}, '
                f'prob={self.prob}, seed={self.seed})')
