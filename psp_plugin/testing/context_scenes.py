"""Context scenes: generated images where only the scene decides an object's class.

PSPNet's claim (Zhao et al., CVPR 2017, https://arxiv.org/abs/1612.01105) is that
global context fixes mistakes a local classifier cannot avoid, e.g. a boat on water
mistaken for a car. This generator builds that situation by construction:

* every image has a neutral textured ``floor`` and, along one randomly chosen edge,
  a context band that is either ``sky`` (an outdoor scene) or ``ceiling`` (indoor);
* small discs are drawn on the floor, pixel-identical in both scene types, and at
  least ``min_gap`` pixels away from the band; a disc is a ``ball`` outdoors and a
  ``lamp`` indoors.

Rendering one :class:`SceneLayout` as both scene types gives images that differ
only inside the band while every disc changes class, so a model can label the
discs correctly only if it sees the band from ``min_gap`` pixels away.
"""
from __future__ import annotations

import os.path as osp
from dataclasses import dataclass

import mmcv
import numpy as np
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

CLASSES = ('floor', 'sky', 'ceiling', 'ball', 'lamp')
PALETTE = [[128, 128, 128], [90, 150, 230], [160, 100, 50], [230, 60, 60],
           [250, 220, 60]]
SCENE_TYPES = ('outdoor', 'indoor')
CONTEXT_SIDES = ('top', 'bottom', 'left', 'right')
# scene type -> (label of its context band, label its discs get)
SCENE_LABELS = {'outdoor': (1, 3), 'indoor': (2, 4)}
BAND_COLOURS = {'outdoor': (90, 150, 230), 'indoor': (160, 100, 50)}
FLOOR_GREY = 128
TEXTURE_AMPLITUDE = 20
DISC_FILL = (235, 235, 235)
DISC_RIM = (40, 40, 40)
DISC_RIM_WIDTH = 2
SPLIT_CODES = {'train': 0, 'val': 1}


@dataclass(frozen=True)
class SceneGeometry:
    """Sizes of a context scene, in pixels.

    Args:
        size (int): Height and width of the square image. Defaults to 128.
        band_width (int): Thickness of the context band. Defaults to 16.
        min_gap (int): Smallest distance between the band and any disc pixel.
            Defaults to 64.
        disc_radius (int): Radius of every disc. Defaults to 8.
        max_discs (int): Each image holds 1 to ``max_discs`` discs. Defaults to 4.
    """

    size: int = 128
    band_width: int = 16
    min_gap: int = 64
    disc_radius: int = 8
    max_discs: int = 4

    def __post_init__(self) -> None:
        needed = self.band_width + self.min_gap + 2 * self.disc_radius + 1
        if needed > self.size:
            raise ValueError(
                f'SceneGeometry(size={self.size}) cannot hold a band of '
                f'{self.band_width} px, a gap of {self.min_gap} px and a disc of '
                f'radius {self.disc_radius} ({needed} px needed); raise size or '
                'lower band_width/min_gap/disc_radius.')
        if self.disc_radius <= DISC_RIM_WIDTH or self.max_discs < 1:
            raise ValueError(
                f'disc_radius={self.disc_radius} must exceed the rim width '
                f'{DISC_RIM_WIDTH} and max_discs={self.max_discs} must be >= 1.')


@dataclass(frozen=True)
class SceneLayout:
    """Everything about a scene except its type (outdoor or indoor).

    Args:
        context_side (str): Edge that holds the context band, one of
            ``CONTEXT_SIDES``.
        disc_centres (tuple): ``(row, col)`` of every disc.
        texture_seed (int): Seed of the floor and band texture noise.
    """

    context_side: str
    disc_centres: tuple[tuple[int, int], ...]
    texture_seed: int


def band_mask(side: str, geometry: SceneGeometry) -> np.ndarray:
    """Return the (H, W) boolean mask of the context band on ``side``."""
    mask = np.zeros((geometry.size, geometry.size), dtype=bool)
    width = geometry.band_width
    bands = {'top': (slice(0, width), slice(None)),
             'bottom': (slice(-width, None), slice(None)),
             'left': (slice(None), slice(0, width)),
             'right': (slice(None), slice(-width, None))}
    if side not in bands:
        raise ValueError(f'context_side={side!r} is not one of {CONTEXT_SIDES}.')
    mask[bands[side]] = True
    return mask


def _disc_slab(side: str, geometry: SceneGeometry) -> tuple[range, range]:
    """Rows and columns where a disc centre keeps ``min_gap`` from the band."""
    radius, size = geometry.disc_radius, geometry.size
    near = geometry.band_width + geometry.min_gap + radius
    across = range(radius, size - radius)
    away = range(near, size - radius)
    towards = range(radius, size - near)
    slabs = {'top': (away, across), 'bottom': (towards, across),
             'left': (across, away), 'right': (across, towards)}
    return slabs[side]


def sample_layout(rng: np.random.Generator,
                  geometry: SceneGeometry = SceneGeometry()) -> SceneLayout:
    """Draw a band side, non-overlapping disc centres and a texture seed.

    Args:
        rng (np.random.Generator): Source of randomness.
        geometry (SceneGeometry): Scene sizes.

    Returns:
        SceneLayout: A layout that renders as either scene type.
    """
    side = CONTEXT_SIDES[int(rng.integers(len(CONTEXT_SIDES)))]
    rows, cols = _disc_slab(side, geometry)
    wanted = int(rng.integers(1, geometry.max_discs + 1))
    min_separation = 2 * geometry.disc_radius + 2
    centres: list[tuple[int, int]] = []
    for _ in range(50 * wanted):
        if len(centres) == wanted:
            break
        centre = (int(rng.choice(rows)), int(rng.choice(cols)))
        if all(np.hypot(centre[0] - r, centre[1] - c) >= min_separation
               for r, c in centres):
            centres.append(centre)
    texture_seed = int(rng.integers(2**31))
    return SceneLayout(side, tuple(centres), texture_seed)


