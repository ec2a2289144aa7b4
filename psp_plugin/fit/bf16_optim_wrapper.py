"""BF16AutocastOptimWrapper: bf16 autocast for training steps on CPU or GPU, fp32 weights.

MMEngine's ``AmpOptimWrapper`` refuses CPUs. This wrapper runs the forward pass and loss of each
training step under ``torch.autocast(device_type, dtype=torch.bfloat16)``; weights, gradients and
optimizer state stay fp32 and no loss scaling is needed (bf16 has fp32's exponent range).
Validation and testing are unaffected (fp32), so reported accuracy is that of the fp32 model.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from mmengine.optim import OptimWrapper
from mmseg.registry import OPTIM_WRAPPERS

__all__ = ['BF16AutocastOptimWrapper']


@OPTIM_WRAPPERS.register_module()
class BF16AutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose ``optim_context`` adds bf16 autocast on the model's device.

    Args:
        **kwargs: Passed on to :class:`mmengine.optim.OptimWrapper` (``optimizer``,
            ``clip_grad``, ``accumulative_counts``).
    """

    @contextmanager
    def optim_context(self, model: torch.nn.Module) -> Iterator[None]:
        """Gradient-accumulation context of ``OptimWrapper`` plus bf16 autocast."""
        device_type = next(model.parameters()).device.type
        with super().optim_context(model), torch.autocast(device_type, dtype=torch.bfloat16):
            yield
