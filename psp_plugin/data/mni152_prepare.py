"""Turn nilearn's MNI ICBM152 2009 template into an MMSeg dataset on disk.

The only real segmentation data that can be had offline here ships inside the
``nilearn`` package: the 1 mm T1 template of the ICBM152 2009 (symmetric)
atlas with grey- and white-matter probability maps. This module cuts it into
2D slices and writes an MMSeg-style folder::

    out_dir/
      img_dir/{train,val}/<axis>_<index>.png   uint8 T1 slice (grey)
      ann_dir/{train,val}/<axis>_<index>.png   uint8 label 0/1/2
      prepare_summary.json                     settings, counts, file lists

Rules (all deterministic, no randomness anywhere):

* **Labels**: 0 background (everything else, CSF included), 1 grey matter,
  2 white matter. A voxel is tissue when its probability is > 0.5; if both
  were > 0.5 the larger probability wins and an exact tie goes to grey matter
  (argmax). In nilearn's maps GM + WM <= 1, so that tie rule never fires.
* **Slices**: along all three axes (``sag``, ``cor``, ``axi``), keeping those
  with at least ``min_tissue_pixels`` tissue pixels. Each slice is rotated by
  90 degrees so that up in the PNG is superior (anterior for axial slices).
* **Duplicates**: the 2009 *symmetric* template is exactly mirror-symmetric
  about the mid-sagittal plane (sagittal slice 98 - k equals 98 + k), so a
  slice identical to one already kept is dropped; otherwise a validation slice
  would have an exact copy in the training set.
* **Images**: the volume is scaled by its 99.5th percentile of non-zero
  voxels (one factor for the whole volume, so slices stay comparable),
  clipped to [0, 1] and stored as ``round(255 * v)``.
* **Split**: along each axis the kept slices are numbered from 0 and grouped
  in blocks of ``block_size`` contiguous slices; every block with
  ``block % val_every == val_every // 2`` is validation. Training slices
  closer than ``gap + 1`` slices to any validation slice of the same axis are
  dropped, so no training slice neighbours a validation slice. (Slices of
  different axes always cross along one line of voxels; that is inherent to
  cutting one volume three ways.)
"""
import hashlib
import json
import os
import os.path as osp
import shutil
from typing import Dict, List, Optional, Tuple

import numpy as np

AXIS_NAMES = ('sag', 'cor', 'axi')
SPLITS = ('train', 'val')
NUM_CLASSES = 3
SUMMARY_FILE = 'prepare_summary.json'
FORMAT_VERSION = 1


