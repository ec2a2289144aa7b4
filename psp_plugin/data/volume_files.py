"""Volume files: NIfTI (nibabel) and NRRD (pynrrd), each read as a voxel array and its geometry.

The geometry is the voxel-to-world matrix in one convention (RAS+ millimetres, as NIfTI stores it; an
NRRD in the LPS space of DICOM and 3D Slicer has its first two world axes negated) and the voxel
spacing, so that a label volume is checked against its image the same way in both formats. An NRRD's
array is taken in the file's axis order (pynrrd's Fortran order, (X, Y, Z) like nibabel's); a
4-D NRRD whose first axis is not a space axis (``kinds`` e.g. ``vector``, ``list``) has it moved last,
as channels.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import import_error

__all__ = ['NIFTI_SUFFIXES', 'NRRD_SUFFIXES', 'VOLUME_SUFFIXES', 'VolumeGeometry', 'load_volume']

NIFTI_SUFFIXES = ('.nii', '.nii.gz')
NRRD_SUFFIXES = ('.nrrd', '.nhdr')
VOLUME_SUFFIXES = NIFTI_SUFFIXES + NRRD_SUFFIXES
#: NRRD ``space`` values whose first two world axes point the other way from RAS.
LPS_SPACES = ('left-posterior-superior', 'lps', 'left-posterior-superior-time')
MEDICAL = 'pip install "psp_plugin[medical]"'


@dataclass(frozen=True)
class VolumeGeometry:
    """Where a volume's voxels lie.

    Attributes:
        affine: (4, 4) voxel index (i, j, k, 1) -> world position in mm (RAS+).
        zooms: Voxel spacing of the three space axes, mm.
        fields: The header fields the affine comes from, for messages.
    """

    affine: np.ndarray
    zooms: tuple[float, float, float]
    fields: str = 'affine'


def _load_nifti(path: Path) -> tuple[VolumeGeometry, np.ndarray]:
    try:
        import nibabel
    except ImportError as error:
        raise import_error(path, 'is a NIfTI volume but nibabel is not installed', MEDICAL) from error
    try:
        volume = nibabel.load(str(path))
        data = np.asanyarray(volume.dataobj)
    except (nibabel.filebasedimages.ImageFileError, OSError, EOFError, ValueError, zlib.error) as error:
        raise import_error(
            path,
            f'cannot be read as NIfTI ({type(error).__name__}: {error})',
            're-export or re-copy the volume, or remove it with its partner',
        ) from error
    zooms = tuple(float(z) for z in volume.header.get_zooms()[:3])
    return VolumeGeometry(np.asarray(volume.affine, float), zooms), data


def _nrrd_affine(path: Path, header: dict, space_axes: list[int]) -> np.ndarray:
    """(4, 4) RAS+ affine from ``space directions`` + ``space origin`` (or ``spacings``)."""
    affine = np.eye(4)
    directions = header.get('space directions')
    if directions is not None:
        rows = np.asarray(directions, float)[space_axes]
        if rows.shape != (3, 3) or not np.isfinite(rows).all():
            raise import_error(
                path,
                f'has space directions {np.asarray(directions).tolist()}, not three finite vectors of '
                'its three space axes',
                'save it as a 3-D volume with a direction vector per axis (e.g. from 3D Slicer)',
            )
        affine[:3, :3] = rows.T
    elif header.get('spacings') is not None:
        affine[:3, :3] = np.diag(np.asarray(header['spacings'], float)[space_axes])
    affine[:3, 3] = np.asarray(header.get('space origin', np.zeros(3)), float)[:3]
    if str(header.get('space', '')).lower() in LPS_SPACES:
        affine[:2] *= -1
    return affine


def _load_nrrd(path: Path) -> tuple[VolumeGeometry, np.ndarray]:
    try:
        import nrrd
    except ImportError as error:
        raise import_error(path, 'is an NRRD volume but pynrrd is not installed', MEDICAL) from error
    try:
        data, header = nrrd.read(str(path))
    except (nrrd.NRRDError, OSError, EOFError, ValueError, zlib.error) as error:
        raise import_error(
            path,
            f'cannot be read as NRRD ({type(error).__name__}: {error})',
            're-export or re-copy the volume (with its detached data file for .nhdr), or remove it',
        ) from error
    kinds = [str(k).lower() for k in header.get('kinds', ['domain'] * data.ndim)]
    space_axes = [a for a, kind in enumerate(kinds) if kind in ('domain', 'space')] or list(range(3))
    if data.ndim == 4 and len(space_axes) == 3:
        channel = next(a for a in range(4) if a not in space_axes)
        data = np.moveaxis(data, channel, -1)
    elif data.ndim == 4:
        space_axes = [0, 1, 2]
    affine = _nrrd_affine(path, header, space_axes)
    zooms = tuple(float(np.linalg.norm(affine[:3, axis])) for axis in range(3))
    return VolumeGeometry(affine, zooms, 'space directions and space origin'), data


def load_volume(path: Path) -> tuple[VolumeGeometry, np.ndarray]:
    """Read a NIfTI or NRRD volume.

    Args:
        path (Path): ``.nii``, ``.nii.gz``, ``.nrrd`` or ``.nhdr`` (with its detached data file).

    Returns:
        tuple: Its geometry, and the voxel array as stored (X, Y, Z[, C]), scaled for NIfTI.
    """
    if str(path).lower().endswith(NRRD_SUFFIXES):
        return _load_nrrd(Path(path))
    return _load_nifti(Path(path))
