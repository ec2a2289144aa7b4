"""Recognise the folder layout of a user's dataset and list its image/mask pairs.

Layouts, tried in this order:

* nnU-Net: ``imagesTr/`` + ``labelsTr/`` (+ ``dataset.json``); ``case_0000``,
  ``case_0001`` ... are the channels of ``case``.
* A folder with ``images/`` and ``masks/`` (or ``labels/``, ``annotations/``,
  ``gt/``), paired by file stem; ``train/``, ``val/``, ``test/`` subfolders on
  both sides are kept as the split.
* MMSeg: ``img_dir/{train,val[,test]}`` + ``ann_dir/{...}``; the split is kept.

The kind follows from the files: NIfTI or NRRD volumes (``.nii``, ``.nii.gz``, ``.nrrd``, ``.nhdr``),
georeferenced TIFF rasters, or plain images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import tifffile

from .errors import import_error
from .pairing import pair_by_stem
from .volume_files import VOLUME_SUFFIXES

__all__ = ['Pair', 'Layout', 'discover_layout', 'IMAGE_FOLDERS', 'MASK_FOLDERS']

IMAGE_FOLDERS = ('images', 'image', 'imgs', 'img')
MASK_FOLDERS = (
    'masks',
    'mask',
    'labels',
    'label',
    'annotations',
    'annotation',
    'gt',
    'ground_truth',
    'groundtruth',
)
SPLIT_FOLDERS = {
    'train': 'train',
    'training': 'train',
    'val': 'val',
    'valid': 'val',
    'validation': 'val',
    'test': 'test',
    'testing': 'test',
}
_GEO_TAGS = (33550, 33922, 34264, 34735)


@dataclass
class Pair:
    """One image (one file, or one file per channel) and its mask.

    Attributes:
        name: Unique output name (relative stem, ``/`` replaced by ``__``).
        images: The image file(s); several files are stacked as channels.
        mask: The mask file.
        split: The split the layout gives it, or None.
    """

    name: str
    images: tuple[Path, ...]
    mask: Path
    split: Optional[str] = None


@dataclass
class Layout:
    """A recognised dataset folder.

    Attributes:
        root: The source folder.
        kind: ``'images'``, ``'volumes'`` or ``'rasters'``.
        pairs: The image/mask pairs.
        description: The layout in words (for the notes).
        notes: What was noticed while pairing.
    """

    root: Path
    kind: str
    pairs: list[Pair]
    description: str
    notes: list[str] = field(default_factory=list)


def _child(root: Path, names: tuple[str, ...]) -> Optional[Path]:
    for name in names:
        for candidate in (root / name, root / name.capitalize(), root / name.upper()):
            if candidate.is_dir():
                return candidate
    return None


def _split_subfolders(folder: Path) -> dict[str, Path]:
    return {
        SPLIT_FOLDERS[p.name.lower()]: p
        for p in sorted(folder.iterdir())
        if p.is_dir() and p.name.lower() in SPLIT_FOLDERS
    }


def _pairs(image_dir: Path, mask_dir: Path, *, nnunet: bool = False) -> list[Pair]:
    splits = _split_subfolders(image_dir)
    if not splits:
        return [
            Pair(key.replace('/', '__'), imgs, mask)
            for key, imgs, mask in pair_by_stem(image_dir, mask_dir, channels_by_suffix=nnunet)
        ]
    pairs = []
    for split, folder in splits.items():
        partner = mask_dir / folder.name
        if not partner.is_dir():
            raise import_error(
                folder,
                f'is a "{folder.name}" split of the images but {partner} does not exist',
                f'put the masks of that split in {partner}',
            )
        pairs += [
            Pair(key.replace('/', '__'), imgs, mask, split)
            for key, imgs, mask in pair_by_stem(folder, partner, channels_by_suffix=nnunet)
        ]
    return pairs


def _is_georeferenced(path: Path) -> bool:
    try:
        with tifffile.TiffFile(path) as tif:
            return any(tag in tif.pages[0].tags for tag in _GEO_TAGS)
    except (tifffile.TiffFileError, OSError, ValueError, IndexError):
        return False


def _kind(pairs: list[Pair]) -> str:
    first = pairs[0].images[0]
    kinds = set()
    for pair in pairs:
        name = pair.images[0].name.lower()
        kinds.add(
            'volumes'
            if name.endswith(VOLUME_SUFFIXES)
            else 'tiff'
            if name.endswith(('.tif', '.tiff'))
            else 'images'
        )
    if len(kinds) > 1:
        raise import_error(
            first.parent,
            f'mixes kinds of files ({sorted(kinds)})',
            'keep one kind per dataset: NIfTI/NRRD volumes, GeoTIFF rasters or 2-D images',
        )
    kind = kinds.pop()
    if kind == 'tiff':
        return 'rasters' if _is_georeferenced(first) else 'images'
    return kind


def discover_layout(source: str | Path) -> Layout:
    """Recognise the layout of ``source`` and pair its images with its masks.

    Args:
        source (str | Path): The dataset folder.

    Returns:
        Layout: Kind, pairs (with any split the layout holds) and a description.
    """
    root = Path(source).resolve()
    if not root.is_dir():
        raise import_error(root, 'is not a folder', 'point at the folder that holds images/ and masks/')
    image_dir, mask_dir = _child(root, IMAGE_FOLDERS), _child(root, MASK_FOLDERS)
    if (root / 'imagesTr').is_dir() and (root / 'labelsTr').is_dir():
        pairs = _pairs(root / 'imagesTr', root / 'labelsTr', nnunet=True)
        description = 'nnU-Net imagesTr/ + labelsTr/'
    elif image_dir is not None and mask_dir is not None:
        pairs = _pairs(image_dir, mask_dir)
        description = f'{image_dir.name}/ + {mask_dir.name}/ paired by file name'
    elif (root / 'img_dir').is_dir() and (root / 'ann_dir').is_dir():
        pairs = _pairs(root / 'img_dir', root / 'ann_dir')
        description = 'MMSeg img_dir/ + ann_dir/'
    else:
        raise import_error(
            root,
            f'has no recognised layout (found {sorted(p.name for p in root.iterdir())[:10]})',
            'arrange it as images/ + masks/ (or labels/, annotations/, gt/) with one mask per '
            'image of the same name, as MMSeg img_dir/ + ann_dir/, or as nnU-Net imagesTr/ + labelsTr/',
        )
    layout = Layout(root, _kind(pairs), pairs, description)
    if any(p.split for p in pairs):
        layout.notes.append(f"the layout's own split is kept ({sorted({p.split for p in pairs if p.split})})")
    return layout
