"""Repeat the training images that hold a rare class, so that they make a set share of an epoch.

The other half of rare-class sampling (see :mod:`psp_plugin.data.rare_class_crop`): with 8 of 71
CT slices holding a nodule, an epoch of random draws shows a nodule slice 11 % of the time; repeated
to a third of the list, a third of the drawn images hold one, and ``RareClassCrop`` keeps it inside
the crop.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

__all__ = ['mask_holds_classes', 'repeats_for_share', 'oversample']


def mask_holds_classes(path: str | Path, classes: Sequence[int]) -> bool:
    """Whether the mask image at ``path`` has a pixel of any of ``classes``."""
    with Image.open(path) as image:
        mask = np.asarray(image)
    return bool(np.isin(mask, np.asarray(classes)).any())


def repeats_for_share(holding: int, total: int, share: float) -> int:
    """How often each of ``holding`` of ``total`` items must appear for them to be >= ``share``.

    Args:
        holding (int): Items that hold a rare class.
        total (int): All items (holding ones included).
        share (float): Wanted share of the holding items in the repeated list, in (0, 1).

    Returns:
        int: The repeat count r >= 1 (1 when they already make the share, or none hold one):
        the smallest r with ``r * holding / (r * holding + total - holding) >= share``.
    """
    if not 0.0 < share < 1.0:
        raise ValueError(f'share={share} must lie strictly between 0 and 1')
    others = total - holding
    if holding == 0 or holding / total >= share:
        return 1
    return max(1, math.ceil(share * others / ((1.0 - share) * holding) - 1e-9))


def oversample(items: list, holds: Sequence[bool], share: float) -> list:
    """``items`` with those where ``holds`` is true repeated (in place order) to reach ``share``."""
    repeat = repeats_for_share(sum(holds), len(items), share)
    out = []
    for item, held in zip(items, holds):
        out.extend([item] * (repeat if held else 1))
    return out
