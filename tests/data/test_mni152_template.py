"""The MNI152 template helpers on the real nilearn volumes: labels, slices, duplicates, images."""
import socket
import sys

import numpy as np
import pytest

from psp_plugin.data.mni152_template import (
    AXIS_NAMES,
    axis_slice,
    collect_slices,
    intensity_to_uint8,
    load_mni152_volumes,
    tissue_labels,
)

MIN_TISSUE_PIXELS = 100


def _refuse_network(*args, **kwargs):
    raise AssertionError('reading the MNI152 template tried to open a network connection; '
                         'nilearn must read the packaged files')


@pytest.fixture(scope='module')
def template():
    """The real volumes (network refused) and the slices kept from them, shared by this module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, 'connect', _refuse_network)
        t1, gm, wm = load_mni152_volumes()
    image, labels = intensity_to_uint8(t1), tissue_labels(gm, wm)
    kept = collect_slices(image, labels, min_tissue_pixels=MIN_TISSUE_PIXELS)
    return dict(gm=gm, wm=wm, image=image, labels=labels, kept=kept)


def _index(item: dict) -> int:
    return int(item['name'].split('_')[1])


def test_kept_slices_cover_every_axis_and_have_tissue(template):
    kept = template['kept']
    assert list(kept) == list(AXIS_NAMES)
    for axis, axis_name in enumerate(AXIS_NAMES):
        slices = kept[axis_name]
        assert len(slices) > 50
        indices = [_index(item) for item in slices]
        assert indices == sorted(indices) and len(set(indices)) == len(indices)
        for item in slices[::9]:
            assert item['name'] == f'{axis_name}_{_index(item):03d}'
            assert item['img'].dtype == np.uint8 and item['label'].dtype == np.uint8
            assert item['img'].shape == item['label'].shape
            assert int((item['label'] > 0).sum()) >= MIN_TISSUE_PIXELS
        dropped = sorted(set(range(template['labels'].shape[axis])) - set(indices))
        # a dropped slice is nearly empty, or (sagittal only) the mirror copy of a kept one
        for index in dropped[::5]:
            tissue = int((axis_slice(template['labels'], axis, index) > 0).sum())
            assert tissue < MIN_TISSUE_PIXELS or axis_name == 'sag'


def test_labels_are_thresholded_probabilities(template):
    item = template['kept']['cor'][len(template['kept']['cor']) // 2]
    index = _index(item)
    gm_slice = np.rot90(np.moveaxis(template['gm'], 1, 0)[index])
    wm_slice = np.rot90(np.moveaxis(template['wm'], 1, 0)[index])
    np.testing.assert_array_equal(item['label'] == 1, gm_slice > 0.5)
    np.testing.assert_array_equal(item['label'] == 2, wm_slice > 0.5)
    assert item['img'][item['label'] == 2].mean() > item['img'][item['label'] == 1].mean()
    for slices in template['kept'].values():
        values = set()
        for other in slices[::7]:
            values |= set(np.unique(other['label']).tolist())
        assert values == {0, 1, 2}


def test_mirror_duplicates_are_kept_once(template):
    kept = template['kept']
    seen = set()
    for slices in kept.values():
        for item in slices:
            key = item['img'].tobytes() + item['label'].tobytes()
            assert key not in seen, f'{item["name"]} duplicates a kept slice'
            seen.add(key)
    # the symmetric template mirrors about sagittal slice 98: 98 + k equals 98 - k, kept first
    sagittal = [_index(item) for item in kept['sag']]
    assert max(sagittal) <= 98
    np.testing.assert_array_equal(axis_slice(template['image'], 0, 98 + 20),
                                  axis_slice(template['image'], 0, 98 - 20))


def test_intensity_scaling_uses_one_volume_percentile():
    t1 = np.zeros((2, 3, 400), dtype=np.float32)
    t1[0, 0] = np.linspace(0.01, 4.0, 400)
    image = intensity_to_uint8(t1)
    scale = np.percentile(t1[t1 > 0], 99.5)
    assert image.dtype == np.uint8 and image.shape == t1.shape
    assert image[1].max() == 0 and image[0, 0, -1] == 255
    np.testing.assert_array_equal(image[0, 0, :100], np.round(255 * t1[0, 0, :100] / scale))
    with pytest.raises(ValueError, match='all zeros'):
        intensity_to_uint8(np.zeros((2, 2, 2)))


def test_tissue_labels_tie_rule():
    gm = np.array([0.9, 0.2, 0.6, 0.6, 0.4, 0.0])
    wm = np.array([0.05, 0.7, 0.8, 0.6, 0.4, 0.0])
    np.testing.assert_array_equal(tissue_labels(gm, wm), [1, 2, 2, 1, 0, 0])


def test_missing_nilearn_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, 'nilearn', None)
    with pytest.raises(ImportError, match='pip install'):
        load_mni152_volumes()
