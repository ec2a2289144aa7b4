"""RareClassCrop places crops around rare-class pixels; oversampling repeats the images holding them."""
import json

import numpy as np
import pytest
from PIL import Image

from psp_plugin.data import PreparedSegDataset, RareClassCrop
from psp_plugin.data.oversampling import oversample, repeats_for_share
from psp_plugin.data.rare_class_crop import crop_box_around


@pytest.mark.parametrize('pixel', [(0, 0), (63, 47), (30, 2), (5, 40)])
@pytest.mark.parametrize('crop', [(16, 16), (64, 10), (100, 100)])
def test_box_around_a_pixel_contains_it_and_stays_inside(pixel, crop):
    rng = np.random.default_rng(0)
    for _ in range(40):
        y1, y2, x1, x2 = crop_box_around(*pixel, (64, 48), crop, rng)
        assert 0 <= y1 <= pixel[0] < y2 <= 64 and 0 <= x1 <= pixel[1] < x2 <= 48
        assert (y2 - y1, x2 - x1) == (min(crop[0], 64), min(crop[1], 48))


def _results(mask: np.ndarray) -> dict:
    image = np.arange(mask.size * 2, dtype=np.float32).reshape(*mask.shape, 2)
    return dict(img=image, img_shape=mask.shape, gt_seg_map=mask.copy(), seg_fields=['gt_seg_map'])


def test_every_crop_holds_the_single_rare_pixel_and_image_matches_mask():
    mask = np.zeros((96, 128), dtype=np.uint8)
    mask[70, 9] = 3
    crop = RareClassCrop((16, 16), rare_classes=[3], seed=0)
    for _ in range(30):
        out = crop.transform(_results(mask))
        assert out['gt_seg_map'].shape == (16, 16) == out['img'].shape[:2] and out['img_shape'] == (16, 16)
        assert (out['gt_seg_map'] == 3).sum() == 1
        row, col = np.argwhere(out['gt_seg_map'] == 3)[0]  # the image was cut at the same place
        assert out['img'][row, col, 0] == 2 * (70 * 128 + 9)


def test_without_a_rare_pixel_or_with_prob_zero_crops_are_random():
    mask = np.zeros((96, 128), dtype=np.uint8)
    mask[70, 9] = 3
    positions = {tuple(RareClassCrop(16, rare_classes=[3], seed=s).crop_bbox(_results(np.zeros_like(mask))))
                 for s in range(10)}
    assert len(positions) > 5
    never = RareClassCrop(16, rare_classes=[3], prob=0.0, seed=1)
    held = [(never.transform(_results(mask))['gt_seg_map'] == 3).any() for _ in range(30)]
    assert sum(held) < 10
    with pytest.raises(ValueError, match='rare_classes'):
        RareClassCrop(16, rare_classes=[])
    with pytest.raises(ValueError, match='prob'):
        RareClassCrop(16, rare_classes=[1], prob=1.5)


@pytest.mark.parametrize('holding,total,share,repeat', [(8, 71, 1 / 3, 4), (1, 10, 0.5, 9), (5, 10, 1 / 3, 1),
                                                         (0, 10, 1 / 3, 1), (3, 3, 0.9, 1)])
def test_repeats_reach_the_share_with_the_fewest_copies(holding, total, share, repeat):
    assert repeats_for_share(holding, total, share) == repeat
    holds = [True] * holding + [False] * (total - holding)
    out = oversample(list(range(total)), holds, share)
    if holding:
        assert sum(i < holding for i in out) / len(out) >= share or repeat == 1
        if repeat > 1:  # one copy fewer would miss it
            assert (repeat - 1) * holding / ((repeat - 1) * holding + total - holding) < share


def test_prepared_dataset_repeats_the_training_images_with_a_rare_class(tmp_path):
    for split in ('train', 'val', 'test'):
        (tmp_path / 'images' / split).mkdir(parents=True)
        (tmp_path / 'masks' / split).mkdir(parents=True)
    names = [f'im{i}' for i in range(9)]
    for i, name in enumerate(names):
        mask = np.zeros((8, 8), dtype=np.uint8)
        mask[2, 2] = 1 if i == 4 else 0
        Image.fromarray(mask).save(tmp_path / 'masks' / 'train' / f'{name}.png')
        Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(tmp_path / 'images' / 'train' / f'{name}.tif')
    (tmp_path / 'dataset.json').write_text(json.dumps(dict(classes=['bg', 'rare'], palette=[[0, 0, 0], [1, 1, 1]])))
    plain = PreparedSegDataset(str(tmp_path), split='train', pipeline=[])
    steered = PreparedSegDataset(str(tmp_path), split='train', pipeline=[], oversample_classes=[1],
                                 oversample_share=0.5)
    assert len(plain) == 9
    paths = [steered.get_data_info(i)['seg_map_path'] for i in range(len(steered))]
    assert len(paths) == 16 and sum(p.endswith('im4.png') for p in paths) == 8
