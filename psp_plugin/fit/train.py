"""Stage 3 of ``fit``: train a planned config through the plugin's ``FailFastRunner``.

One CPU process or one GPU trains in this process (startup checks, atomic checkpoints, exact
``--resume``, :class:`~.time_budget_hook.TimeBudgetHook` progress, ETA and the wall-time stop).
Several GPUs, or a CPU run on a machine that has GPUs, go through ``mim train`` and MMEngine's
launchers (``--launcher pytorch``), with the same config.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from mmengine.config import Config

from psp_plugin.engine.checkpoint.last_checkpoint import require_last_checkpoint

__all__ = ['TrainResult', 'mim_command', 'train']


@dataclass
class TrainResult:
    """What a training run left behind.

    Attributes:
        checkpoint: The last checkpoint (``work_dir/last_checkpoint`` names it).
        seconds: Wall time of the stage.
        iterations: Iterations done (the planned count unless the time budget ended it).
        planned_iterations: ``train_cfg.max_iters`` of the config.
    """

    checkpoint: str
    seconds: float
    iterations: int
    planned_iterations: int


def mim_command() -> list[str]:
    """The ``mim`` beside this Python (a venv's), else the one on PATH."""
    beside = Path(sys.executable).with_name('mim')
    if beside.is_file():
        return [str(beside)]
    found = shutil.which('mim')
    if found is None:
        raise FileNotFoundError(f'The `mim` command (package openmim) is neither beside {sys.executable} '
                                'nor on PATH. Fix: `pip install openmim`.')
    return [found]


def _in_process(cfg: Config) -> None:
    from mmseg.registry import RUNNERS

    import psp_plugin.fit  # noqa: F401  (registers TimeBudgetHook, BF16AutocastOptimWrapper)
    runner = RUNNERS.build(cfg)
    runner.train()


def _with_mim(config: Path, work_dir: Path, *, resume: bool, gpus: int) -> None:
    command = mim_command() + ['train', 'mmsegmentation', str(config), '--work-dir', str(work_dir),
                               '--gpus', str(gpus)]
    if gpus > 1:
        command += ['--launcher', 'pytorch']
    if resume:
        command += ['--resume']
    print('$ ' + ' '.join(command), flush=True)
    completed = subprocess.run(command, env=dict(os.environ, PYTHONUNBUFFERED='1'))
    if completed.returncode != 0:
        raise RuntimeError(f'`{" ".join(command)}` failed with exit code {completed.returncode}; its '
                           'log is above and in the work dir.')


def _iterations_done(checkpoint: str) -> int:
    from mmengine.runner.checkpoint import _load_checkpoint

    meta = _load_checkpoint(checkpoint, map_location='cpu').get('meta', {})
    return int(meta.get('iter', 0))


def train(config: str | Path, work_dir: str | Path, *, resume: bool = False, device: str = 'cpu',
          gpus: int = 1, cfg_options: Optional[dict] = None) -> TrainResult:
    """Train ``config`` into ``work_dir``; return the last checkpoint.

    Args:
        config (str | Path): A planned (or any MMSeg) config file.
        work_dir (str | Path): Checkpoints, logs and ``vis_data/scalars.json`` go here.
        resume (bool): Continue from the newest intact checkpoint in ``work_dir``. Default: False.
        device (str): ``'cpu'`` or ``'cuda'``. Default: ``'cpu'``.
        gpus (int): GPUs (``'cuda'``); more than one trains through MMEngine's launcher. Default: 1.
        cfg_options (dict, optional): Config keys to override, MMEngine's ``merge_from_dict`` style.

    Returns:
        TrainResult: Checkpoint, wall time and iterations.
    """
    import torch

    config, work_dir = Path(config), Path(work_dir)
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise RuntimeError('--device cuda was given but torch sees no GPU here. Fix: use --device cpu, '
                           'or install a CUDA build of torch.')
    cfg = Config.fromfile(str(config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.work_dir, cfg.resume = str(work_dir), resume
    started = time.perf_counter()
    gpu_machine_on_cpu = device == 'cpu' and torch.cuda.is_available()
    if (device.startswith('cuda') and gpus > 1) or gpu_machine_on_cpu:
        if cfg_options:
            config = work_dir / f'{config.stem}_as_run.py'
            work_dir.mkdir(parents=True, exist_ok=True)
            cfg.dump(str(config))
        _with_mim(config, work_dir, resume=resume, gpus=0 if device == 'cpu' else gpus)
    else:
        _in_process(cfg)
    seconds = time.perf_counter() - started
    checkpoint = require_last_checkpoint(str(work_dir))
    return TrainResult(checkpoint=checkpoint, seconds=round(seconds, 1),
                       iterations=_iterations_done(checkpoint),
                       planned_iterations=int(cfg.train_cfg['max_iters']))
