"""A run whose loss turns NaN/inf stops at once and names the last good checkpoint."""
import re
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from psp_plugin.engine import FailFastRunner, NonFiniteLossError
from psp_plugin.engine.checkpoint.safe_loading import safe_torch_load
from psp_plugin.testing.reliability import toy_runtime_config


def _diverging_config(data_root: Path, work_dir: Path) -> Config:
    """The toy config with a learning rate that blows the weights up within a few steps."""
    cfg = toy_runtime_config(data_root=data_root, work_dir=work_dir)
    cfg.randomness = dict(seed=0)
    cfg.optim_wrapper.optimizer.lr = 1e8
    cfg.param_scheduler = None
    cfg.train_cfg.max_iters = 12  # the loss turns NaN at iteration 3
    cfg.train_dataloader.batch_size = 2
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False, interval=1)
    cfg.experiment_name = 'nan_guard'
    return cfg


def test_non_finite_loss_stops_with_iteration_and_last_good_checkpoint(
        toy_scenes_root: Path, tmp_path: Path) -> None:
    runner = FailFastRunner.from_cfg(_diverging_config(toy_scenes_root, tmp_path))
    with pytest.raises(NonFiniteLossError) as error:
        runner.train()
    message = str(error.value)
    match = re.search(r'Non-finite loss at iteration (\d+) \((.*?)\)', message)
    assert match, message
    iteration = int(match.group(1))
    assert iteration >= 2 and re.search(r'=(nan|inf|-inf)\b', match.group(2))
    last_good = tmp_path / f'iter_{iteration - 1}.pth'
    assert f'The last checkpoint saved before it is {last_good}' in message
    assert 'lower optimizer.lr' in message
    assert not (tmp_path / f'iter_{iteration}.pth').exists()
    weights = safe_torch_load(str(last_good))['state_dict']
    assert all(torch.isfinite(tensor).all() for tensor in weights.values()
               if tensor.is_floating_point())
    assert runner.iter == iteration - 1

