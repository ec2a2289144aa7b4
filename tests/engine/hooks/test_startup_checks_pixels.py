"""The plain `mim train` path stops with a named error on images that decode to a constant,
image/label size mismatches, and 0/255 labels with num_classes=2 (255 being the ignore index)."""
from pathlib import Path

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmseg.datasets import BaseSegDataset

from psp_plugin.engine import DatasetCheckError, FailFastRunner
from psp_plugin.engine.checks.dataset import check_binary_255_labels
from psp_plugin.testing.reliability import toy_runtime_config
from psp_plugin.testing.toy_scenes import make_toy_scenes


def _train_one_iteration(data_root: Path, work_dir: Path) -> FailFastRunner:
    cfg: Config = toy_runtime_config(data_root=data_root, work_dir=work_dir)
    cfg.train_cfg.max_iters = 1
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint.save_best = None
    cfg.experiment_name = f'startup_pixels_{work_dir.name}'
    runner = FailFastRunner.from_cfg(cfg)
    runner.train()
    return runner


def _sixteen_bit(root: Path) -> None:
    path = root / 'img_dir/train/scene_0001.png'
    gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE).astype(np.uint16) * 235 // 255  # 0..235
    cv2.imwrite(str(path), gray)                                  # 16-bit PNG with small values


def _small_label(root: Path) -> None:
    path = root / 'ann_dir/train/scene_0002.png'
    cv2.imwrite(str(path), cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[:48, :])


@pytest.mark.parametrize('damage, expected', [
    (_sixteen_bit, r'scene_0001\.png decodes to the constant 0 through LoadImageFromFile although the file '
                   r'holds uint16 values \d+\.\.\d+.*Fix: .*psp-plugin import'),
    (_small_label, r'scene_0002\.png is 64x64 \(HxW\) but its label file .*scene_0002\.png is 48x64\. Fix:'),
])
def test_pixel_problems_stop_before_the_first_iteration(tmp_path: Path, damage, expected: str) -> None:
    root = make_toy_scenes(tmp_path / 'toy', num_train=4, num_val=1)
    damage(root)
    with pytest.raises(DatasetCheckError, match=expected):
        _train_one_iteration(root, tmp_path / 'work')
    assert not list((tmp_path / 'work').rglob('iter_*.pth'))


def _binary_dataset(root: Path, foreground: int) -> BaseSegDataset:
    for index in range(3):
        mask = np.zeros((16, 16), np.uint8)
        mask[4:12, 4:12] = foreground
        (root / 'img').mkdir(parents=True, exist_ok=True)
        (root / 'ann').mkdir(exist_ok=True)
        cv2.imwrite(str(root / 'img' / f'{index}.png'), np.full((16, 16, 3), 40 * index, np.uint8))
        cv2.imwrite(str(root / 'ann' / f'{index}.png'), mask)
    return BaseSegDataset(data_root=str(root), data_prefix=dict(img_path='img', seg_map_path='ann'),
                          img_suffix='.png', metainfo=dict(classes=('background', 'building')))


def test_0_255_labels_with_two_classes_are_refused(tmp_path: Path) -> None:
    dataset = _binary_dataset(tmp_path / 'd255', 255)
    with pytest.raises(DatasetCheckError, match=r'hold only 0 and 255 while num_classes=2 .*mIoU then reads '
                                                r'100 .*Fix: store the foreground as 1'):
        check_binary_255_labels(dataset, [0, 1, 2], num_classes=2)
    check_binary_255_labels(dataset, [0, 1, 2], num_classes=3)    # 3 classes: 255 may well mean ignore
    check_binary_255_labels(_binary_dataset(tmp_path / 'd1', 1), [0, 1, 2], num_classes=2)
