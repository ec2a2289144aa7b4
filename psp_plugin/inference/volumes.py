"""NIfTI and NRRD volumes: segmented slice by slice, written back with the input's geometry.

Slices are taken along the axis the model was trained on (``psp_meta['axis']``
in the config, else ``axis=``) as plain array slices, ``np.take(volume, i, axis)``,
the orientation the import of volumes uses for training. The label volume keeps
the input's affine (sform and qform), shape and header, with an integer dtype,
no intensity scaling and NIfTI intent ``label``. An NRRD input (pynrrd, the
``[medical]`` extra) gives an NRRD label volume with its ``space``, ``space
directions`` and ``space origin``. A CSV lists each class's voxels and millilitres
(voxel volume from the affine's determinant, in mm^3).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from psp_plugin.data.volume_files import NRRD_SUFFIXES, load_volume

from .areas import class_counts
from .predictor import Predictor
from .progress import WindowProgress

__all__ = ['VolumePrediction', 'predict_volume', 'read_volume', 'voxel_ml']
#: NRRD header fields that place the voxels; a label volume takes them from its image.
NRRD_GEOMETRY = ('space', 'space dimension', 'space directions', 'space origin', 'space units', 'spacings',
                 'measurement frame')


@dataclass
class VolumePrediction:
    """What :func:`predict_volume` wrote: label volume, CSV, voxel counts and voxel size."""

    labels: Path
    table: Path
    counts: np.ndarray
    voxel_ml: float


def read_volume(path: str | Path):
    """Load a 3-D NIfTI image (trailing axes of length 1 are dropped); 4-D volumes are refused."""
    import nibabel as nib

    image = nib.load(str(path))
    shape = image.shape
    while len(shape) > 3 and shape[-1] == 1:
        shape = shape[:-1]
    if len(shape) != 3:
        raise ValueError(
            f'{path} has {len(shape)} dimensions {tuple(image.shape)}; predict segments 3-D volumes. '
            'For a 4-D series (fMRI, DWI, multi-echo) save one volume first, e.g. '
            "`nib.save(nib.load(PATH).slicer[..., 0], 'vol0.nii.gz')`")
    return image, shape


def read_nrrd_volume(path: str | Path) -> tuple[np.ndarray, dict, np.ndarray]:
    """(X, Y, Z) voxels, the header and the (4, 4) RAS+ affine of a 3-D NRRD; other dimensions refused."""
    import nrrd

    geometry, data = load_volume(Path(path))
    if data.ndim != 3:
        raise ValueError(
            f'{path} holds {data.ndim}-D data {tuple(data.shape)}; predict segments 3-D volumes. Save one '
            '3-D volume (one channel or time point) first, e.g. with 3D Slicer or pynrrd')
    return data, nrrd.read_header(str(path)), geometry.affine


def write_nrrd_labels(path: Path, labels: np.ndarray, header: dict, num_classes: int) -> None:
    """``labels`` (X, Y, Z) as a gzip NRRD with the geometry fields of ``header`` (its image's)."""
    import nrrd

    dtype = np.uint8 if num_classes <= 256 else np.int16
    fields = {key: header[key] for key in NRRD_GEOMETRY if key in header}
    fields.update(kinds=['domain'] * 3, encoding='gzip')
    nrrd.write(str(path), np.asarray(labels, dtype=dtype), fields)


def voxel_ml(affine: np.ndarray) -> float:
    """Volume of one voxel in millilitres (NIfTI spatial units are mm)."""
    return abs(float(np.linalg.det(np.asarray(affine)[:3, :3]))) / 1000.0


def _label_image(image, labels: np.ndarray, num_classes: int):
    import nibabel as nib

    dtype = np.uint8 if num_classes <= 256 else np.int16
    header = image.header.copy()
    header.set_data_dtype(dtype)
    header.set_slope_inter(1.0, 0.0)
    header.set_intent('label')
    header['cal_min'], header['cal_max'] = 0, num_classes - 1
    result = nib.Nifti1Image(labels.astype(dtype), image.affine, header)
    result.set_sform(image.header.get_sform(), int(image.header['sform_code']))
    result.set_qform(image.header.get_qform(), int(image.header['qform_code']))
    return result


def write_volume_table(path: Path, counts: np.ndarray, classes: list[str], ml_per_voxel: float) -> None:
    """CSV with columns class_index, class, voxels, ml."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open('w', newline='') as handle:
        writer = csv.writer(handle)
        writer.writerow(['class_index', 'class', 'voxels', 'ml'])
        for index, count in enumerate(counts.tolist()):
            name = classes[index] if index < len(classes) else f'class {index}'
            writer.writerow([index, name, count, f'{count * ml_per_voxel:.4f}'])


def predict_volume(predictor: Predictor, path: str | Path, labels_path: str | Path, table_path: str | Path,
                   *, axis: int | None = None, show_progress: bool = True) -> VolumePrediction:
    """Segment a NIfTI or NRRD volume slice by slice and write the label volume and the volume table.

    Args:
        predictor (Predictor): Model, input mapping and window settings.
        path (str | Path): ``.nii``, ``.nii.gz``, ``.nrrd`` or ``.nhdr`` input.
        labels_path (str | Path): Output label volume (NIfTI for NIfTI input, NRRD for NRRD input).
        table_path (str | Path): Output CSV of per-class volumes.
        axis (int, optional): Slice axis 0, 1 or 2; default ``psp_meta['axis']`` of the config.
        show_progress (bool): Print slices/s and ETA. Defaults to True.

    Returns:
        VolumePrediction: Paths written, (K,) voxel counts and ml per voxel.
    """
    image = None
    if str(path).lower().endswith(NRRD_SUFFIXES):
        volume, header, affine = read_nrrd_volume(path)
        shape = volume.shape
    else:
        image, shape = read_volume(path)
        affine = image.affine
    psp_meta = predictor.model.cfg.get('psp_meta') or {}
    axis = axis if axis is not None else psp_meta.get('axis')
    if axis not in (0, 1, 2):
        raise ValueError(f'{path}: the slice axis is unknown (config psp_meta.axis={psp_meta.get("axis")}, '
                         f'axis={axis}); pass --axis 0, 1 or 2, the axis the model was trained on')
    if image is not None:
        volume = np.asarray(image.dataobj).reshape(shape)
        if predictor.inputs.normalization is not None:
            volume = np.asarray(image.get_fdata(dtype=np.float32)).reshape(shape)
    labels = np.zeros(shape, dtype=np.int64)
    progress = WindowProgress(shape[axis], Path(path).name, unit='slices') if show_progress else None
    for index in range(shape[axis]):
        slice_pixels = np.take(volume, index, axis=axis)
        network_input = predictor.inputs.to_tensor(slice_pixels, f'{path} (slice {index} along axis {axis})',
                                                   device=predictor.device)
        predicted = predictor.to_labels(predictor.logits(network_input))
        labels[(slice(None),) * axis + (index,)] = predicted
        if progress is not None:
            progress.update(1)
    if progress is not None:
        progress.close()
    labels_path, table_path = Path(labels_path), Path(table_path)
    labels_path.parent.mkdir(parents=True, exist_ok=True)
    if image is None:
        write_nrrd_labels(labels_path, labels, header, predictor.num_classes)
    else:
        import nibabel as nib

        label_volume = labels.reshape(image.shape) if len(image.shape) > 3 else labels
        nib.save(_label_image(image, label_volume, predictor.num_classes), str(labels_path))
    counts = class_counts(labels, predictor.num_classes)
    ml = voxel_ml(affine)
    write_volume_table(table_path, counts, predictor.classes, ml)
    return VolumePrediction(labels_path, table_path, counts, ml)
