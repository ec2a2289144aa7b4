"""Small datasets written by the tests of psp_plugin.data (images, masks, volumes, rasters)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from PIL import Image


def write_png(path: Path, array: np.ndarray, palette: list[int] | None = None) -> Path:
    """Write ``array`` as PNG (uint8 L/RGB/RGBA, uint16 I;16; ``palette`` makes a palette PNG)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if palette is not None:
        image = Image.frombytes('P', array.shape[::-1], array.astype(np.uint8).tobytes())
        image.putpalette(palette)
    else:
        image = Image.fromarray(array)
    image.save(path)
    return path


def blob_mask(size: int, classes: int, seed: int) -> np.ndarray:
    """(size, size) uint8 mask with one rectangle per class 1..classes-1 on class 0."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((size, size), np.uint8)
    for cls in range(1, classes):
        top, left = rng.integers(0, size // 2, 2)
        mask[top : top + size // 3, left : left + size // 3] = cls
    return mask


@pytest.fixture
def image_folder(tmp_path: Path) -> Callable[..., Path]:
    """Write ``images/`` + ``masks/`` with ``count`` pairs; returns the dataset folder.

    Keyword args: count, size, classes, dtype ('uint8'|'uint16'), mask_scale (255 for 0/255
    binary masks), mask_suffix (e.g. '_mask'), mask_folder ('masks').
    """

    def build(
        count: int = 12,
        size: int = 32,
        classes: int = 3,
        dtype: str = 'uint8',
        mask_scale: int = 1,
        mask_suffix: str = '',
        mask_folder: str = 'masks',
        name: str = 'data',
    ) -> Path:
        root = tmp_path / name
        rng = np.random.default_rng(0)
        for index in range(count):
            mask = blob_mask(size, classes, index)
            high = 255 if dtype == 'uint8' else 4000
            image = (
                mask.astype(np.float64) * high / max(classes - 1, 1) * 0.6
                + rng.uniform(0, high * 0.4, mask.shape)
            ).astype(dtype)
            write_png(root / 'images' / f'img{index:03d}.png', image)
            write_png(
                root / mask_folder / f'img{index:03d}{mask_suffix}.png', (mask * mask_scale).astype(np.uint8)
            )
        return root

    return build
