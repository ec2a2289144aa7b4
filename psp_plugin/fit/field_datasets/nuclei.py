"""Fluorescence nuclei from the ``stardist`` wheel: one 2-D image with its instance mask.

* ``stardist/data/images/img2d.tif`` + ``mask2d.tif``: a 512 x 512 16-bit fluorescence image from the
  2018 Data Science Bowl (Caicedo et al., Nature Methods 2019), and its instance-id mask (125 nuclei).
  Written as ``images/nuclei2d.tif`` + ``masks/nuclei2d.tif`` unchanged (tifffile): the import tiles it
  (``tile_images``) and turns the ids into one foreground class (``instances_as='foreground'``).

The wheel's 3-D stack (``img3d.tif``) is not used: stardist's own docstring calls it *synthetic nuclei*.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import tifffile

from .wheels import WheelSource, read_member, start_dataset_folder, write_source_note

__all__ = ['STARDIST_WHEEL', 'NUCLEI_CLASSES', 'prepare_nuclei_2d']

STARDIST_WHEEL = WheelSource('stardist', '0.9.2')
MEMBERS_2D = ('stardist/data/images/img2d.tif', 'stardist/data/images/mask2d.tif')
NUCLEI_CLASSES = ('background', 'nucleus')


def _read_pair(wheel: Path, members: tuple[str, str], ndim: int) -> tuple[np.ndarray, np.ndarray]:
    """The image and instance mask of ``members`` (tifffile), both ``ndim``-D of one shape."""
    image, mask = (tifffile.imread(io.BytesIO(read_member(wheel, m))) for m in members)
    if image.ndim != ndim or image.shape != mask.shape:
        raise ValueError(
            f'{members[0]} is {image.shape} and {members[1]} {mask.shape}; expected two '
            f'{ndim}-D arrays of one shape. Fix: use stardist {STARDIST_WHEEL.version}.'
        )
    return image, mask


def _finish(out: Path, wheel: Path, members: tuple[str, str], notes: list[str], mask: np.ndarray) -> dict:
    (out / 'classes.txt').write_text('\n'.join(NUCLEI_CLASSES) + '\n', encoding='utf-8')
    ids = len(np.unique(mask[mask > 0]))
    notes = notes + [
        f'the mask holds {ids} instance ids: import with instances_as="foreground" '
        '(--instances-as foreground) for the classes background and nucleus'
    ]
    return write_source_note(out, wheel, list(members), notes)


def prepare_nuclei_2d(wheel: str | Path, out_dir: str | Path) -> dict:
    """Write ``out_dir/images/nuclei2d.tif``, ``masks/nuclei2d.tif``, ``classes.txt``, ``source.json``.

    Args:
        wheel (str | Path): The ``stardist`` 0.9.2 wheel.
        out_dir (str | Path): The dataset folder to write (``images/`` and ``masks/`` are replaced).

    Returns:
        dict: What ``source.json`` holds.
    """
    wheel, out = Path(wheel), start_dataset_folder(out_dir)
    image, mask = _read_pair(wheel, MEMBERS_2D, 2)
    tifffile.imwrite(out / 'images' / 'nuclei2d.tif', image, photometric='minisblack')
    tifffile.imwrite(out / 'masks' / 'nuclei2d.tif', mask, photometric='minisblack')
    notes = [
        f'one {image.shape[0]}x{image.shape[1]} {image.dtype} fluorescence image (2018 Data Science '
        'Bowl), values kept; import with tile_images=True (--tile) to cut it into tiles'
    ]
    return _finish(out, wheel, MEMBERS_2D, notes, mask)

