"""Rare classes get steered crops, and class weights answer the frequencies of those crops."""
import json

import numpy as np
import pytest
from PIL import Image

from psp_plugin.data import load_prepared
from psp_plugin.fit.crop_sampling import RareClassSampling, choose_rare_classes, sampled_class_frequency


def test_only_classes_under_one_percent_are_rare_and_common_ones_get_fewer_steered_crops():
    sampling, reason = choose_rare_classes([0.95, 0.045, 0.005], [1.0, 0.8, 0.1], ['bg', 'a', 'nodule'])
    assert sampling.classes == (2, ) and sampling.crop_prob == 1.0 and 'nodule' in reason
    common, _ = choose_rare_classes([0.99, 0.008, 0.002], [1.0, 0.9, 0.5], ['bg', 'thin', 'b'])
    assert common.classes == (1, 2) and common.crop_prob == pytest.approx(0.37, abs=0.01)
    none, reason = choose_rare_classes([0.9, 0.1, 0.0], [1.0, 1.0, 0.0], ['bg', 'a', 'absent'])
    assert none.classes == () and 'random crops' in reason


def test_steered_crops_hold_the_rare_class_far_more_often(tmp_path):
    (tmp_path / 'masks' / 'train').mkdir(parents=True)
    names = []
    for i in range(12):
        mask = np.zeros((128, 128), dtype=np.uint8)
        if i == 0:
            mask[100:104, 20:24] = 1  # 16 px in one image of 12: 0.008 % of the pixels
        names.append(f'm{i}')
        Image.fromarray(mask).save(tmp_path / 'masks' / 'train' / f'm{i}.png')
    (tmp_path / 'dataset.json').write_text(json.dumps(dict(
        classes=['bg', 'rare'], palette=[[0, 0, 0], [9, 9, 9]], channels=1, kind='images',
        normalization={})))
    (tmp_path / 'splits.json').write_text(json.dumps(dict(train=names, val=[], test=[])))
    prepared = load_prepared(tmp_path)
    raw = sampled_class_frequency(prepared, names, 32, RareClassSampling(), seed=0)
    steered = sampled_class_frequency(prepared, names, 32, RareClassSampling((1, ), 1 / 3, 1.0), seed=0)
    assert raw[1] < 0.002 and sum(raw) == pytest.approx(1.0)
    # about a third of the crops hold all 16 pixels of a 1024-pixel crop: ~0.5 %
    assert 0.003 < steered[1] < 0.008


def test_a_planned_config_steers_crops_to_a_rare_class(tmp_path):
    from mmengine.config import Config
    from mmseg.registry import DATASETS

    from psp_plugin.fit import make_plan

    from .conftest import write_prepared
    root = write_prepared(tmp_path / 'prepared')
    names = json.loads((root / 'splits.json').read_text())['train']
    for i, name in enumerate(names):  # the ring becomes rare: 12 pixels, in the first image only
        path = root / 'masks' / 'train' / f'{name}.png'
        mask = np.asarray(Image.open(path)).copy()
        ring = np.argwhere(mask == 2)
        mask[mask == 2] = 0
        if i == 0:
            mask[tuple(ring[:12].T)] = 2
        Image.fromarray(mask).save(path)
    plan = make_plan(root, tmp_path / 'work', time_budget_s=60, width=8, batch_size=2, workers=0,
                     threads=1)
    assert plan.rare_classes == [2] and plan.rare_crop_prob == 1.0
    cfg = Config.fromfile(str(tmp_path / 'work' / 'config.py'))
    crop = cfg.train_dataloader.dataset.pipeline[3]
    assert crop['type'] == 'RareClassCrop' and crop['rare_classes'] == [2]
    assert cfg.train_dataloader.dataset.oversample_classes == [2]
    assert cfg.val_dataloader.dataset.get('oversample_classes') is None  # val and test as they are
    assert '#   rare_classes = ' in (tmp_path / 'work' / 'config.py').read_text()
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    first = [i for i in range(len(dataset)) if dataset.get_data_info(i)['seg_map_path'].endswith(
        f'{names[0]}.png')]
    assert len(first) == 4  # repeated: 4 of 11 entries hold the ring
    sample = dataset[first[0]]
    assert (sample['data_samples'].gt_sem_seg.data == 2).any()  # its crop keeps a ring pixel
