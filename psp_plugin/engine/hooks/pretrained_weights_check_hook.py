"""Fail before training starts if the pretrained weights named in the config cannot be read."""
from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.runner import BaseLoop
from mmseg.registry import HOOKS

from ..checks.pretrained import check_model_pretrained_sources

__all__ = ['PretrainedWeightsCheckHook']


@HOOKS.register_module()
class PretrainedWeightsCheckHook(Hook):
    """Fail before training starts if pretrained weights cannot be read.

    Only training initialises weights from ``init_cfg``, so the check runs
    only in ``Runner.train()``; testing and validation load a checkpoint
    instead and are never blocked.

    Args:
        allow_download (bool): Try to download missing weights before
            giving up. Defaults to True.
    """

    priority = 'VERY_HIGH'

    def __init__(self, allow_download: bool = True) -> None:
        self.allow_download = allow_download

    def before_run(self, runner) -> None:
        """Check the model's pretrained sources when ``runner`` is about to train."""
        # Runner.train() builds its train loop before calling before_run;
        # test() and val() leave it as a config dict (or None).
        if not isinstance(runner._train_loop, BaseLoop):
            return
        checked = check_model_pretrained_sources(runner.model, allow_download=self.allow_download)
        if checked:
            runner.logger.info(f'pretrained weights available: {", ".join(checked)}')
