"""Conv followed by an eval-mode BatchNorm, run as one conv with folded weights.

In eval mode a BatchNorm is a fixed per-channel affine map, so
``bn(conv(x; W, b)) = conv(x; W * s, b * s + t)`` with ``s = gamma /
sqrt(running_var + eps)`` and ``t = beta - running_mean * s``. Making the
folded weights costs a pass over the conv weight per call; the BatchNorm costs
two passes (read, write) over the feature map, so the fold is used where the
map is large against the weights (:data:`MIN_POSITIONS_PER_WEIGHT`). For
PSPNet-R50-D8 at 512x1024 on 2 CPU threads the eager forward takes 4.06 s
instead of 4.42 s (``docs/modules.md``).

The fold is used only where it equals the module calls up to float rounding
and nothing observes the modules themselves: a plain zero-padded ``Conv2d``,
a BatchNorm normalising with its running statistics, no autograd graph to
record (no grad mode, or nothing that requires grad), no autocast, no forward
hooks on either module (feature extractors, FLOP counters and MMEngine's
analysis tools see both calls), and no tracing or export: ``torch.fx``,
``torch.jit``, ``torch.export`` and ONNX export record the two modules, so
:mod:`psp_plugin.deploy` and exported graphs fold them their own way.
Training (BatchNorm in train mode, or ``norm_eval`` with trainable weights) is
untouched.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.modules import module as module_hooks

from .pyramid_fusion import tracing_or_exporting


def _plain_conv_types() -> tuple:
    types = [nn.Conv2d]
    try:  # MMCV's Conv2d only adds support for empty inputs
        from mmcv.cnn.bricks.wrappers import Conv2d as MMCVConv2d
        types.append(MMCVConv2d)
    except ImportError:
        pass
    return tuple(types)


PLAIN_CONV_TYPES = _plain_conv_types()
#: Fold only where the conv's output has at least this many positions (N*H'*W') per weight
#: element of one output channel (C_in/groups*kh*kw): below it, making the folded weights costs
#: more than the BatchNorm pass it saves.
MIN_POSITIONS_PER_WEIGHT = 4.0


def folds_into_conv(norm: Optional[nn.Module]) -> bool:
    """Whether ``norm`` is a BatchNorm that normalises with its running statistics now."""
    return (isinstance(norm, nn.modules.batchnorm._BatchNorm) and not norm.training
            and norm.running_mean is not None and norm.running_var is not None)


def observed(module: nn.Module) -> bool:
    """Whether forward hooks (the module's own or global ones) would see the call."""
    return bool(module._forward_hooks or module._forward_pre_hooks
                or getattr(module_hooks, '_global_forward_hooks', None)
                or getattr(module_hooks, '_global_forward_pre_hooks', None))


def _records_autograd(x: Tensor, *modules: nn.Module) -> bool:
    if not torch.is_grad_enabled():
        return False
    return x.requires_grad or any(p.requires_grad for m in modules for p in m.parameters())


def _autocast_on(device_type: str) -> bool:
    try:
        return torch.is_autocast_enabled(device_type)
    except TypeError:  # torch < 2.4 takes no device type
        return (torch.is_autocast_cpu_enabled() if device_type == 'cpu'
                else torch.is_autocast_enabled())
    except RuntimeError:  # a device type without autocast ('meta')
        return False


def _pays_off(conv: nn.Conv2d, x: Tensor) -> bool:
    """Whether the output has enough positions per weight for folding to save time."""
    out_positions = x.shape[0]
    for size, kernel, stride, padding, dilation in zip(x.shape[2:], conv.kernel_size, conv.stride,
                                                      conv.padding, conv.dilation):
        out_positions *= (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    return out_positions >= MIN_POSITIONS_PER_WEIGHT * conv.weight[0].numel()


def can_fold(conv: nn.Module, norm: nn.Module, x: Tensor) -> bool:
    """Whether :func:`conv_then_norm` may run ``norm(conv(x))`` as one folded conv.

    A conv with ``padding='same'``/``'valid'`` runs as written (folding would be exact, but the
    size rule reads numeric padding).
    """
    return (isinstance(x, Tensor) and type(conv) in PLAIN_CONV_TYPES
            and conv.padding_mode == 'zeros' and not isinstance(conv.padding, str)
            and folds_into_conv(norm) and x.numel() > 0
            and x.dtype == conv.weight.dtype and not _records_autograd(x, conv, norm)
            and not _autocast_on(x.device.type) and not observed(conv) and not observed(norm)
            and not tracing_or_exporting() and _pays_off(conv, x))


def batchnorm_affine(running_mean: Tensor, running_var: Tensor, weight: Optional[Tensor],
                     bias: Optional[Tensor], eps: float, *,
                     dtype: torch.dtype = torch.float32) -> Tuple[Tensor, Tensor]:
    """(scale, shift), both (C,) in ``dtype``, of an eval-mode BatchNorm: ``bn(y) = scale*y + shift``."""
    scale = torch.rsqrt(running_var.to(dtype) + eps)
    if weight is not None:
        scale = scale * weight.to(dtype)
    shift = -running_mean.to(dtype) * scale
    if bias is not None:
        shift = shift + bias.to(dtype)
    return scale, shift


def folded_conv_weights(conv: nn.Conv2d, norm: nn.modules.batchnorm._BatchNorm
                        ) -> Tuple[Tensor, Tensor]:
    """(weight, bias) of the conv equal to ``norm(conv(.))`` for an eval-mode BatchNorm.

    The per-channel factors are computed in float32 (float64 for float64
    weights) and the results cast to the conv weight's dtype.

    Returns:
        tuple[Tensor, Tensor]: (O, C/groups, kh, kw) weight and (O,) bias.
    """
    dtype = torch.promote_types(conv.weight.dtype, torch.float32)
    scale, bias = batchnorm_affine(norm.running_mean, norm.running_var, norm.weight, norm.bias,
                                   norm.eps, dtype=dtype)
    if conv.bias is not None:
        bias = bias + conv.bias.to(dtype) * scale
    weight = conv.weight * scale.to(conv.weight.dtype).reshape(-1, 1, 1, 1)
    return weight, bias.to(conv.weight.dtype)


def conv_then_norm(conv: nn.Module, norm: nn.Module, x: Tensor, *, fold: bool = True) -> Tensor:
    """``norm(conv(x))``, as one conv with folded weights where :func:`can_fold` allows.

    Args:
        conv (nn.Module): The conv layer.
        norm (nn.Module): The norm layer after it (any type).
        x (Tensor): (N, C, H, W) input.
        fold (bool): False always calls the two modules. Default: True.

    Returns:
        Tensor: (N, O, H', W'), equal to ``norm(conv(x))`` up to float rounding.
    """
    if not (fold and can_fold(conv, norm, x)):
        return norm(conv(x))
    weight, bias = folded_conv_weights(conv, norm)
    return F.conv2d(x, weight, bias, conv.stride, conv.padding, conv.dilation, conv.groups)
