"""MNI152TissueDataset and check_mni152_root on small hand-made folders."""
import json
import os.path as osp

import numpy as np
import pytest
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS
from PIL import Image

from psp_plugin.data.mni152 import MNI152TissueDataset, check_mni152_root

NAMES = {'train': ['axi_010', 'cor_020'], 'val': ['sag_030']}


def _write_dataset(root, label_value=2):
    """Two train and one val slice of 12x10 pixels, plus the summary."""
    for split, names in NAMES.items():
        for i, name in enumerate(names):
            image = np.full((12, 10), 40 * (i + 1), dtype=np.uint8)
            label = np.zeros((12, 10), dtype=np.uint8)
            label[2:6, 2:6] = 1
            label[6:10, 4:8] = label_value
            for sub, array in (('img_dir', image), ('ann_dir', label)):
                folder = root / sub / split
                folder.mkdir(parents=True, exist_ok=True)
                Image.fromarray(array, mode='L').save(folder / f'{name}.png')
    (root / 'prepare_summary.json').write_text(json.dumps(dict(files=NAMES)))
    return str(root)


def _build(root, split='train', **kwargs):
    return MNI152TissueDataset(
        data_root=root,
        data_prefix=dict(img_path=f'img_dir/{split}',
                         seg_map_path=f'ann_dir/{split}'),
        **kwargs)


def test_dataset_lists_slices_and_loads_them(tmp_path):
    root = _write_dataset(tmp_path)
    init_default_scope('mmseg')
    dataset = DATASETS.build(
        dict(type='MNI152TissueDataset', data_root=root,
             data_prefix=dict(img_path='img_dir/train',
                              seg_map_path='ann_dir/train'),
             pipeline=[dict(type='LoadImageFromFile'),
                       dict(type='LoadAnnotations'),
                       dict(type='PackSegInputs')]))
    assert len(dataset) == 2
    assert dataset.metainfo['classes'] == ('background', 'grey_matter',
                                           'white_matter')
    assert len(dataset.metainfo['palette']) == 3
    sample = dataset[1]
    assert tuple(sample['inputs'].shape) == (3, 12, 10)
    assert sample['inputs'][0, 0, 0].item() == 80
    label = sample['data_samples'].gt_sem_seg.data
    assert sorted(label.unique().tolist()) == [0, 1, 2]
    assert osp.basename(sample['data_samples'].img_path) == 'cor_020.png'


def test_check_root_returns_summary(tmp_path):
    root = _write_dataset(tmp_path)
    assert check_mni152_root(root)['files'] == NAMES


def test_check_root_reports_missing_summary(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match='prepare_summary.json.*prepare-mni152'):
        check_mni152_root(str(tmp_path))


def test_check_root_reports_incomplete_dataset(tmp_path):
    root = _write_dataset(tmp_path)
    (tmp_path / 'ann_dir' / 'train' / 'cor_020.png').unlink()
    with pytest.raises(FileNotFoundError,
                       match='1 of 2 train files.*cor_020.*incomplete'):
        check_mni152_root(root)


def test_missing_folder_says_how_to_prepare(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match='does not exist.*prepare-mni152'):
        _build(str(tmp_path))


def test_empty_dataset_is_an_error(tmp_path):
    for sub in ('img_dir', 'ann_dir'):
        (tmp_path / sub / 'train').mkdir(parents=True)
    with pytest.raises(ValueError, match='is empty'):
        _build(str(tmp_path))


def test_missing_label_map_is_an_error(tmp_path):
    root = _write_dataset(tmp_path)
    (tmp_path / 'ann_dir' / 'val' / 'sag_030.png').unlink()
    with pytest.raises(FileNotFoundError, match='label maps are missing'):
        _build(root, split='val')


def test_out_of_range_label_is_an_error(tmp_path):
    root = _write_dataset(tmp_path, label_value=7)
    with pytest.raises(ValueError, match=r'label values \[7\].*3 classes'):
        _build(root)
    assert len(_build(root, check_labels=False)) == 2


def test_ignore_index_is_allowed(tmp_path):
    root = _write_dataset(tmp_path, label_value=255)
    assert len(_build(root, split='val')) == 1
