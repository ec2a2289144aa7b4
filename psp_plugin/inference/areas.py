"""Class areas for the summary: pixels, m^2 / ha for projected rasters, ml for volumes."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ['class_counts', 'summary_lines']


def class_counts(labels: np.ndarray, num_classes: int, *, valid: np.ndarray | None = None) -> np.ndarray:
    """(K,) int64 number of pixels of each class in ``labels`` (only where ``valid``)."""
    values = labels[valid] if valid is not None else labels.ravel()
    return np.bincount(values.astype(np.int64).ravel(), minlength=num_classes)[:num_classes]


def summary_lines(counts: np.ndarray, classes: Sequence[str], *, pixel_m2: float | None = None,
                  voxel_ml: float | None = None) -> list[str]:
    """One line per class present: name, pixels and share, plus m^2/ha or ml where known.

    Args:
        counts (np.ndarray): (K,) pixels (or voxels) per class.
        classes (Sequence[str]): Class names; missing ones print as ``class i``.
        pixel_m2 (float, optional): Ground area of one pixel in square metres.
        voxel_ml (float, optional): Volume of one voxel in millilitres.

    Returns:
        list[str]: e.g. ``'  building: 1204 px (12.0%), 3010.0 m^2 (0.30 ha)'``.
    """
    total = max(int(counts.sum()), 1)
    lines = []
    for index, count in enumerate(counts.tolist()):
        if count == 0:
            continue
        name = classes[index] if index < len(classes) else f'class {index}'
        unit = 'voxels' if voxel_ml is not None else 'px'
        line = f'  {name}: {count} {unit} ({100 * count / total:.1f}%)'
        if pixel_m2 is not None:
            area = count * pixel_m2
            line += f', {area:.1f} m^2 ({area / 10_000:.2f} ha)'
        if voxel_ml is not None:
            line += f', {count * voxel_ml:.2f} ml'
        lines.append(line)
    return lines