def render_scene(layout: SceneLayout, scene_type: str,
                 geometry: SceneGeometry = SceneGeometry()
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``layout`` as an outdoor or indoor scene.

    Args:
        layout (SceneLayout): Band side, disc centres and texture seed.
        scene_type (str): ``'outdoor'`` (sky band, discs are balls) or
            ``'indoor'`` (ceiling band, discs are lamps).
        geometry (SceneGeometry): Scene sizes.

    Returns:
        tuple[np.ndarray, np.ndarray]: (H, W, 3) uint8 RGB image and (H, W)
        uint8 label map with values indexing ``CLASSES``.
    """
    if scene_type not in SCENE_LABELS:
        raise ValueError(f'scene_type={scene_type!r} is not one of {SCENE_TYPES}.')
    size = geometry.size
    texture_rng = np.random.default_rng(layout.texture_seed)
    floor_noise = texture_rng.integers(
        -TEXTURE_AMPLITUDE, TEXTURE_AMPLITUDE + 1, size=(size, size, 3))
    band_noise = texture_rng.integers(
        -TEXTURE_AMPLITUDE, TEXTURE_AMPLITUDE + 1, size=(size, size, 3))
    band_label, disc_label = SCENE_LABELS[scene_type]

    image = FLOOR_GREY + floor_noise
    label = np.zeros((size, size), dtype=np.uint8)
    band = band_mask(layout.context_side, geometry)
    image[band] = np.asarray(BAND_COLOURS[scene_type]) + band_noise[band]
    label[band] = band_label

    rows, cols = np.mgrid[0:size, 0:size]
    for row, col in layout.disc_centres:
        distance = np.hypot(rows - row, cols - col)
        disc = distance <= geometry.disc_radius
        image[disc] = DISC_RIM
        image[distance <= geometry.disc_radius - DISC_RIM_WIDTH] = DISC_FILL
        label[disc] = disc_label
    return np.clip(image, 0, 255).astype(np.uint8), label


def scene_for_index(*, seed: int, split: str, index: int,
                    geometry: SceneGeometry = SceneGeometry()
                    ) -> tuple[np.ndarray, np.ndarray, str]:
    """Return the deterministic (image, label, scene type) of one sample.

    Scene types alternate with ``index`` so both are equally frequent; the
    layout is drawn from a generator seeded by ``(seed, split, index)`` alone.
    """
    if split not in SPLIT_CODES:
        raise ValueError(f'split={split!r} is not one of {tuple(SPLIT_CODES)}.')
    rng = np.random.default_rng((seed, SPLIT_CODES[split], index))
    scene_type = SCENE_TYPES[index % 2]
    image, label = render_scene(sample_layout(rng, geometry), scene_type, geometry)
    return image, label, scene_type


def generate_context_scenes(data_root: str, *, num_train: int = 400,
                            num_val: int = 100, seed: int = 0,
                            geometry: SceneGeometry = SceneGeometry()) -> str:
    """Write the dataset as ``img_dir/{train,val}/*.png`` + ``ann_dir/...``.

    Args:
        data_root (str): Folder to write into (created if missing).
        num_train (int): Number of training images. Defaults to 400.
        num_val (int): Number of validation images. Defaults to 100.
        seed (int): Seed of the whole dataset. Defaults to 0.
        geometry (SceneGeometry): Scene sizes.

    Returns:
        str: ``data_root``, for use as a config's ``data_root``.
    """
    for split, count in (('train', num_train), ('val', num_val)):
        for index in range(count):
            image, label, _ = scene_for_index(
                seed=seed, split=split, index=index, geometry=geometry)
            name = f'scene_{index:05d}.png'
            mmcv.imwrite(image[..., ::-1],
                         osp.join(data_root, 'img_dir', split, name))
            mmcv.imwrite(label, osp.join(data_root, 'ann_dir', split, name))
    return data_root


@DATASETS.register_module()
class ContextScenesDataset(BaseSegDataset):
    """The context scenes written by :func:`generate_context_scenes`.

    Labels index ``CLASSES`` directly, so ``reduce_zero_label`` must stay
    False; images and label maps are both ``.png`` with the same stem.

    Example:
        >>> root = generate_context_scenes('data/context_scenes', num_train=8,
        ...                                num_val=2)
        >>> dataset = ContextScenesDataset(
        ...     data_root=root, data_prefix=dict(img_path='img_dir/val',
        ...                                      seg_map_path='ann_dir/val'))
        >>> len(dataset), dataset.metainfo['classes'][3:]
        (2, ('ball', 'lamp'))
    """

    METAINFO = dict(classes=CLASSES, palette=PALETTE)

    def __init__(self, *, img_suffix: str = '.png', seg_map_suffix: str = '.png',
                 reduce_zero_label: bool = False, **kwargs) -> None:
        if reduce_zero_label:
            raise ValueError(
                'reduce_zero_label=True would make the floor class (label 0) '
                'the ignore index and shift the other labels; context-scene '
                'labels start at 0, so leave reduce_zero_label=False.')
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=False, **kwargs)
