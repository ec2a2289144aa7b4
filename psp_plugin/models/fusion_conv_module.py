"""The factorized pyramid fusion applied to MMCV's ConvModule (PPMHead's bottleneck).

:mod:`psp_plugin.models.pyramid_fusion` has the math. This module says when a
``ConvModule`` (conv -> norm -> act) can use it exactly, and runs it with the
module's own parameters, so state-dict keys and checkpoints are unchanged.

In a ``torch.fx`` graph the conv of ``x`` is a plain ``F.conv2d`` on a
constant slice of the weight, with an eval-mode BatchNorm folded in (bf16 and
int8 treat it as the big conv it is), and the pyramid term is one leaf call
(``torch.fx.wrap``), so int8 keeps that small term in float. The leaf gets
the weight and BN tensors read through ``_parameters``/``_buffers``: FX
then records its own ``get_attr`` nodes for them instead of sharing the
conv's, because FX int8 conversion packs the conv weight once and deletes
the nodes that computed it, which breaks any other reader of those nodes.
"""
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from .eval_norm_folding import PLAIN_CONV_TYPES, batchnorm_affine, folds_into_conv
from .pyramid_fusion import branch_weight_matrices, input_conv_term, pyramid_conv_term, runs_channels_last


def factorization_blocker(conv_module: nn.Module, channel_split: Sequence[int]) -> Optional[str]:
    """Why :func:`fused_pyramid_features` would not equal ``conv_module``, or None.

    Args:
        conv_module (nn.Module): An MMCV ``ConvModule`` (conv, norm, act).
        channel_split (Sequence[int]): Its input channels (Cx, C_1, ..., C_n).

    Returns:
        str | None: The reason, e.g. ``'its conv has stride (2, 2)'``; None when exact.
    """
    conv = getattr(conv_module, 'conv', None)
    if type(conv) not in PLAIN_CONV_TYPES:
        return f'its conv is a {type(conv).__name__}, not a plain Conv2d'
    checks = {
        f'its conv has stride {conv.stride}': tuple(conv.stride) != (1, 1),
        f'its conv has groups={conv.groups}': conv.groups != 1,
        f'its conv pads with {conv.padding_mode!r}, not zeros': conv.padding_mode != 'zeros',
        f'its conv has padding={conv.padding!r}': isinstance(conv.padding, str),
        f'it pads with a {type(getattr(conv_module, "padding_layer", None)).__name__} layer':
            getattr(conv_module, 'with_explicit_padding', False),
        'it uses spectral norm': getattr(conv_module, 'with_spectral_norm', False),
        f'its layer order is {getattr(conv_module, "order", None)}':
            tuple(getattr(conv_module, 'order', ())) != ('conv', 'norm', 'act'),
        f'its conv reads {conv.in_channels} channels, not {sum(channel_split)}':
            conv.in_channels != sum(channel_split),
    }
    return next((reason for reason, blocked in checks.items() if blocked), None)


def _batchnorm_tensors(norm: nn.Module, *, raw: bool = False) -> tuple:
    """(running_mean, running_var, weight, bias, eps); ``raw``: bypass FX's attribute proxies."""
    if raw:
        tensors = {**norm._parameters, **norm._buffers}
        return (tensors['running_mean'], tensors['running_var'], tensors.get('weight'),
                tensors.get('bias'), norm.eps)
    return norm.running_mean, norm.running_var, norm.weight, norm.bias, norm.eps


def pyramid_term_of(weight: Tensor, pooled: Sequence[Tensor], out_size: Tuple[int, int], *,
                    channel_split: Sequence[int], kernel_size: Tuple[int, int],
                    padding: Tuple[int, int], dilation: Tuple[int, int], align_corners: bool,
                    batchnorm: Optional[tuple] = None) -> Tensor:
    """The pyramid term of the fusion conv, scaled by a folded BatchNorm; an FX leaf.

    Args:
        weight (Tensor): (O, Cx + sum C_i, kh, kw) fusion conv weight.
        pooled (Sequence[Tensor]): Branch maps (N, C_i, s_i, t_i).
        out_size (tuple[int, int]): (H, W) of the features ``x``.
        channel_split (Sequence[int]): (Cx, C_1, ..., C_n).
        kernel_size (tuple[int, int]): (kh, kw).
        padding (tuple[int, int]): Zero padding.
        dilation (tuple[int, int]): Dilation.
        align_corners (bool): Of the bilinear upsampling.
        batchnorm (tuple, optional): (running_mean, running_var, weight,
            bias, eps) of an eval-mode BatchNorm folded into the map.

    Returns:
        Tensor: (N, O, H', W'), channels_last when the branch maps are (as the
        conv of ``x`` then is); the features themselves are not an input, so
        an int8 graph does not dequantize them for this term.
    """
    return pyramid_conv_term(pooled, branch_weight_matrices(weight, channel_split), out_size,
                             kernel_size=kernel_size, align_corners=align_corners,
                             padding=padding, dilation=dilation,
                             out_scale=batchnorm_affine(*batchnorm)[0] if batchnorm else None,
                             channels_last=runs_channels_last(pooled))


torch.fx.wrap('pyramid_term_of')


def fused_pyramid_features(conv_module: nn.Module, x: Tensor, pooled: Sequence[Tensor], *,
                           channel_split: Sequence[int], align_corners: bool) -> Tensor:
    """``conv_module(cat([x] + [up(b) for b in pooled], 1))`` with the conv factorized.

    In training, or with a norm other than an eval-mode BatchNorm, the norm
    runs on the sum as in the ConvModule. An eval-mode BatchNorm is folded
    into the combined linear map instead: it follows the sum of the two
    terms, so its scale multiplies both and its shift joins the bias.

    Args:
        conv_module (nn.Module): An MMCV ``ConvModule`` for which
            :func:`factorization_blocker` returns None.
        x (Tensor): (N, Cx, H, W) features.
        pooled (Sequence[Tensor]): Branch maps (N, C_i, s_i, t_i) before upsampling.
        channel_split (Sequence[int]): (Cx, C_1, ..., C_n), plain ints.
        align_corners (bool): Of the bilinear upsampling.

    Returns:
        Tensor: (N, O, H', W') as ``conv_module`` would return.
    """
    conv = conv_module.conv
    norm = conv_module.norm if conv_module.with_norm else None
    folded = norm if folds_into_conv(norm) else None
    bias, scale = conv.bias, None
    if folded is not None:
        scale, shift = batchnorm_affine(*_batchnorm_tensors(folded))
        bias = shift if conv.bias is None else shift + conv.bias.float() * scale
        bias = bias.to(conv.weight.dtype)
    out = input_conv_term(x, conv.weight, bias, in_channels=channel_split[0],
                          padding=conv.padding, dilation=conv.dilation, out_scale=scale)
    out = out + pyramid_term_of(
        conv._parameters['weight'], pooled, x.shape[-2:], channel_split=channel_split,
        kernel_size=conv.kernel_size, padding=conv.padding, dilation=conv.dilation,
        align_corners=align_corners,
        batchnorm=_batchnorm_tensors(folded, raw=True) if folded is not None else None)
    if norm is not None and folded is None:
        out = norm(out)
    if conv_module.with_activation:
        out = conv_module.activate(out)
    return out
