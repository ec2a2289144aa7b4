"""Normalisation that survives one value per channel (issue 11).

The pyramid's 1x1 bin pools each image to a single value per channel. With
one image per device, training-mode BatchNorm then has one value per channel
and fails ("Expected more than 1 value per channel when training"); its
variance would be zero anyway. For exactly that case, this module normalises
with the layer's running statistics for that step (as in eval mode) while
the affine weight and bias still train. Whenever a batch norm sees two or
more values per channel, or in eval mode, the layer is called unchanged.
"""
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from .input_checks import is_fx_tracing


def _syncs_across_processes(norm: nn.Module) -> bool:
    """Whether a SyncBatchNorm would pool statistics over >1 processes."""
    if not isinstance(norm, nn.SyncBatchNorm):
        return False
    if not (dist.is_available() and dist.is_initialized()):
        return False
    group = norm.process_group or dist.group.WORLD
    return dist.get_world_size(group) > 1


def sees_single_value(norm: nn.Module, x: Tensor) -> bool:
    """True when training-mode batch norm would see one value per channel.

    SyncBatchNorm across >1 processes is excluded: it pools the statistics
    of all processes (``world_size`` values per channel at batch 1), which
    is well defined, and every process must take the same collective path.
    """
    return (isinstance(norm, _BatchNorm) and norm.training
            and x.numel() == x.size(1) and not _syncs_across_processes(norm))


def normalize_allowing_single_value(norm: nn.Module, x: Tensor) -> Tensor:
    """Apply ``norm`` to ``x``; for a single value per channel in training
    batch norm, use its running statistics instead of batch statistics.

    Running statistics are not updated on such a step (one value gives no
    variance estimate) and ``num_batches_tracked`` is left unchanged.

    Args:
        norm (nn.Module): A norm layer (BN, SyncBN, GN, ...).
        x (Tensor): (N, C, H, W) input of the norm layer.

    Returns:
        Tensor: (N, C, H, W) normalised features.

    Example:
        >>> import torch
        >>> bn = torch.nn.BatchNorm2d(4).train()
        >>> out = normalize_allowing_single_value(bn, torch.rand(1, 4, 1, 1))
        >>> tuple(out.shape), int(bn.num_batches_tracked)
        ((1, 4, 1, 1), 0)
    """
    if is_fx_tracing() or not sees_single_value(norm, x):
        return norm(x)
    if norm.running_mean is None or norm.running_var is None:
        raise ValueError(
            f'{type(norm).__name__} with track_running_stats=False got one '
            'value per channel in training (batch size 1 on a 1x1 pyramid '
            'bin); use track_running_stats=True, GN, or a batch of >= 2')
    return F.batch_norm(
        x,
        norm.running_mean,
        norm.running_var,
        norm.weight,
        norm.bias,
        training=False,
        eps=norm.eps)
