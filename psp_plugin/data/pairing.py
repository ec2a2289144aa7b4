"""Pair image files with mask files by file stem (optional mask suffixes such as ``_mask``)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import import_error
from .volume_files import VOLUME_SUFFIXES

__all__ = ['file_key', 'list_files', 'pair_by_stem', 'DATA_SUFFIXES']

DATA_SUFFIXES = (
    '.png',
    '.jpg',
    '.jpeg',
    '.jpe',
    '.jfif',
    '.bmp',
    '.webp',
    '.gif',
    '.tif',
    '.tiff',
) + VOLUME_SUFFIXES
MASK_SUFFIXES = (
    '_mask',
    '_masks',
    '-mask',
    '.mask',
    '_label',
    '_labels',
    '-label',
    '_lbl',
    '_seg',
    '_segmentation',
    '_gt',
    '_anno',
    '_annotation',
    '_labelIds',
    '_labelTrainIds',
    '_trainIds',
)
IMAGE_SUFFIXES = ('_image', '_img', '-image', '_0000')
_NNUNET_CHANNEL = re.compile(r'^(.*)_(\d{4})$')


def _suffix(name: str) -> str:
    lower = name.lower()
    return '.nii.gz' if lower.endswith('.nii.gz') else os.path.splitext(lower)[1]


def file_key(path: Path, root: Path) -> str:
    """Relative path without the extension (``.nii.gz`` counted as one), with ``/`` separators."""
    relative = path.relative_to(root).as_posix()
    return relative[: len(relative) - len(_suffix(path.name))]


def list_files(folder: Path) -> dict[str, Path]:
    """``{key: path}`` of the data files under ``folder`` (recursive, hidden files skipped)."""
    if not folder.is_dir():
        raise import_error(folder, 'is not a folder', 'check the path')
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob('*')):
        if path.name.startswith('.') or not path.is_file() or _suffix(path.name) not in DATA_SUFFIXES:
            continue
        key = file_key(path, folder)
        if key in found:
            raise import_error(
                path,
                f'has the same name as {found[key].name} up to the extension, so the pairing is ambiguous',
                'keep one of the two files',
            )
        found[key] = path
    if not found:
        raise import_error(
            folder,
            f'holds no image or mask files ({", ".join(DATA_SUFFIXES)})',
            'put the files there, or point at the right folder',
        )
    return found


def _strip(key: str, suffixes: tuple[str, ...]) -> str:
    for suffix in suffixes:
        if key.lower().endswith(suffix.lower()) and len(key) > len(suffix):
            return key[: -len(suffix)]
    return key


def _common_suffix(keys: list[str]) -> str:
    """The longest suffix shared by all keys that starts with ``_``, ``-`` or ``.``."""
    if len(keys) < 2:
        return ''
    shortest = min(len(k) for k in keys)
    common = 0
    while common < shortest - 1 and len({k[len(k) - common - 1] for k in keys}) == 1:
        common += 1
    suffix = keys[0][len(keys[0]) - common :] if common else ''
    cut = min((suffix.find(s) for s in '_-.' if s in suffix), default=-1)
    return suffix[cut:] if cut >= 0 else ''


def _schemes(images: dict[str, Path], masks: dict[str, Path]) -> list[tuple[dict, dict]]:
    """Candidate re-keyings of (images, masks); the one pairing most files wins."""
    img_common, mask_common = _common_suffix(list(images)), _common_suffix(list(masks))
    return [
        (images, masks),
        (images, {_strip(k, MASK_SUFFIXES): p for k, p in masks.items()}),
        (
            {_strip(k, IMAGE_SUFFIXES): p for k, p in images.items()},
            {_strip(k, MASK_SUFFIXES): p for k, p in masks.items()},
        ),
        (
            {_strip(k, (img_common,)) if img_common else k: p for k, p in images.items()},
            {_strip(k, (mask_common,)) if mask_common else k: p for k, p in masks.items()},
        ),
    ]


def pair_by_stem(
    image_dir: Path, mask_dir: Path, *, channels_by_suffix: bool = False
) -> list[tuple[str, tuple[Path, ...], Path]]:
    """Pair every image under ``image_dir`` with one mask under ``mask_dir``.

    Args:
        image_dir (Path): Folder of images (searched recursively).
        mask_dir (Path): Folder of masks with the same stems, optionally with a suffix such as
            ``_mask`` (or a suffix shared by all masks).
        channels_by_suffix (bool): nnU-Net naming: ``case_0000``, ``case_0001`` ... are the channels
            of image ``case``, whose mask is ``case``.

    Returns:
        list[tuple[str, tuple[Path, ...], Path]]: (key, image files (one per channel file), mask),
            sorted by key.
    """
    images, masks = list_files(image_dir), list_files(mask_dir)
    if channels_by_suffix:
        grouped: dict[str, list[Path]] = {}
        for key in sorted(images):
            match = _NNUNET_CHANNEL.match(key)
            grouped.setdefault(match.group(1) if match else key, []).append(images[key])
        candidates = [({k: tuple(v) for k, v in grouped.items()}, masks)]
    else:
        candidates = [({k: (p,) for k, p in imgs.items()}, msks) for imgs, msks in _schemes(images, masks)]
    best_images, best_masks = max(candidates, key=lambda c: len(set(c[0]) & set(c[1])))
    lonely_images = sorted(set(best_images) - set(best_masks))
    lonely_masks = sorted(set(best_masks) - set(best_images))
    if lonely_images or lonely_masks:
        problem = (
            f'{len(best_images)} images and {len(best_masks)} masks do not pair up by file name: '
            f'{len(lonely_images)} images have no mask (e.g. {lonely_images[:3]}) and '
            f'{len(lonely_masks)} masks have no image (e.g. {lonely_masks[:3]}) in {mask_dir}'
        )
        raise import_error(
            image_dir,
            problem,
            'name each mask like its image (a suffix such as _mask is allowed), or remove the unpaired files',
        )
    return [(key, best_images[key], best_masks[key]) for key in sorted(best_images)]
