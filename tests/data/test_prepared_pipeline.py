"""PreparedSegDataset + LoadNormalizedImage read a prepared root as training and predict see it."""

import numpy as np
import pytest
import tifffile
from mmengine.registry import DefaultScope
from mmseg.registry import DATASETS, TRANSFORMS

from psp_plugin.data import import_dataset, normalize_image


@pytest.fixture(autouse=True)
def mmseg_scope():
    """Build in MMSeg's scope, as a config's ``default_scope='mmseg'`` does (not left to earlier tests)."""
    with DefaultScope.overwrite_default_scope('mmseg'):
        yield


def test_dataset_and_transform_give_normalized_float_images(image_folder, tmp_path):
    prepared = import_dataset(image_folder(count=10, classes=3, dtype='uint16'), tmp_path / 'out')
    pipeline = [
        dict(type='LoadNormalizedImage', normalization=prepared.normalization),
        dict(type='LoadAnnotations'),
    ]
    dataset = DATASETS.build(
        dict(type='PreparedSegDataset', data_root=str(prepared.root), split='val', pipeline=pipeline)
    )
    assert len(dataset) == len(prepared.splits['val'])
    assert dataset.metainfo['classes'] == tuple(prepared.classes)
    sample = dataset[0]
    raw = tifffile.imread(sample['img_path'])
    assert sample['img'].dtype == np.float32 and sample['img'].shape == (32, 32, 1)
    np.testing.assert_array_equal(
        sample['img'], normalize_image(raw.reshape(32, 32, 1), prepared.normalization)
    )
    assert set(np.unique(sample['gt_seg_map'])) <= {0, 1, 2}
    transform = TRANSFORMS.build(dict(type='LoadNormalizedImage', normalization=prepared.normalization))
    assert transform(dict(img_path=sample['img_path']))['img_shape'] == (32, 32)
