"""NIfTI and NRRD volumes: slice-wise prediction, identical affine/header geometry, label intent, ml table."""
import csv

import nibabel as nib
import numpy as np
import pytest

from psp_plugin.inference import Predictor, predict
from psp_plugin.inference.volumes import predict_volume, voxel_ml


def _oblique_affine() -> np.ndarray:
    """Rotated 25 deg about z and 10 deg about x, voxels 0.8 x 1.3 x 3.5 mm, shifted."""
    def rotation(axis, degrees):
        c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
        i, j = [a for a in range(3) if a != axis]
        matrix = np.eye(3)
        matrix[i, i], matrix[i, j], matrix[j, i], matrix[j, j] = c, -s, s, c
        return matrix

    affine = np.eye(4)
    affine[:3, :3] = rotation(2, 25) @ rotation(0, 10) @ np.diag([0.8, 1.3, 3.5])
    affine[:3, 3] = [-61.5, 22.25, 14.0]
    return affine


def _volume(path, shape=(45, 38, 7)):
    rng = np.random.default_rng(0)
    data = rng.normal(400, 300, size=shape).astype(np.float32)
    data[10:30, 8:25] += 500
    image = nib.Nifti1Image(data, _oblique_affine())
    image.header.set_xyzt_units('mm', 'sec')
    nib.save(image, str(path))
    return path


@pytest.fixture(scope='module')
def volume_predictor(one_channel_model_files):
    return Predictor.from_files(*one_channel_model_files, window=(32, 32))


def test_label_volume_keeps_affine_shape_and_header(tmp_path, volume_predictor, single_thread):
    source = _volume(tmp_path / 'brain.nii.gz')
    result = predict_volume(volume_predictor, source, tmp_path / 'out' / 'brain.nii.gz',
                            tmp_path / 'out' / 'brain.csv', show_progress=False)
    original, labels = nib.load(str(source)), nib.load(str(result.labels))
    assert labels.shape == original.shape
    np.testing.assert_array_equal(labels.affine, original.affine)
    np.testing.assert_array_equal(labels.header.get_sform(), original.header.get_sform())
    np.testing.assert_array_equal(labels.header.get_qform(), original.header.get_qform())
    assert labels.header['sform_code'] == original.header['sform_code']
    assert labels.header['qform_code'] == original.header['qform_code']
    assert labels.header.get_zooms() == original.header.get_zooms()
    assert labels.get_data_dtype() == np.uint8
    assert labels.header.get_intent()[0] == 'label'
    values = np.asarray(labels.dataobj)
    assert set(np.unique(values)) <= {0, 1, 2}
    # slice k along axis 2 (psp_meta.axis) is exactly the prediction of that slice
    volume = original.get_fdata(dtype=np.float32)
    for k in (0, 6):
        tensor = volume_predictor.inputs.to_tensor(volume[:, :, k], 'slice')
        np.testing.assert_array_equal(values[:, :, k], volume_predictor.to_labels(
            volume_predictor.logits(tensor)))
    rows = list(csv.DictReader(result.table.open()))
    ml = voxel_ml(original.affine)
    assert ml == pytest.approx(0.8 * 1.3 * 3.5 / 1000)
    assert sum(int(row['voxels']) for row in rows) == values.size
    for row in rows:
        assert int(row['voxels']) == int((values == int(row['class_index'])).sum())
        assert float(row['ml']) == pytest.approx(int(row['voxels']) * ml, abs=1e-4)


def test_predict_reports_millilitres(tmp_path, volume_predictor, single_thread):
    (tmp_path / 'in').mkdir()
    _volume(tmp_path / 'in' / 'a.nii', shape=(20, 24, 3))
    summary = predict(tmp_path / 'in', volume_predictor, tmp_path / 'out', show_progress=False)
    assert summary.outputs == [tmp_path / 'out' / 'labels' / 'a.nii.gz']
    assert (tmp_path / 'out' / 'volumes' / 'a.csv').is_file()
    assert any(' ml' in line for line in summary.lines)


