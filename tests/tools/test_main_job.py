"""The main job end to end (tiny model, 2 iterations) and its report parts."""
import json
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from psp_plugin.tools import main_job
from psp_plugin.tools.main_job_report import (overlay_names, per_class_iou,
                                              plot_curves, read_scalars)

CLASSES = ('background', 'grey_matter', 'white_matter')


def _tiny_config(tmp_path):
    """The main-job config at toy scale: width 8, native size, batch 2."""
    path = tmp_path / 'tiny_mni152.py'
    recipe = osp.join(main_job.REPO_ROOT, 'configs', main_job.CONFIG_NAME)
    path.write_text(
        f'_base_ = [{recipe!r}]\n'
        'width = 8\n'
        'model = dict(\n'
        '    data_preprocessor=dict(size=(64, 64)),\n'
        '    backbone=dict(stem_channels=width, base_channels=width),\n'
        '    decode_head=dict(in_channels=8 * width, channels=width),\n'
        '    auxiliary_head=dict(in_channels=4 * width, channels=width))\n'
        'pipeline_1x = [dict(type="LoadImageFromFile"),\n'
        '               dict(type="LoadAnnotations"),\n'
        '               dict(type="RandomCrop", crop_size=(64, 64)),\n'
        '               dict(type="PackSegInputs")]\n'
        'test_1x = [dict(type="LoadImageFromFile"),\n'
        '           dict(type="LoadAnnotations"),\n'
        '           dict(type="PackSegInputs")]\n'
        'train_dataloader = dict(batch_size=2, num_workers=0,\n'
        '    persistent_workers=False, dataset=dict(pipeline=pipeline_1x))\n'
        'val_dataloader = dict(num_workers=0, persistent_workers=False,\n'
        '    dataset=dict(pipeline=test_1x, indices=[0, 35, 75]))\n'
        'test_dataloader = val_dataloader\n')
    return str(path)


def test_main_job_prepares_trains_tests_and_reports(tmp_path):
    data_root = str(tmp_path / 'data')
    work_dir = str(tmp_path / 'work')
    summary = main_job.main([
        '--config', _tiny_config(tmp_path), '--data-root', data_root,
        '--work-dir', work_dir, '--iters', '2', '--num-overlays', '3'
    ])
    assert osp.isfile(osp.join(data_root, 'prepare_summary.json'))
    assert Config.fromfile(osp.join(work_dir,
                                    'main_job_config.py')).train_cfg[
                                        'max_iters'] == 2
    with open(osp.join(work_dir, 'iou.json')) as f:
        table = json.load(f)
    with open(osp.join(data_root, 'prepare_summary.json')) as f:
        num_val = len(json.load(f)['files']['val'])
    assert list(table['iou']) == list(CLASSES)
    assert table['mIoU'] == pytest.approx(
        np.mean(list(table['iou'].values())), abs=0.01)
    assert table['mIoU'] == pytest.approx(
        summary['mmseg_test_metrics']['mIoU'], abs=0.05)
    assert table['num_slices'] == 3 < num_val
    markdown = open(osp.join(work_dir, 'iou.md')).read()
    assert '| grey_matter |' in markdown and '**mIoU**' in markdown
    assert open(osp.join(work_dir, 'iou.csv')).readline().strip() == \
        'class,iou,pixels'
    overlays = sorted(os.listdir(osp.join(work_dir, 'overlays')))
    assert len(overlays) == 3
    assert {name.split('_')[0] for name in overlays} == {'sag', 'cor', 'axi'}
    pictures = [osp.join(work_dir, 'overlays', name) for name in overlays]
    for path in pictures + [osp.join(work_dir, 'curves.png')]:
        image = Image.open(path)
        assert image.format == 'PNG' and min(image.size) > 100
    curves = read_scalars(osp.join(work_dir, 'vis_data', 'scalars.json'))
    assert [step for step, _ in curves['mIoU']] == [2]
    assert set(summary['times']) >= {'prepare_s', 'train_s', 'test_s'}


