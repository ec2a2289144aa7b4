"""What the planner needs to know about a prepared dataset, read from its files.

Sizes, class pixel frequencies and the typical *width* of each class's structures are measured on
(a bounded, evenly spaced sample of) the training masks, so the plan never looks at val or test.
Width, not the equivalent diameter of connected components, decides the output grid: the cortex
is one huge connected component and yet a ribbon a few pixels thick. For a region of area A whose
boundary has P pixels, ``2 A / P`` is its width for a ribbon (A = L w, P = 2 L) and half the
diameter for a disc; it is summed over the sampled masks per class.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image

from psp_plugin.data import PreparedDataset, load_prepared

__all__ = ['DatasetFacts', 'measure_dataset', 'structure_width_sums']

MAX_SAMPLED_MASKS = 200


@dataclass
class DatasetFacts:
    """Facts about a prepared dataset's training split.

    Attributes:
        prepared: The dataset's description (classes, channels, normalisation, splits).
        median_hw: Median (H, W) of the sampled training masks.
        class_frequency: K fractions of the non-ignored training pixels.
        class_presence: K fractions of the sampled training masks that hold each class.
        structure_width: K typical structure widths in pixels (None for a class absent in train).
        num_images: Images per split.
        sampled_masks: Training masks the sizes, frequencies and widths were measured on.
        sampled_names: Their names (an evenly spaced sample of at most 200).
        fingerprint: The ``fingerprint.json`` content ({} when the file is missing).
    """

    prepared: PreparedDataset
    median_hw: tuple[int, int]
    class_frequency: list[float]
    class_presence: list[float]
    structure_width: list[Optional[float]]
    num_images: dict[str, int]
    sampled_masks: int
    fingerprint: dict
    sampled_names: list[str]


def structure_width_sums(mask: np.ndarray, num_classes: int,
                         ignore_index: int = 255) -> tuple[np.ndarray, np.ndarray]:
    """Per-class area and boundary-pixel counts of one mask.

    Args:
        mask (np.ndarray): (H, W) integer class map; ``ignore_index`` pixels count for no class.
        num_classes (int): K.
        ignore_index (int): The ignored value. Default: 255.

    Returns:
        tuple[np.ndarray, np.ndarray]: (K,) areas and (K,) boundary pixels, int64. A pixel is on
        the boundary when a 4-neighbour inside the image has another value.
    """
    mask = mask.astype(np.int64)
    edge = np.zeros(mask.shape, dtype=bool)
    vertical = mask[1:, :] != mask[:-1, :]
    horizontal = mask[:, 1:] != mask[:, :-1]
    edge[1:, :] |= vertical
    edge[:-1, :] |= vertical
    edge[:, 1:] |= horizontal
    edge[:, :-1] |= horizontal
    valid = mask != ignore_index
    areas = np.bincount(mask[valid], minlength=num_classes)[:num_classes]
    boundary = np.bincount(mask[valid & edge], minlength=num_classes)[:num_classes]
    return areas, boundary


def _evenly_spaced(names: list[str], count: int) -> list[str]:
    if len(names) <= count:
        return list(names)
    return [names[i] for i in np.linspace(0, len(names) - 1, count).round().astype(int)]


def measure_dataset(root: str | Path) -> DatasetFacts:
    """Measure sizes, frequencies and structure widths on a prepared root's training masks.

    Args:
        root (str | Path): The prepared root (``dataset.json``, ``splits.json``, ``masks/``).

    Returns:
        DatasetFacts: The facts; see its attributes.
    """
    prepared = load_prepared(root)
    names = prepared.splits['train']
    if not names:
        raise ValueError(f'{prepared.root / "splits.json"}: the train split is empty, so nothing can '
                         'be planned. Fix: re-import with more images or edit splits.json.')
    k = prepared.num_classes
    areas = np.zeros(k, dtype=np.int64)
    boundary = np.zeros(k, dtype=np.int64)
    holding = np.zeros(k, dtype=np.int64)
    sizes = []
    sample = _evenly_spaced(names, MAX_SAMPLED_MASKS)
    for name in sample:
        path = prepared.mask_path('train', name)
        if not path.is_file():
            raise FileNotFoundError(f'{path} is listed in splits.json but missing. Fix: re-run the '
                                    'import, or remove the name from splits.json.')
        mask = np.asarray(Image.open(path))
        sizes.append(mask.shape[:2])
        a, b = structure_width_sums(mask, k, prepared.ignore_index)
        areas += a
        boundary += b
        holding += a > 0
    frequency = areas / max(int(areas.sum()), 1)
    width = [float(2 * a / b) if b > 0 else (None if a == 0 else float(np.sqrt(a / len(sample))))
             for a, b in zip(areas, boundary)]
    fingerprint_path = prepared.root / 'fingerprint.json'
    fingerprint = json.loads(fingerprint_path.read_text()) if fingerprint_path.is_file() else {}
    median = np.median(np.asarray(sizes), axis=0)
    return DatasetFacts(
        prepared=prepared, median_hw=(int(median[0]), int(median[1])),
        class_frequency=[float(f) for f in frequency],
        class_presence=[float(h) / len(sample) for h in holding], structure_width=width,
        num_images={split: len(v) for split, v in prepared.splits.items()},
        sampled_masks=len(sample), fingerprint=fingerprint, sampled_names=list(sample))
