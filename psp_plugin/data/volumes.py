"""NIfTI and NRRD volumes and label volumes cut into 2-D slices along one axis.

The axis is the one the user names (0, 1 or 2 of the stored voxel array) or,
by default, the one with the largest voxel spacing (the slice direction of an
anisotropic scan); for isotropic volumes axis 2. A label volume must have the
shape and the geometry of its image (NIfTI affine; NRRD space directions and
origin, :mod:`.volume_files`). Slices whose image is constant (empty
field of view) are skipped. Several channel files (nnU-Net ``_0000``,
``_0001``) or a 4-D image become the channels.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from .errors import import_error
from .layouts import Pair
from .masks import raw_mask_from_array
from .samples import Sample, SampleOptions
from .volume_files import load_volume

__all__ = ['load_volume', 'choose_axis', 'volume_samples']

SKIP_NOTE = 'slices whose image is constant (outside the field of view) were skipped'


def choose_axis(zooms: tuple[float, ...], axis: int | None) -> int:
    """The slicing axis: ``axis`` if given, else the one of largest spacing (2 when isotropic)."""
    if axis is not None:
        if axis not in (0, 1, 2):
            raise import_error(
                'axis', f'{axis} is not a volume axis', 'pass axis 0, 1 or 2 (or leave it unset)'
            )
        return axis
    zooms = tuple(float(z) for z in zooms[:3])
    return int(np.argmax(zooms)) if max(zooms) > 1.2 * min(zooms) else 2


def _image_volume(pair: Pair):
    """(X, Y, Z, C) image array and the geometry of its first file."""
    loaded = [load_volume(path) for path in pair.images]
    arrays = []
    for path, (_, data) in zip(pair.images, loaded):
        if data.ndim not in (3, 4):
            raise import_error(
                path,
                f'has shape {data.shape}, not a 3-D volume (or 3-D with channels)',
                'save one 3-D volume per file (channels as a 4th axis or separate files)',
            )
        arrays.append(data if data.ndim == 4 else data[..., None])
        if arrays[-1].shape[:3] != arrays[0].shape[:3]:
            raise import_error(
                path,
                f'has shape {data.shape[:3]} but {pair.images[0].name} has {arrays[0].shape[:3]}',
                'give all channel files of a case the same grid',
            )
    return np.concatenate(arrays, axis=3) if len(arrays) > 1 else arrays[0], loaded[0][0]


def volume_samples(pair: Pair, options: SampleOptions, notes: set[str]) -> Iterator[Sample]:
    """Yield the 2-D slices of one image volume and its label volume.

    Args:
        pair (Pair): The image volume file(s) and the label volume.
        options (SampleOptions): ``axis`` to cut along; ``axis_used``/``spacing`` are set.
        notes (set[str]): Receives what was done.

    Yields:
        Sample: (H, W, C) image slice and its raw label slice; position (slice index,).
    """
    image, header_image = _image_volume(pair)
    label_image, labels = load_volume(pair.mask)
    if labels.ndim == 4 and labels.shape[3] == 1:
        labels = labels[..., 0]
    if labels.shape != image.shape[:3]:
        raise import_error(
            pair.mask,
            f'has shape {labels.shape} but its image {pair.images[0].name} has {image.shape[:3]}',
            "export the label volume on the image's voxel grid",
        )
    if not np.allclose(label_image.affine, header_image.affine, atol=1e-3):
        raise import_error(
            pair.mask,
            f'has another {label_image.fields} (voxel-to-world orientation/position) than its image '
            f'{pair.images[0].name}: {np.round(label_image.affine, 3)[:3].tolist()} vs '
            f'{np.round(header_image.affine, 3)[:3].tolist()} (RAS+ mm)',
            'resample the label volume onto the image grid (nearest-neighbour), or fix its header',
        )
    zooms = header_image.zooms
    axis = choose_axis(zooms, options.axis if options.axis_used is None else options.axis_used)
    if options.axis_used is None:
        options.axis_used, options.spacing = axis, [float(z) for z in zooms]
        how = (
            'as asked'
            if options.axis is not None
            else (
                'the largest voxel spacing'
                if axis == int(np.argmax(zooms)) and max(zooms) > 1.2 * min(zooms)
                else 'isotropic voxels: the last axis'
            )
        )
        notes.add(
            f'volumes were cut into 2-D slices along axis {axis} ({how}; spacing {list(map(float, zooms))})'
        )
    for index in range(image.shape[axis]):
        plane = np.take(image, index, axis=axis)
        if plane.min() == plane.max():
            notes.add(SKIP_NOTE)
            continue
        mask = raw_mask_from_array(np.take(labels, index, axis=axis), pair.mask)
        yield Sample(
            f'{pair.name}_{index:04d}',
            pair.name,
            (index,),
            pair.split,
            np.ascontiguousarray(plane),
            mask,
            source=f'{pair.images[0]} slice {index}',
            mask_file=pair.mask,
        )