def test_four_dimensional_volume_is_refused(tmp_path, volume_predictor):
    path = tmp_path / 'series.nii.gz'
    nib.save(nib.Nifti1Image(np.zeros((8, 8, 4, 3), np.float32), np.eye(4)), str(path))
    with pytest.raises(ValueError, match=r'series\.nii\.gz has 4 dimensions.*slicer'):
        predict_volume(volume_predictor, path, tmp_path / 'l.nii.gz', tmp_path / 't.csv')


def test_trailing_singleton_axis_is_accepted(tmp_path, volume_predictor, single_thread):
    path = tmp_path / 'single.nii.gz'
    nib.save(nib.Nifti1Image(np.full((12, 10, 2, 1), 300, np.float32), np.eye(4)), str(path))
    result = predict_volume(volume_predictor, path, tmp_path / 'l.nii.gz', tmp_path / 't.csv',
                            show_progress=False)
    assert nib.load(str(result.labels)).shape == (12, 10, 2, 1)


def test_unknown_axis_asks_for_one(tmp_path, squares_model_files):
    predictor = Predictor.from_files(*squares_model_files)
    path = _volume(tmp_path / 'v.nii.gz', shape=(8, 8, 2))
    with pytest.raises(ValueError, match='--axis'):
        predict_volume(predictor, path, tmp_path / 'l.nii.gz', tmp_path / 't.csv')


def test_nrrd_volume_gives_an_nrrd_label_volume_on_its_grid(tmp_path, volume_predictor, single_thread):
    nrrd = pytest.importorskip('nrrd')
    (tmp_path / 'in').mkdir()
    rng = np.random.default_rng(1)
    bright = 500 * (np.arange(30) > 15)[:, None, None]
    data = (rng.normal(400, 300, size=(30, 26, 4)) + bright).astype(np.int16)
    directions = _oblique_affine()[:3, :3].T  # one row per voxel axis
    header = {'space': 'left-posterior-superior', 'space directions': directions,
              'space origin': np.array([10.5, -3.0, 7.25]), 'encoding': 'gzip'}
    nrrd.write(str(tmp_path / 'in' / 'ct.nrrd'), data, header)
    summary = predict(tmp_path / 'in', volume_predictor, tmp_path / 'out', show_progress=False)
    assert summary.outputs == [tmp_path / 'out' / 'labels' / 'ct.nrrd']
    labels, written = nrrd.read(str(summary.outputs[0]))
    assert labels.shape == data.shape and labels.dtype == np.uint8
    assert written['space'] == 'left-posterior-superior'
    np.testing.assert_allclose(written['space directions'], directions)
    np.testing.assert_allclose(written['space origin'], header['space origin'])
    for k in (0, 3):  # slice k along axis 2 (psp_meta.axis) is exactly the prediction of that slice
        tensor = volume_predictor.inputs.to_tensor(data[:, :, k], 'slice')
        predicted = volume_predictor.to_labels(volume_predictor.logits(tensor))
        np.testing.assert_array_equal(labels[:, :, k], predicted)
    rows = list(csv.DictReader((tmp_path / 'out' / 'volumes' / 'ct.csv').open()))
    assert float(rows[0]['ml']) == pytest.approx(int(rows[0]['voxels']) * 0.8 * 1.3 * 3.5 / 1000, abs=1e-4)
    nrrd.write(str(tmp_path / 'series.nrrd'), np.zeros((3, 8, 8, 4), np.int16),
               {'kinds': ['list', 'domain', 'domain', 'domain']})
    with pytest.raises(ValueError, match=r'series\.nrrd holds 4-D data .* 3-D volumes'):
        predict_volume(volume_predictor, tmp_path / 'series.nrrd', tmp_path / 'l.nrrd', tmp_path / 't.csv')