def load_mni152_volumes() -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Load the T1, GM and WM volumes shipped inside nilearn (no download).

    Returns:
        tuple[np.ndarray]: T1 intensity, GM probability and WM probability,
        each (197, 233, 189) float32 in [0, 1].
    """
    try:
        from nilearn import datasets
    except ImportError as err:
        raise ImportError(
            'Preparing the MNI152 dataset needs the `nilearn` package (it '
            'ships the MNI152 template, so nothing is downloaded). Install it '
            'with `.venv/bin/pip install "nilearn>=0.10"` (or `pip install '
            'nilearn` in your environment).') from err
    volumes = [
        np.asarray(loader(resolution=1).get_fdata(), dtype=np.float32)
        for loader in (datasets.load_mni152_template,
                       datasets.load_mni152_gm_template,
                       datasets.load_mni152_wm_template)
    ]
    return volumes[0], volumes[1], volumes[2]


def tissue_labels(gm: np.ndarray, wm: np.ndarray) -> np.ndarray:
    """Label voxels 0 (background), 1 (GM) or 2 (WM) from probability maps.

    Args:
        gm (np.ndarray): grey-matter probability, any shape.
        wm (np.ndarray): white-matter probability, same shape.

    Returns:
        np.ndarray: uint8 labels of the same shape: tissue where p > 0.5,
        the larger probability where both are, grey matter on an exact tie.
    """
    labels = np.zeros(gm.shape, dtype=np.uint8)
    labels[gm > 0.5] = 1
    labels[(wm > 0.5) & (wm > gm)] = 2
    return labels


def intensity_to_uint8(t1: np.ndarray) -> np.ndarray:
    """Scale a T1 volume to uint8 with one factor for the whole volume.

    Args:
        t1 (np.ndarray): (X, Y, Z) intensities >= 0.

    Returns:
        np.ndarray: (X, Y, Z) uint8, ``round(255 * clip(t1 / p99.5, 0, 1))``
        where p99.5 is the 99.5th percentile of the non-zero voxels.
    """
    nonzero = t1[t1 > 0]
    if nonzero.size == 0:
        raise ValueError('The T1 volume is all zeros; nothing to prepare.')
    scale = float(np.percentile(nonzero, 99.5))
    return np.round(255 * np.clip(t1 / scale, 0, 1)).astype(np.uint8)


def assign_split(num_slices: int, *, block_size: int, val_every: int,
                 gap: int) -> List[Optional[str]]:
    """Assign slices 0..num_slices-1 of one axis to 'train', 'val' or None.

    Args:
        num_slices (int): number of contiguous slices along the axis.
        block_size (int): slices per block.
        val_every (int): one block in ``val_every`` is validation.
        gap (int): training slices within ``gap`` slices of a validation
            slice are dropped (None).

    Returns:
        list[str | None]: the split of every slice.
    """
    if block_size < 1 or val_every < 2 or gap < 1:
        raise ValueError(
            f'block_size={block_size}, val_every={val_every}, gap={gap}: need '
            'block_size >= 1, val_every >= 2 and gap >= 1 (gap 0 would put '
            'neighbouring slices in train and val).')
    index = np.arange(num_slices)
    is_val = (index // block_size) % val_every == val_every // 2
    val_index = index[is_val]
    splits: List[Optional[str]] = []
    for i in index:
        if is_val[i]:
            splits.append('val')
        elif val_index.size and np.abs(val_index - i).min() <= gap:
            splits.append(None)
        else:
            splits.append('train')
    return splits


def _axis_slices(volume: np.ndarray, axis: int, index: int) -> np.ndarray:
    """(H, W) slice ``index`` along ``axis``, rotated so superior is up."""
    return np.rot90(np.moveaxis(volume, axis, 0)[index])


def _collect_slices(image: np.ndarray, labels: np.ndarray, *,
                    min_tissue_pixels: int) -> Dict[str, List[dict]]:
    """Kept (non-empty, non-duplicate) slices per axis, in slice order."""
    seen = set()
    kept: Dict[str, List[dict]] = {}
    for axis, axis_name in enumerate(AXIS_NAMES):
        kept[axis_name] = []
        for index in range(image.shape[axis]):
            label = _axis_slices(labels, axis, index)
            if int((label > 0).sum()) < min_tissue_pixels:
                continue
            img = _axis_slices(image, axis, index)
            key = hashlib.sha1(img.tobytes() + label.tobytes()).hexdigest()
            if key in seen:
                continue
            seen.add(key)
            kept[axis_name].append(
                dict(name=f'{axis_name}_{index:03d}', img=img, label=label))
    return kept


def _write_png(path: str, array: np.ndarray) -> None:
    from PIL import Image
    Image.fromarray(np.ascontiguousarray(array), mode='L').save(path)


def prepare_mni152(out_dir: str, *, block_size: int = 10, val_every: int = 5,
                   gap: int = 3, min_tissue_pixels: int = 100,
                   verbose: bool = True) -> dict:
    """Write the MNI152 tissue dataset (see the module docstring) to disk.

    Args:
        out_dir (str): dataset root to create; its ``img_dir``/``ann_dir``
            split folders are emptied first.
        block_size (int): contiguous slices per split block. Default: 10.
        val_every (int): one block in ``val_every`` is validation. Default: 5.
        gap (int): slices dropped between train and val blocks. Default: 3.
        min_tissue_pixels (int): a slice needs at least this many GM/WM
            pixels to be kept. Default: 100.
        verbose (bool): print the counts. Default: True.

    Returns:
        dict: the summary also written to ``out_dir/prepare_summary.json``:
        settings, ``counts[split][axis]``, ``pixels[split]`` (per class) and
        ``files[split]`` (slice names).
    """
    t1, gm, wm = load_mni152_volumes()
    labels = tissue_labels(gm, wm)
    image = intensity_to_uint8(t1)
    kept = _collect_slices(image, labels, min_tissue_pixels=min_tissue_pixels)
    files: Dict[str, List[str]] = {split: [] for split in SPLITS}
    counts = {split: {axis: 0 for axis in AXIS_NAMES} for split in SPLITS}
    pixels = {split: [0] * NUM_CLASSES for split in SPLITS}
    for split in SPLITS:
        for sub in ('img_dir', 'ann_dir'):
            folder = osp.join(out_dir, sub, split)
            shutil.rmtree(folder, ignore_errors=True)
            os.makedirs(folder)
    for axis_name, slices in kept.items():
        splits = assign_split(len(slices), block_size=block_size,
                              val_every=val_every, gap=gap)
        for item, split in zip(slices, splits):
            if split is None:
                continue
            file_name = item['name'] + '.png'
            _write_png(osp.join(out_dir, 'img_dir', split, file_name),
                       item['img'])
            _write_png(osp.join(out_dir, 'ann_dir', split, file_name),
                       item['label'])
            files[split].append(item['name'])
            counts[split][axis_name] += 1
            hist = np.bincount(item['label'].ravel(), minlength=NUM_CLASSES)
            pixels[split] = [a + int(b) for a, b in zip(pixels[split], hist)]
    summary = dict(
        format_version=FORMAT_VERSION,
        source='nilearn MNI ICBM152 2009 (sym) 1 mm: T1, GM and WM maps',
        settings=dict(block_size=block_size, val_every=val_every, gap=gap,
                      min_tissue_pixels=min_tissue_pixels),
        classes=['background', 'grey_matter', 'white_matter'],
        counts=counts, pixels=pixels, files=files)
    with open(osp.join(out_dir, SUMMARY_FILE), 'w') as f:
        json.dump(summary, f, indent=1)
    if verbose:
        print(format_counts(summary))
    return summary


def format_counts(summary: dict) -> str:
    """One line per split: slices per axis and pixel shares per class."""
    lines = []
    for split in SPLITS:
        counts = summary['counts'][split]
        pixels = np.asarray(summary['pixels'][split], dtype=np.float64)
        shares = ', '.join(
            f'{name} {100 * p / max(pixels.sum(), 1):.1f}%'
            for name, p in zip(summary['classes'], pixels))
        per_axis = ', '.join(f'{axis} {n}' for axis, n in counts.items())
        lines.append(f'MNI152 {split}: {sum(counts.values())} slices '
                     f'({per_axis}); pixels: {shares}')
    return '\n'.join(lines)
