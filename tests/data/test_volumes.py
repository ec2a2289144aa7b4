"""NIfTI volumes: cut along the spacing's axis, label volumes checked for shape and affine."""

import numpy as np
import pytest
import tifffile

from psp_plugin.data import import_dataset

from .test_import_errors import refused

nibabel = pytest.importorskip('nibabel')


def _volume(shape=(20, 24, 12), seed=0):
    rng = np.random.default_rng(seed)
    labels = np.zeros(shape, np.uint8)
    labels[5:15, 6:18, 2:10] = 1
    labels[8:12, 9:14, 4:8] = 2
    image = (labels.astype(np.int16) * 300 + rng.integers(0, 200, shape)).astype(np.int16)
    return image, labels


def _write(source, name, image, labels, spacing=(1.0, 1.0, 3.0), label_affine=None):
    affine = np.diag([*spacing, 1.0])
    (source / 'images').mkdir(parents=True, exist_ok=True)
    (source / 'labels').mkdir(exist_ok=True)
    nibabel.save(nibabel.Nifti1Image(image, affine), source / 'images' / f'{name}.nii.gz')
    nibabel.save(
        nibabel.Nifti1Image(labels, affine if label_affine is None else label_affine),
        source / 'labels' / f'{name}.nii.gz',
    )


def test_volumes_are_sliced_along_the_thick_axis_and_split_whole(tmp_path):
    source = tmp_path / 'ct'
    for index in range(3):
        _write(source, f'case{index}', *_volume(seed=index))
    prepared = import_dataset(source, tmp_path / 'out')
    assert prepared.kind == 'volumes' and prepared.axis == 2 and prepared.spacing == [1.0, 1.0, 3.0]
    assert prepared.classes == ['class_0', 'class_1', 'class_2']
    for split, names in prepared.splits.items():
        assert len({name.rsplit('_', 1)[0] for name in names}) == 1, split  # one whole volume each
    slice_ = tifffile.imread(prepared.image_path('train', prepared.splits['train'][0]))
    assert slice_.dtype == np.int16 and slice_.shape[:2] == (20, 24)


def test_one_volume_splits_in_slice_bands_and_axis_can_be_named(tmp_path):
    source = tmp_path / 'mri'
    image, labels = _volume(shape=(12, 14, 40))
    labels[:, :, :] = 0
    labels[3:9, 3:9, :] = 1
    labels[5:7, 5:7, :] = 2
    _write(source, 'head', image, labels, spacing=(1.0, 1.0, 1.0))
    prepared = import_dataset(source, tmp_path / 'out', axis=2)
    assert prepared.axis == 2 and all(prepared.splits.values())
    assert any('along axis 2 (as asked' in note for note in prepared.notes)
    index = {int(n.rsplit('_', 1)[1]): s for s, names in prepared.splits.items() for n in names}
    for k in range(39):
        if k in index and k + 1 in index:
            assert index[k] == index[k + 1] or 'train' not in (index[k], index[k + 1])


def test_label_volume_with_another_shape(tmp_path):
    image, labels = _volume()
    _write(tmp_path / 'd', 'case0', image, labels[:, :, :10])
    refused(tmp_path / 'd', tmp_path / 'out', r'labels/case0.nii.gz: has shape \(20, 24, 10\) but its image')


def test_label_volume_with_another_affine(tmp_path):
    image, labels = _volume()
    shifted = np.diag([1.0, 1.0, 3.0, 1.0])
    shifted[0, 3] = 12.5
    _write(tmp_path / 'd', 'case0', image, labels, label_affine=shifted)
    refused(tmp_path / 'd', tmp_path / 'out', r'labels/case0.nii.gz: has another affine .*resample the label')
