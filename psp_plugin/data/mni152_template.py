"""The MNI ICBM152 2009 template inside ``nilearn``: its volumes, tissue labels and 2D slices.

The only real segmentation data that can be had offline here ships inside the ``nilearn`` package:
the 1 mm T1 template of the ICBM152 2009 (symmetric) atlas with grey- and white-matter probability
maps. The brain-MRI main job's source folder (:mod:`psp_plugin.fit.mni152_source`) is cut from it
with the helpers below.

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
"""
import hashlib
from typing import Dict, List, Tuple

import numpy as np

__all__ = ['AXIS_NAMES', 'axis_slice', 'collect_slices', 'intensity_to_uint8', 'load_mni152_volumes',
           'tissue_labels']

AXIS_NAMES = ('sag', 'cor', 'axi')


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
            'Reading the MNI152 template needs the `nilearn` package (it '
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


def axis_slice(volume: np.ndarray, axis: int, index: int) -> np.ndarray:
    """(H, W) slice ``index`` along ``axis``, rotated so superior is up."""
    return np.rot90(np.moveaxis(volume, axis, 0)[index])


def collect_slices(image: np.ndarray, labels: np.ndarray, *,
                   min_tissue_pixels: int) -> Dict[str, List[dict]]:
    """Kept slices per axis, in slice order (the slice and duplicate rules of the module docstring).

    Args:
        image (np.ndarray): (X, Y, Z) uint8 intensities (:func:`intensity_to_uint8`).
        labels (np.ndarray): (X, Y, Z) uint8 labels 0/1/2 (:func:`tissue_labels`).
        min_tissue_pixels (int): a slice needs at least this many GM/WM pixels to be kept.

    Returns:
        dict[str, list[dict]]: for each of :data:`AXIS_NAMES`, the kept slices as
        ``dict(name='<axis>_<index:03d>', img=(H, W) uint8, label=(H, W) uint8)``.
    """
    seen = set()
    kept: Dict[str, List[dict]] = {}
    for axis, axis_name in enumerate(AXIS_NAMES):
        kept[axis_name] = []
        for index in range(image.shape[axis]):
            label = axis_slice(labels, axis, index)
            if int((label > 0).sum()) < min_tissue_pixels:
                continue
            img = axis_slice(image, axis, index)
            key = hashlib.sha1(img.tobytes() + label.tobytes()).hexdigest()
            if key in seen:
                continue
            seen.add(key)
            kept[axis_name].append(
                dict(name=f'{axis_name}_{index:03d}', img=img, label=label))
    return kept
