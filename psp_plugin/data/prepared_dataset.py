"""The prepared dataset on disk: its description (:class:`PreparedDataset`) and its MMSeg dataset.

Layout of a prepared root ``OUT`` (written by :func:`psp_plugin.data.import_dataset`)::

    OUT/images/{train,val,test}/<name>.tif   (H, W, C) float32 or the original integer dtype
    OUT/masks/{train,val,test}/<name>.png    uint8 classes 0..K-1, ignore pixels 255
    OUT/dataset.json, OUT/splits.json, OUT/fingerprint.json
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .errors import import_error
from .oversampling import mask_holds_classes, oversample

__all__ = ['PreparedDataset', 'PreparedSegDataset', 'load_prepared', 'SPLITS']

SPLITS = ('train', 'val', 'test')


@dataclass
class PreparedDataset:
    """What a prepared root holds (read from its ``dataset.json`` and ``splits.json``).

    Attributes:
        root: The prepared root folder.
        classes: K class names; mask value i is ``classes[i]``.
        palette: K ``[r, g, b]`` colours.
        channels: C, channels of every image.
        kind: ``'images'``, ``'volumes'`` or ``'rasters'``.
        splits: ``{'train': [names], 'val': [...], 'test': [...]}``.
        normalization: The ``clip_zscore`` dict (train statistics).
        ignore_index: Mask value ignored in training and evaluation (255).
        label_mapping: ``{original value or colour: class index}``.
        axis: Slicing axis of volumes, else None.
        spacing: Voxel or pixel spacing of the source, else None.
        notes: What the import decided and why, one sentence each.
    """

    root: Path
    classes: list[str]
    palette: list[list[int]]
    channels: int
    kind: str
    splits: dict[str, list[str]]
    normalization: dict
    ignore_index: int = 255
    label_mapping: dict[str, int] = field(default_factory=dict)
    axis: Optional[int] = None
    spacing: Optional[list[float]] = None
    source: str = ''
    notes: list[str] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        """K, the number of classes."""
        return len(self.classes)

    def image_path(self, split: str, name: str) -> Path:
        """Path of the prepared image ``name`` of ``split``."""
        return self.root / 'images' / split / f'{name}.tif'

    def mask_path(self, split: str, name: str) -> Path:
        """Path of the prepared mask ``name`` of ``split``."""
        return self.root / 'masks' / split / f'{name}.png'


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise import_error(
            path,
            'is missing, so this is not a prepared dataset',
            'run `psp-plugin import DATA --out OUT` first and pass OUT',
        )
    try:
        return json.loads(path.read_text(encoding='utf-8'))
    except json.JSONDecodeError as error:
        raise import_error(
            path, f'is not valid JSON ({error})', 'repair the file or re-run the import'
        ) from error


def load_prepared(out_dir: str | Path) -> PreparedDataset:
    """Read a prepared root's ``dataset.json`` and ``splits.json``.

    Args:
        out_dir (str | Path): The prepared root (``--out`` of the import).

    Returns:
        PreparedDataset: Its description.
    """
    root = Path(out_dir).resolve()
    meta = _read_json(root / 'dataset.json')
    splits = _read_json(root / 'splits.json')
    return PreparedDataset(
        root=root,
        classes=list(meta['classes']),
        palette=[list(c) for c in meta['palette']],
        channels=int(meta['channels']),
        kind=meta['kind'],
        splits={split: list(splits.get(split, [])) for split in SPLITS},
        normalization=meta['normalization'],
        ignore_index=int(meta.get('ignore_index', 255)),
        label_mapping=dict(meta.get('label_mapping', {})),
        axis=meta.get('axis'),
        spacing=meta.get('spacing'),
        source=meta.get('source', ''),
        notes=list(meta.get('notes', [])),
    )


@DATASETS.register_module()
class PreparedSegDataset(BaseSegDataset):
    """One split of a prepared root, with classes and palette from its ``dataset.json``.

    Args:
        data_root (str): The prepared root.
        split (str): ``'train'``, ``'val'`` or ``'test'``. Defaults to ``'train'``.
        oversample_classes (Sequence[int]): Repeat the images whose mask holds any of these
            classes (rare ones; see ``RareClassCrop``) until they make ``oversample_share`` of
            the list. Default: none.
        oversample_share (float): Their share after repeating. Default: 1/3.
        **kwargs: Passed to ``BaseSegDataset`` (pipeline, test_mode, ...). ``metainfo``
            overrides the classes and palette read from ``dataset.json``.
    """

    def __init__(self, data_root: str, split: str = 'train', oversample_classes=(),
                 oversample_share: float = 1 / 3, **kwargs) -> None:
        if split not in SPLITS:
            raise ValueError(f'split={split!r} is not one of {SPLITS}; set split in the dataset config')
        self.oversample_classes = tuple(int(c) for c in oversample_classes)
        self.oversample_share = float(oversample_share)
        meta = _read_json(Path(data_root) / 'dataset.json')
        kwargs.setdefault(
            'metainfo', dict(classes=tuple(meta['classes']), palette=[list(c) for c in meta['palette']])
        )
        kwargs.setdefault('img_suffix', '.tif')
        kwargs.setdefault('seg_map_suffix', '.png')
        kwargs.setdefault('data_prefix', dict(img_path=f'images/{split}', seg_map_path=f'masks/{split}'))
        kwargs.setdefault('ignore_index', int(meta.get('ignore_index', 255)))
        kwargs.setdefault('reduce_zero_label', False)
        self.split = split
        super().__init__(data_root=data_root, **kwargs)

    def load_data_list(self) -> list[dict]:
        """MMSeg's list of the split's images, with rare-class images repeated when asked."""
        data_list = super().load_data_list()
        if not self.oversample_classes or not data_list:
            return data_list
        holds = [mask_holds_classes(info['seg_map_path'], self.oversample_classes) for info in data_list]
        return oversample(data_list, holds, self.oversample_share)
