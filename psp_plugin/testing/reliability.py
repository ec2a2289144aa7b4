"""Shared pieces of the resume and fault tests: the run config and interrupting hooks.

The hooks are imported by the ``mim train`` subprocesses through the config's
``custom_imports`` (``psp_plugin.testing.reliability``); they interrupt a real training
process at a chosen iteration.
"""
import os
import signal
from pathlib import Path
from typing import Dict, Optional

import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from psp_plugin.config_files import config_path
from psp_plugin.engine.checkpoint import atomic_write as atomic_checkpoint
from psp_plugin.engine.checkpoint.safe_loading import safe_torch_load

TOY_CONFIG = config_path('pspnet_r18-d8_toy-scenes-64x64.py')
RUNTIME_FRAGMENT = config_path('_base_/psp_runtime.py')
MAX_ITERS = 6
CHECKPOINT_INTERVAL = 2
VAL_INTERVAL = 3


def toy_runtime_config(*, data_root: Path, work_dir: Path) -> Config:
    """The toy config with the reliability fragment merged in, on ``data_root``."""
    cfg = Config.fromfile(str(TOY_CONFIG))
    cfg.merge_from_dict(Config.fromfile(str(RUNTIME_FRAGMENT)).to_dict())
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = str(data_root)
    cfg.work_dir = str(work_dir)
    cfg.default_hooks.visualization = None
    return cfg


def resume_config(*, work_dir: Path, data_root: Path, extra_hooks: Optional[dict] = None,
                  extra_imports: tuple = ()) -> Config:
    """The toy config, made deterministic, with the reliability fragment merged in.

    6 iterations of batch 2, checkpoints every 2 (all kept), validation (and
    best-mIoU checkpoint) every 3; dropout and random flips make every
    iteration consume the random generators.
    """
    cfg = toy_runtime_config(data_root=data_root, work_dir=work_dir)
    cfg.custom_imports = dict(imports=['psp_plugin', 'psp_plugin.testing', *extra_imports],
                              allow_failed_imports=False)
    cfg.randomness = dict(seed=0, deterministic=True)
    cfg.train_cfg.max_iters = MAX_ITERS
    cfg.train_dataloader.batch_size = 2
    cfg.train_cfg.val_interval = VAL_INTERVAL
    cfg.param_scheduler[0].end = MAX_ITERS
    cfg.default_hooks.checkpoint.interval = CHECKPOINT_INTERVAL
    cfg.default_hooks.checkpoint.max_keep_ckpts = -1
    cfg.default_hooks.logger.interval = 1
    for name, hook in (extra_hooks or {}).items():
        cfg.default_hooks[name] = hook
    return cfg


def final_states(checkpoint_path: Path) -> Dict[str, torch.Tensor]:
    """Weights, buffers and SGD momentum of a checkpoint, keyed by name."""
    checkpoint = safe_torch_load(str(checkpoint_path), map_location='cpu')
    states = {f'model.{k}': v for k, v in checkpoint['state_dict'].items()}
    for index, state in checkpoint['optimizer']['state'].items():
        states[f'momentum.{index}'] = state['momentum_buffer']
    return states


def assert_bit_identical(reference: Path, candidate: Path) -> None:
    """Assert two checkpoints hold exactly equal weights, buffers and momenta."""
    expected, found = final_states(reference), final_states(candidate)
    assert expected.keys() == found.keys()
    differing = [k for k in expected if not torch.equal(expected[k], found[k])]
    assert not differing, f'{len(differing)} tensors differ, e.g. {differing[:5]}'


@HOOKS.register_module()
class SignalAtIterationHook(Hook):
    """Send ``signal_name`` to this process after iteration ``iteration``'s checkpoint.

    Its priority is the lowest, so it runs after ``CheckpointHook`` has saved.
    """

    priority = 'LOWEST'

    def __init__(self, iteration: int, signal_name: str = 'SIGKILL') -> None:
        self.iteration = iteration
        self.signal_number = getattr(signal, signal_name)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.iter + 1 == self.iteration:
            os.kill(os.getpid(), self.signal_number)


@HOOKS.register_module()
class KillDuringSaveHook(Hook):
    """SIGKILL this process half-way through writing iteration ``iteration``'s checkpoint."""

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if checkpoint['meta']['iter'] != self.iteration:
            return

        def write_half_then_die(handle: int, data: bytes) -> None:
            os.write(handle, data[:len(data) // 2])
            os.fsync(handle)
            os.kill(os.getpid(), signal.SIGKILL)

        atomic_checkpoint._write_and_sync = write_half_then_die


def train_in_process(cfg: Config, *, name: str):
    """Build the config's runner here and train; returns the runner.

    ``name`` keeps MMEngine's per-experiment logger and message hub apart from
    other runs in this process; deterministic mode is switched off afterwards
    so that it does not leak into other tests.
    """
    from psp_plugin.engine import FailFastRunner
    cfg.experiment_name = name
    try:
        runner = FailFastRunner.from_cfg(cfg)
        runner.train()
    finally:
        torch.use_deterministic_algorithms(False)
    return runner


_REFERENCE_RUNS: Dict[str, Path] = {}


def reference_work_dir(tmp_path_factory, data_root: Path) -> Path:
    """The uninterrupted 6-iteration run, trained once per session and data root."""
    key = str(data_root)
    if key not in _REFERENCE_RUNS:
        work_dir = tmp_path_factory.mktemp('reference_run')
        train_in_process(resume_config(work_dir=work_dir, data_root=data_root),
                         name='reliability_reference')
        _REFERENCE_RUNS[key] = work_dir
    return _REFERENCE_RUNS[key]
