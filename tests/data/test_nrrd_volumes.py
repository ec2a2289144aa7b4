"""NRRD volumes (pynrrd): geometry read as a RAS+ affine, sliced along the thick axis, labels checked."""

import numpy as np
import pytest

from psp_plugin.data import import_dataset
from psp_plugin.data.volume_files import load_volume

from .test_import_errors import refused

nrrd = pytest.importorskip('nrrd')
nibabel = pytest.importorskip('nibabel')

SPACING = (0.6, 0.6, 5.0)
ORIGIN = (-146.0, -325.0, -777.5)


def _header(spacing=SPACING, origin=ORIGIN) -> dict:
    return {
        'space': 'left-posterior-superior',
        'space directions': np.diag(spacing),
        'space origin': np.array(origin),
        'kinds': ['domain'] * 3,
    }


def _case(shape=(24, 20, 12), seed=0):
    """An int16 'CT' in HU (air -1000, a brighter box of label 1) and its label volume."""
    rng = np.random.default_rng(seed)
    labels = np.zeros(shape, np.int16)
    labels[6:14, 5:12, 3:9] = 1
    image = (np.where(labels == 1, 40, -900) + rng.integers(-30, 30, shape)).astype(np.int16)
    return image, labels


def _write(source, name, image, labels, label_header=None):
    (source / 'images').mkdir(parents=True, exist_ok=True)
    (source / 'masks').mkdir(exist_ok=True)
    nrrd.write(str(source / 'images' / f'{name}.nrrd'), image, _header())
    nrrd.write(str(source / 'masks' / f'{name}.nrrd'), labels, label_header or _header())


def test_nrrd_geometry_is_the_lps_header_as_a_ras_affine(tmp_path):
    image, labels = _case()
    _write(tmp_path, 'a', image, labels)
    geometry, data = load_volume(tmp_path / 'images' / 'a.nrrd')
    assert np.array_equal(data, image) and geometry.zooms == pytest.approx(SPACING)
    assert np.allclose(geometry.affine[:3, :3], np.diag([-0.6, -0.6, 5.0]))
    assert np.allclose(geometry.affine[:3, 3], [146.0, 325.0, -777.5])
    # the same voxels as NIfTI with that affine give the same geometry
    nibabel.save(nibabel.Nifti1Image(image, geometry.affine), tmp_path / 'a.nii.gz')
    assert np.allclose(load_volume(tmp_path / 'a.nii.gz')[0].affine, geometry.affine)


def test_nrrd_volumes_are_sliced_along_the_5_mm_axis(tmp_path):
    source = tmp_path / 'ct'
    for index in range(3):
        _write(source, f'case{index}', *_case(seed=index))
    prepared = import_dataset(source, tmp_path / 'out')
    assert prepared.kind == 'volumes' and prepared.axis == 2 and prepared.spacing == pytest.approx(SPACING)
    assert prepared.classes == ['class_0', 'class_1']
    assert sum(len(names) for names in prepared.splits.values()) == 36
    assert prepared.normalization['low'][0] < -800


def test_a_label_volume_with_another_origin_is_refused(tmp_path):
    image, labels = _case()
    _write(tmp_path / 'ct', 'a', image, labels, _header(origin=(-146.0, -325.0, -772.5)))
    message = refused(tmp_path / 'ct', tmp_path / 'out', r'a\.nrrd: has another space directions and space origin')
    assert 'resample the label volume onto the image grid' in message


def test_a_label_volume_of_another_shape_is_refused(tmp_path):
    image, labels = _case()
    _write(tmp_path / 'ct', 'a', image, labels[:, :, :10])
    refused(tmp_path / 'ct', tmp_path / 'out', r'masks/a\.nrrd: has shape \(24, 20, 10\) but its image')


def test_a_broken_nrrd_names_the_file(tmp_path):
    image, labels = _case()
    _write(tmp_path / 'ct', 'a', image, labels)
    (tmp_path / 'ct' / 'images' / 'a.nrrd').write_bytes(b'NRRD0004\ntype: short\n')
    refused(tmp_path / 'ct', tmp_path / 'out', r'images/a\.nrrd: cannot be read as NRRD')
