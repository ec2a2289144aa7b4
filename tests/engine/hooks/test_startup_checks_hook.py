"""Bad training data fails before the first iteration, with the problem and the fix."""
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from psp_plugin.engine import DatasetCheckError, FailFastRunner
from psp_plugin.testing.reliability import toy_runtime_config
from psp_plugin.testing.toy_scenes import make_toy_scenes

_RUN_COUNTER = iter(range(10_000))


def _toy_config(data_root: Path, work_dir: Path) -> Config:
    """The toy config with the reliability fragment: one iteration, no validation."""
    cfg = toy_runtime_config(data_root=data_root, work_dir=work_dir)
    cfg.train_cfg.max_iters = 1
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint.save_best = None
    cfg.experiment_name = f'startup_checks_{next(_RUN_COUNTER)}'
    return cfg


def _train(cfg: Config) -> FailFastRunner:
    runner = FailFastRunner.from_cfg(cfg)
    runner.train()
    return runner


@pytest.fixture
def toy_root(tmp_path: Path) -> Path:
    return make_toy_scenes(tmp_path / 'toy', num_train=4, num_val=1)


def _write_label_with(value: int) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        label = cv2.imread(str(root / 'ann_dir/train/scene_0002.png'), cv2.IMREAD_UNCHANGED)
        label[:4, :4] = value
        cv2.imwrite(str(root / 'ann_dir/train/scene_0002.png'), label)
    return damage


def _truncate_image(root: Path) -> None:
    path = root / 'img_dir/train/scene_0001.png'
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def _empty_image_dir(root: Path) -> None:
    for path in (root / 'img_dir/train').iterdir():
        path.unlink()


@pytest.mark.parametrize('damage, expected', [
    (lambda root: (root / 'ann_dir/train/scene_0003.png').unlink(),
     r'1 of 4 images .* have no label file, e\.g\. \[.*scene_0003\.png.*Fix: add the missing'),
    (lambda root: (root / 'img_dir/train/scene_0003.png').unlink(),
     r'1 label files in .*ann_dir/train have no image .*scene_0003\.png.*Fix: add the missing'),
    (_write_label_with(7),
     r'scene_0002\.png holds values \[7\] but num_classes=4 \(valid labels 0\.\.3, ignore index '
     r'255\)\. Fix: .*reduce_zero_label=True'),
    (_truncate_image,
     r'scene_0001\.png \(sample 1\) is corrupt or truncated .*Fix: re-export or re-copy'),
    (_empty_image_dir, r"The image folder '.*img_dir/train' of ToySceneDataset is empty\. Fix:"),
])
def test_bad_dataset_fails_before_the_first_iteration(toy_root: Path, tmp_path: Path, damage,
                                                      expected: str) -> None:
    damage(toy_root)
    runner = None
    with pytest.raises(DatasetCheckError, match=expected):
        runner = _train(_toy_config(toy_root, tmp_path / 'work'))
    assert runner is None and not list((tmp_path / 'work').glob('iter_*.pth'))


def test_missing_data_root_names_it_and_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / 'no_such_dataset'
    with pytest.raises(DatasetCheckError,
                       match=rf"data_root='{missing}' of ToySceneDataset does not exist .*Fix: "
                             'set data_root'):
        _train(_toy_config(missing, tmp_path / 'work'))


def test_num_classes_differing_from_the_dataset_names_both(toy_root: Path, tmp_path: Path) -> None:
    cfg = _toy_config(toy_root, tmp_path / 'work')
    cfg.model.decode_head.num_classes = 5
    with pytest.raises(DatasetCheckError,
                       match=r'model\.decode_head\.num_classes=5 but the training dataset '
                             r'ToySceneDataset has 4 classes .*Fix: set '
                             r'model\.decode_head\.num_classes=4'):
        _train(cfg)


def test_crop_larger_than_images_is_refused(toy_root: Path, tmp_path: Path) -> None:
    cfg = _toy_config(toy_root, tmp_path / 'work')
    cfg.train_dataloader.dataset.pipeline.insert(2, dict(type='RandomCrop', crop_size=(96, 80)))
    with pytest.raises(DatasetCheckError,
                       match=r'crop_size=\(96, 80\) \(h, w\) is larger than .*scene_0000\.png '
                             r'\(64x64\).*Fix: set crop_size'):
        _train(cfg)


def test_crop_after_an_enlarging_resize_is_accepted(toy_root: Path, tmp_path: Path) -> None:
    cfg = _toy_config(toy_root, tmp_path / 'work')
    cfg.train_dataloader.dataset.pipeline[2:2] = [
        dict(type='RandomResize', scale=(128, 128), ratio_range=(1.0, 1.5), keep_ratio=True),
        dict(type='RandomCrop', crop_size=(96, 80))]
    cfg.train_cfg.max_iters = 0  # the checks run in before_run; no iteration needed
    assert _train(cfg).iter == 0


def test_grayscale_rgba_images_and_ignore_labels_train(toy_root: Path, tmp_path: Path) -> None:
    _write_label_with(255)(toy_root)  # the ignore index is not an out-of-range label
    image_dir = toy_root / 'img_dir/train'
    rgb = cv2.imread(str(image_dir / 'scene_0000.png'))
    cv2.imwrite(str(image_dir / 'scene_0000.png'), cv2.cvtColor(rgb, cv2.COLOR_BGR2GRAY))
    rgba = cv2.cvtColor(cv2.imread(str(image_dir / 'scene_0001.png')), cv2.COLOR_BGR2BGRA)
    cv2.imwrite(str(image_dir / 'scene_0001.png'), rgba)
    assert cv2.imread(str(image_dir / 'scene_0001.png'), cv2.IMREAD_UNCHANGED).shape[2] == 4

    runner = _train(_toy_config(toy_root, tmp_path / 'work'))
    assert runner.iter == 1
    dataset = runner.train_dataloader.dataset
    for index in (0, 1):
        inputs = dataset[index]['inputs']
        assert inputs.shape == (3, 64, 64) and inputs.dtype == torch.uint8
    gray = dataset[0]['inputs']
    assert torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])
    assert not np.isnan(runner.message_hub.get_scalar('train/loss').current())
