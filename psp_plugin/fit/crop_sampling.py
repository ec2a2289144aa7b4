"""Rare classes: which classes the training crops are steered to, and the class frequencies that the
steered crops then hold (the frequencies the class weights must answer, not the raw ones).

A class covering under 1 % of the training pixels is *rare*: the images holding one are repeated to
a third of the list (``PreparedSegDataset(oversample_classes=...)``) and their crops placed around one
of its pixels (``RareClassCrop``), so about a third of the crops hold it, as nnU-Net's foreground
oversampling does for its patches. The class weights are then computed on the frequencies of
crops drawn the same way from the training masks (:func:`sampled_class_frequency`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from PIL import Image

from psp_plugin.data import PreparedDataset
from psp_plugin.data.oversampling import oversample
from psp_plugin.data.rare_class_crop import crop_box_around

__all__ = ['RARE_FREQUENCY', 'RARE_SHARE', 'RareClassSampling', 'choose_rare_classes',
           'sampled_class_frequency']

RARE_FREQUENCY = 0.01
RARE_SHARE = 1 / 3
DRAWS = 256


@dataclass(frozen=True)
class RareClassSampling:
    """``classes``: the rare class indices (empty: plain random crops); ``share``: the wanted share of
    images holding one; ``crop_prob``: chance that such an image's crop is placed around one."""

    classes: tuple[int, ...] = ()
    share: float = RARE_SHARE
    crop_prob: float = 1.0


def choose_rare_classes(frequency: Sequence[float], presence: Sequence[float],
                        class_names: Sequence[str]) -> tuple[RareClassSampling, str]:
    """Classes covering (0, 1 %) of the training pixels, and how crops are steered to them.

    Args:
        frequency (Sequence[float]): K fractions of the training pixels.
        presence (Sequence[float]): K fractions of the training images holding each class.
        class_names (Sequence[str]): K names, for the reason.

    Returns:
        tuple[RareClassSampling, str]: The sampling and the reason for it. The crop probability is
        ``share / max(presence, share)`` of the most frequent rare class, so that about ``share`` of
        all crops are steered even when rare-class images are common.
    """
    rare = tuple(i for i, f in enumerate(frequency) if 0 < f < RARE_FREQUENCY)
    if not rare:
        return RareClassSampling(), (f'every class present covers >= {RARE_FREQUENCY:.0%} of the '
                                     'training pixels: random crops')
    seen = max(presence[i] for i in rare)
    prob = round(min(1.0, RARE_SHARE / max(seen, RARE_SHARE)), 3)
    described = ', '.join(f'{class_names[i]} ({100 * frequency[i]:.2f} % of pixels, in '
                          f'{100 * presence[i]:.0f} % of images)' for i in rare)
    return RareClassSampling(rare, RARE_SHARE, prob), (
        f'rare classes {described}: images holding one are repeated to >= {RARE_SHARE:.0%} of each '
        f'epoch and {100 * prob:.0f} % of their crops are placed around one of its pixels '
        '(foreground oversampling, as nnU-Net does); a random crop would rarely hold one')


def sampled_class_frequency(prepared: PreparedDataset, names: Sequence[str], crop_px: int,
                            sampling: RareClassSampling, *, draws: int = DRAWS,
                            seed: int = 0) -> list[float]:
    """Class pixel frequencies in ``draws`` crops drawn as training draws them, from the given masks.

    Args:
        prepared (PreparedDataset): The dataset (its training masks are read).
        names (Sequence[str]): Training image names to draw from (a bounded sample).
        crop_px (int): Crop side in mask pixels (the planned crop divided by the input scale).
        sampling (RareClassSampling): How crops are steered.
        draws (int): Crops to draw. Default: 256.
        seed (int): Seed of the draws. Default: 0.

    Returns:
        list[float]: K fractions of the non-ignored pixels of the drawn crops.
    """
    k, rng = prepared.num_classes, np.random.default_rng(seed)
    masks = [np.asarray(Image.open(prepared.mask_path('train', name))) for name in names]
    rare = np.asarray(sampling.classes, dtype=np.int64)
    holds = [bool(rare.size and np.isin(mask, rare).any()) for mask in masks]
    pool = list(range(len(masks)))
    if rare.size:
        pool = oversample(pool, holds, sampling.share)
    counts = np.zeros(k, dtype=np.int64)
    for index in rng.choice(pool, size=draws):
        mask = masks[index]
        height, width = mask.shape[:2]
        if holds[index] and rng.random() < sampling.crop_prob:
            rows, cols = np.nonzero(np.isin(mask, rare))
            pick = int(rng.integers(rows.size))
            y1, y2, x1, x2 = crop_box_around(int(rows[pick]), int(cols[pick]), (height, width),
                                             (crop_px, crop_px), rng)
        else:
            y1 = int(rng.integers(0, max(height - crop_px, 0) + 1))
            x1 = int(rng.integers(0, max(width - crop_px, 0) + 1))
            y2, x2 = y1 + crop_px, x1 + crop_px
        crop = mask[y1:y2, x1:x2]
        counts += np.bincount(crop[crop != prepared.ignore_index].ravel().astype(np.int64),
                              minlength=k)[:k]
    return [float(c) / max(int(counts.sum()), 1) for c in counts]