def test_skip_train_without_checkpoint_says_what_to_do(tmp_path):
    config = main_job.job_config(
        config=osp.join(main_job.REPO_ROOT, 'configs', main_job.CONFIG_NAME),
        data_root='unused', work_dir=str(tmp_path), iters=None)
    assert osp.isfile(config)
    with pytest.raises(FileNotFoundError, match='without --skip-train'):
        main_job.last_checkpoint(str(tmp_path))


@pytest.mark.parametrize('iters', [1, 30, 5000])
def test_iters_override_keeps_schedule_valid(tmp_path, iters):
    path = main_job.job_config(
        config=osp.join(main_job.REPO_ROOT, 'configs', main_job.CONFIG_NAME),
        data_root='somewhere', work_dir=str(tmp_path), iters=iters)
    cfg = Config.fromfile(path)
    assert cfg.train_cfg['max_iters'] == iters
    assert cfg.train_dataloader['dataset']['data_root'] == 'somewhere'
    assert cfg.param_scheduler[-1]['end'] == iters
    assert all(s['begin'] < s['end'] <= iters for s in cfg.param_scheduler)
    assert cfg.train_cfg['val_interval'] <= iters


def test_missing_config_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match='--config'):
        main_job.job_config(config=str(tmp_path / 'nope.py'), data_root='d',
                            work_dir=str(tmp_path), iters=None)


def _save(folder, name, array):
    folder.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(np.asarray(array, dtype=np.uint8))
    image.save(folder / f'{name}.png')


def test_per_class_iou_counts_pixels(tmp_path):
    gt = [[0, 0, 1, 1], [0, 2, 2, 2]]
    pred = [[0, 1, 1, 1], [0, 2, 2, 0]]
    _save(tmp_path / 'gt', 's', gt)
    _save(tmp_path / 'pred', 's', pred)
    result = per_class_iou(pred_dir=str(tmp_path / 'pred'),
                           ann_dir=str(tmp_path / 'gt'), names=['s'],
                           class_names=CLASSES)
    expected = dict(background=100 * 2 / 4, grey_matter=100 * 2 / 3,
                    white_matter=100 * 2 / 3)
    assert result['iou'] == pytest.approx(expected, abs=0.01)
    assert result['mIoU'] == pytest.approx(
        np.mean(list(expected.values())), abs=0.01)
    assert result['aAcc'] == pytest.approx(100 * 6 / 8, abs=0.01)
    assert result['pixels'] == dict(background=3, grey_matter=2,
                                    white_matter=3)


def test_per_class_iou_needs_predictions(tmp_path):
    _save(tmp_path / 'gt', 's', [[0]])
    with pytest.raises(FileNotFoundError, match='mim test'):
        per_class_iou(pred_dir=str(tmp_path / 'pred'),
                      ann_dir=str(tmp_path / 'gt'), names=['s'],
                      class_names=CLASSES)


def test_curves_need_a_logged_loss(tmp_path):
    scalars = tmp_path / 'scalars.json'
    scalars.write_text('{"mIoU": 50.0, "step": 10}\n')
    with pytest.raises(ValueError, match='no "loss"'):
        plot_curves(str(scalars), str(tmp_path / 'curves.png'))


@pytest.mark.parametrize('count,per_axis', [(3, 1), (6, 2), (100, None)])
def test_overlay_names_spread_over_axes(count, per_axis):
    files = [f'{axis}_{i:03d}' for axis in ('axi', 'cor', 'sag')
             for i in range(5)]
    picks = overlay_names(files, count)
    assert picks == overlay_names(files, count)
    assert len(picks) == len(set(picks)) == min(count, len(files))
    if per_axis is not None:
        for axis in ('axi', 'cor', 'sag'):
            assert sum(p.startswith(axis) for p in picks) == per_axis
