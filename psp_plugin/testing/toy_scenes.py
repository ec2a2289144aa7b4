"""A tiny generated segmentation dataset for tests and quick CPU runs.

Each scene is a textured grey background with one disc, one rectangle and one
triangle, each in its own colour family, at random positions and sizes.
Everything is drawn from a seeded generator, so the same arguments always give
byte-identical files. The layout on disk is MMSeg's usual one::

    root/img_dir/{train,val}/scene_0000.png   RGB images, uint8
    root/ann_dir/{train,val}/scene_0000.png   labels, uint8 in 0..3

Example:
    >>> from psp_plugin.testing.toy_scenes import make_toy_scenes
    >>> root = make_toy_scenes('/tmp/toy', num_train=2, num_val=1)
    >>> sorted(p.name for p in (root / 'ann_dir' / 'val').iterdir())
    ['scene_0000.png']
"""
from pathlib import Path
from typing import Tuple

import cv2
import numpy as np
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

TOY_CLASSES = ('background', 'disc', 'rectangle', 'triangle')
TOY_PALETTE = [[90, 90, 90], [220, 40, 40], [40, 200, 60], [50, 80, 230]]
# Mean RGB colour of each class's pixels in the generated images.
_CLASS_COLOURS = np.array(TOY_PALETTE, dtype=np.float32)
_SPLIT_SEED_OFFSET = {'train': 0, 'val': 1_000_003}


def _draw_label_map(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Draw one disc, rectangle and triangle, in random order, on a blank map.

    Returns:
        np.ndarray: (H, W) uint8 labels in 0..3 (0 is background).
    """
    labels = np.zeros((height, width), dtype=np.uint8)
    short_side = min(height, width)
    for class_index in rng.permutation([1, 2, 3]):
        size = int(rng.integers(short_side // 6, short_side // 3 + 1))
        cy = int(rng.integers(size, height - size))
        cx = int(rng.integers(size, width - size))
        if class_index == 1:
            cv2.circle(labels, (cx, cy), size, int(class_index), thickness=-1)
        elif class_index == 2:
            half_w = int(rng.integers(size // 2, size + 1))
            cv2.rectangle(labels, (cx - half_w, cy - size // 2), (cx + half_w, cy + size // 2),
                          int(class_index), thickness=-1)
        else:
            corners = np.array([[cx, cy - size], [cx - size, cy + size], [cx + size, cy + size]],
                               dtype=np.int32)
            cv2.fillPoly(labels, [corners], int(class_index))
    return labels


def _paint_image(rng: np.random.Generator, labels: np.ndarray) -> np.ndarray:
    """Colour each class with its own colour plus texture noise.

    Args:
        labels (np.ndarray): (H, W) uint8 labels in 0..3.

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB image.
    """
    height, width = labels.shape
    image = _CLASS_COLOURS[labels]
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi, size=2)
    stripes = 20.0 * np.sin(xx / 3.0 + phase[0]) * np.cos(yy / 5.0 + phase[1])
    image += np.where(labels == 0, stripes, 0.0)[:, :, None]
    image += rng.normal(0.0, 12.0, size=image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def make_toy_scenes(root: str | Path, *, num_train: int = 8, num_val: int = 4,
                    size: Tuple[int, int] = (64, 64), seed: int = 0) -> Path:
    """Write the toy-scenes dataset under ``root`` and return ``root``.

    Args:
        root (str | Path): Folder to write into; created if missing. Files
            already there with the same names are overwritten.
        num_train (int): Number of training scenes. Defaults to 8.
        num_val (int): Number of validation scenes. Defaults to 4.
        size (tuple[int, int]): (H, W) of every scene; each side >= 24.
            Defaults to (64, 64).
        seed (int): Seed of the generator; the same seed gives identical
            files. Defaults to 0.

    Returns:
        Path: ``root``, holding ``img_dir/{train,val}`` and ``ann_dir/{train,val}``.
    """
    height, width = size
    if min(height, width) < 24:
        raise ValueError(
            f'size={size} is too small for the toy scenes; use sides of at least 24 pixels')
    if num_train < 1 or num_val < 1:
        raise ValueError(f'num_train={num_train} and num_val={num_val} must both be at least 1')
    root = Path(root)
    for split, count in (('train', num_train), ('val', num_val)):
        img_dir = root / 'img_dir' / split
        ann_dir = root / 'ann_dir' / split
        img_dir.mkdir(parents=True, exist_ok=True)
        ann_dir.mkdir(parents=True, exist_ok=True)
        for index in range(count):
            rng = np.random.default_rng([seed, _SPLIT_SEED_OFFSET[split] + index])
            labels = _draw_label_map(rng, height, width)
            image_rgb = _paint_image(rng, labels)
            name = f'scene_{index:04d}.png'
            cv2.imwrite(str(img_dir / name), np.ascontiguousarray(image_rgb[:, :, ::-1]))
            cv2.imwrite(str(ann_dir / name), labels)
    return root


@DATASETS.register_module()
class ToySceneDataset(BaseSegDataset):
    """The generated toy scenes: background, disc, rectangle, triangle.

    Label 0 is a real class (background), so ``reduce_zero_label`` is False;
    the ignore index 255 never occurs in the generated maps.

    Args:
        img_suffix (str): Image file suffix. Defaults to '.png'.
        seg_map_suffix (str): Label file suffix. Defaults to '.png'.
        **kwargs: Passed on to :class:`mmseg.datasets.BaseSegDataset`
            (``data_root``, ``data_prefix``, ``pipeline``, ...).
    """

    METAINFO = dict(classes=TOY_CLASSES, palette=TOY_PALETTE)

    def __init__(self, img_suffix: str = '.png', seg_map_suffix: str = '.png',
                 reduce_zero_label: bool = False, **kwargs) -> None:
        if reduce_zero_label:
            raise ValueError(
                'reduce_zero_label=True would turn the background class (label 0) into the '
                'ignore index and shift the others; ToySceneDataset labels start at 0, so '
                'leave reduce_zero_label=False')
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=False, **kwargs)
