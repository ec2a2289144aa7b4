"""Stop training at the first NaN or infinite loss instead of training on garbage.

One NaN loss turns every weight it reaches into NaN through the optimizer
step; a run that carries on logs ``loss: nan`` for hours and then saves
checkpoints that are useless. :class:`NonFiniteLossHook` checks the losses of
every iteration and stops the run at once with the iteration number, the
non-finite terms and the last checkpoint saved before it (which is intact:
the hook runs before ``CheckpointHook`` in ``after_train_iter``, so the
poisoned weights are never saved).
"""
from __future__ import annotations

import math
from typing import Optional

import torch
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from ..checkpoint.last_checkpoint import read_last_checkpoint

__all__ = ['NonFiniteLossError', 'NonFiniteLossHook']


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite."""


def _as_float(value) -> Optional[float]:
    """Return ``value`` as a float, or None if it is not a scalar number."""
    if isinstance(value, torch.Tensor):
        return float(value.detach().float().mean()) if value.numel() else None
    if isinstance(value, (int, float)):
        return float(value)
    return None


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raise :class:`NonFiniteLossError` when a loss term is NaN or infinite.

    Args:
        loss_key_part (str): Log entries whose name contains this are checked.
            Defaults to 'loss' (``loss``, ``decode.loss_ce``, ``aux.loss_ce``).
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, loss_key_part: str = 'loss') -> None:
        self.loss_key_part = loss_key_part

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """Check ``outputs`` (the parsed losses) of the iteration just run."""
        if not outputs:
            return
        bad = {}
        for name, value in outputs.items():
            number = _as_float(value)
            if self.loss_key_part in name and number is not None and not math.isfinite(number):
                bad[name] = number
        if not bad:
            return
        iteration = runner.iter + 1
        last = read_last_checkpoint(runner.work_dir) or None
        where = (f'The last checkpoint saved before it is {last}; resume from it with --resume '
                 'after fixing the cause.' if last else
                 'No checkpoint was saved before it; the run has to start again.')
        terms = ', '.join(f'{name}={number}' for name, number in sorted(bad.items()))
        raise NonFiniteLossError(
            f'Non-finite loss at iteration {iteration} ({terms}); stopped instead of training '
            f'on NaN weights, which are not saved. {where} Usual causes and fixes: a learning '
            'rate too high for this batch size (lower optimizer.lr or add gradient clipping: '
            'optim_wrapper.clip_grad=dict(max_norm=...)), fp16 overflow (use '
            "optim_wrapper.type='AmpOptimWrapper' with loss_scale='dynamic'), or labels "
            'outside [0, num_classes) that are not the ignore index.')
