"""PSPNet's pyramid fusion conv, computed without upsampling the pyramid.

PSPNet's head concatenates the backbone features ``x`` (N, Cx, H, W) with n
pyramid branches ``b_i`` (N, C, s_i, s_i), each upsampled bilinearly to
(H, W), and fuses the (N, Cx + n*C, H, W) result with one kh x kw convolution
(the "bottleneck"; zero padding p, dilation d, stride 1). Half of that conv's
input channels (R50-D8: 2048 of 4096) carry maps that are interpolations of
at most 36 values each.

The identity. Split the conv weight along its input channels into
``W_x`` (O, Cx, kh, kw) and ``W_1 .. W_n`` (O, C, kh, kw). Bilinear
upsampling is linear and separable, ``up(b) = R b Q^T`` per channel with
``R`` (H, s) and ``Q`` (W, s) the interpolation matrices of the two axes. A
conv tap (ky, kx) reads its input at row ``h + ky*d - p`` (zero outside the
map), which is the same as using ``R_ky``: the rows of ``R`` moved by the tap,
with zero rows where the tap reads padding (likewise ``Q_kx``). Mixing
channels commutes with both matrices, so::

    conv(concat[x, up(b_1), ..., up(b_n)])
        = conv(x; W_x) + sum_i sum_{ky, kx} R_{i,ky} (W_i[:, :, ky, kx] b_i) Q_{i,kx}^T

The sum mixes channels on the small s_i x s_i maps (O*C*kh*kw*s_i^2
multiply-adds per image) and then expands each result with two thin matrix
products; the plain conv spends O*n*C*kh*kw*H*W on the upsampled maps. For
PSPNet-R50-D8 at 512x1024 (64x128 features) the fusion falls from 154.6 to
77.6 GMAC with the same weights. The results agree within float rounding
(sums are taken in another order); ``tests/models/test_pyramid_fusion.py``
checks outputs and gradients against the plain computation.

Shapes for R50-D8 at 512x1024 (N=1, Cx=2048, C=O=512, s in 1, 2, 3, 6):
``x`` (1, 2048, 64, 128); each tap matrix (64, 3*s) and (128, 3*s); the mixed
bins (1, s, s, 512, 3, 3); the pyramid term (1, 512, 64, 128).

The interpolation matrices are made by ``F.interpolate`` itself (applied to
an identity matrix), so they hold exactly the weights the plain path uses.
They are cached per (in size, out size, align_corners, taps, device, dtype),
except while torch.jit, dynamo/export or a fake-tensor mode traces the code:
then they are built by the traced ops. :mod:`psp_plugin.models.fusion_conv_module`
runs the pyramid term as one ``torch.fx`` leaf, so FX graphs (BN folding,
bf16, int8) call it, with its cache, at run time.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.weak import WeakIdKeyDictionary

_MAX_CACHED = 256
_TAP_MATRICES: Dict[tuple, Tensor] = {}
#: weight tensor -> (its ``_version``, channel split, matrices); entries die with the weight.
_BRANCH_WEIGHTS = WeakIdKeyDictionary()


def tracing_or_exporting() -> bool:
    """True under torch.jit tracing, dynamo/export or a fake-tensor mode (no caching there)."""
    compiler = getattr(torch, 'compiler', None)
    for check in ('is_compiling', 'is_exporting'):  # torch >= 2.3 / 2.5
        if getattr(compiler, check, lambda: False)():
            return True
    if torch.jit.is_tracing():
        return True
    return torch._guards.detect_fake_mode() is not None


def interpolation_matrix(in_size: int, out_size: int, align_corners: bool, *,
                         device: Optional[torch.device] = None,
                         dtype: torch.dtype = torch.float32) -> Tensor:
    """The matrix of 1-D bilinear resizing from ``in_size`` to ``out_size`` samples.

    Column ``j`` is ``F.interpolate`` applied to the j-th unit vector (the
    other axis has length 1, where bilinear resizing is the identity), so
    ``M @ v`` equals ``F.interpolate`` on ``v`` up to rounding. The weights
    are computed in float32 (float64 for float64), as ``F.interpolate``
    computes them for float32, bfloat16 and float16 inputs.

    Args:
        in_size (int): Input length.
        out_size (int): Output length.
        align_corners (bool): As in ``F.interpolate(mode='bilinear')``.
        device (torch.device, optional): Device of the result.
        dtype (torch.dtype): Dtype of the result. Default: float32.

    Returns:
        Tensor: (out_size, in_size).
    """
    exact_dtype = torch.float64 if dtype == torch.float64 else torch.float32
    unit_vectors = torch.eye(in_size, device=device, dtype=exact_dtype)
    columns = F.interpolate(unit_vectors.reshape(in_size, 1, in_size, 1), size=(out_size, 1),
                            mode='bilinear', align_corners=align_corners)
    return columns.reshape(in_size, out_size).t().to(dtype).contiguous()


def _build_tap_matrix(in_size: int, out_size: int, align_corners: bool, kernel: int,
                      padding: int, dilation: int, device, dtype) -> Tensor:
    matrix = interpolation_matrix(in_size, out_size, align_corners, device=device, dtype=dtype)
    length = out_size + 2 * padding - dilation * (kernel - 1)
    padded = F.pad(matrix, (0, 0, padding, padding))  # zero rows where a tap reads padding
    taps = [padded[tap * dilation:tap * dilation + length] for tap in range(kernel)]
    return torch.cat(taps, dim=1)


def tap_interpolation_matrix(in_size: int, out_size: int, align_corners: bool, kernel: int,
                             padding: int, dilation: int, device: torch.device,
                             dtype: torch.dtype) -> Tensor:
    """Bilinear resizing followed by every tap of a zero-padded 1-D conv, as one matrix.

    Block ``t`` (columns ``t*in_size .. (t+1)*in_size - 1``) is the
    interpolation matrix with its rows moved by tap ``t``: output row ``o``
    holds interpolation row ``o + t*dilation - padding``, or zeros where that
    row is outside the map (the conv reads padding there).

    Args:
        in_size (int): Length before resizing (pyramid bins).
        out_size (int): Length after resizing (feature map).
        align_corners (bool): As in ``F.interpolate(mode='bilinear')``.
        kernel (int): Conv taps along this axis.
        padding (int): Zero padding of the conv on each side.
        dilation (int): Conv dilation.
        device (torch.device): Device of the result.
        dtype (torch.dtype): Dtype of the result.

    Returns:
        Tensor: (out_size + 2*padding - dilation*(kernel-1), kernel*in_size),
        cached (do not modify it in place).
    """
    args = (in_size, out_size, align_corners, kernel, padding, dilation, device, dtype)
    if tracing_or_exporting():
        return _build_tap_matrix(*args)
    matrix = _TAP_MATRICES.get(args)
    if matrix is None:
        if len(_TAP_MATRICES) >= _MAX_CACHED:
            _TAP_MATRICES.clear()
        matrix = _TAP_MATRICES[args] = _build_tap_matrix(*args)
    return matrix


def _build_branch_weight_matrices(weight: Tensor, channel_split: Sequence[int]) -> List[Tensor]:
    out_channels, _, kernel_h, kernel_w = weight.shape
    taps_last = weight[:, channel_split[0]:].permute(0, 2, 3, 1)  # (O, kh, kw, sum C_i)
    if weight.stride(1) != 1:
        taps_last = taps_last.contiguous()
    matrices, start = [], 0
    for channels in channel_split[1:]:
        matrices.append(taps_last[..., start:start + channels].reshape(
            out_channels * kernel_h * kernel_w, channels))
        start += channels
    return matrices


def branch_weight_matrices(weight: Tensor, channel_split: Sequence[int]) -> List[Tensor]:
    """The branch parts ``W_i`` of a fusion conv weight as (O*kh*kw, C_i) matrices.

    Without autograd (inference: no grad mode, or a weight that needs none) the
    result is cached per weight tensor and rebuilt when the weight changes in
    place (its version counter moves) or dies; for R50-D8 this saves a 19 MB
    copy of the branch weights per forward pass. With autograd, and while
    tracing or exporting, it is built each call.

    Args:
        weight (Tensor): (O, Cx + sum C_i, kh, kw) fusion conv weight.
        channel_split (Sequence[int]): (Cx, C_1, ..., C_n).

    Returns:
        list[Tensor]: Row ``(o, ky, kx)`` of matrix i is ``W_i[o, :, ky, kx]``. Views of a
        channels_last weight; otherwise views of one copy of the branch part (do not modify).
    """
    split = tuple(int(c) for c in channel_split)
    if ((weight.requires_grad and torch.is_grad_enabled()) or weight.is_inference()
            or tracing_or_exporting()):  # inference tensors have no version counter
        return _build_branch_weight_matrices(weight, split)
    cached = _BRANCH_WEIGHTS.get(weight)
    if cached is not None and cached[0] == weight._version and cached[1] == split:
        return cached[2]
    matrices = _build_branch_weight_matrices(weight, split)
    _BRANCH_WEIGHTS[weight] = (weight._version, split, matrices)
    return matrices


def pyramid_conv_term(pooled: Sequence[Tensor], weights: Sequence[Tensor],
                      out_size: Tuple[int, int], *, kernel_size: Tuple[int, int],
                      align_corners: bool, padding: Tuple[int, int], dilation: Tuple[int, int],
                      out_scale: Optional[Tensor] = None, channels_last: bool = False) -> Tensor:
    """``sum_i conv(up(b_i); W_i)`` without forming ``up(b_i)`` (no bias).

    Per branch: one GEMM mixes channels for every tap on the bins
    (N*s*t, C) x (C, O*kh*kw); one GEMM applies the column tap matrices;
    then one product with the stacked row tap matrices of all branches.

    Args:
        pooled (Sequence[Tensor]): Branch maps b_i, each (N, C_i, s_i, t_i).
        weights (Sequence[Tensor]): W_i as (O*kh*kw, C_i) matrices
            (:func:`branch_weight_matrices`).
        out_size (tuple[int, int]): (H, W) the branches are upsampled to.
        kernel_size (tuple[int, int]): (kh, kw) of the conv.
        align_corners (bool): Of the bilinear upsampling.
        padding (tuple[int, int]): Zero padding (ph, pw) of the conv.
        dilation (tuple[int, int]): Dilation (dh, dw) of the conv.
        out_scale (Tensor, optional): (O,) factor per output channel
            (a folded BatchNorm's scale), applied on the small maps.
        channels_last (bool): Lay the result out channels_last (to add it
            to a channels_last conv output); else W is its innermost dim.

    Returns:
        Tensor: (N, O, H + 2ph - dh(kh-1), W + 2pw - dw(kw-1)).
    """
    (kernel_h, kernel_w), (height, width) = kernel_size, out_size
    out_channels = weights[0].shape[0] // (kernel_h * kernel_w)
    rows, expanded = [], []
    for branch, weight in zip(pooled, weights):
        num, channels, bins_h, bins_w = branch.shape
        bins = branch.permute(0, 2, 3, 1).reshape(num * bins_h * bins_w, channels)
        mixed = F.linear(bins, weight).view(num, bins_h, bins_w, out_channels, kernel_h, kernel_w)
        if out_scale is not None:
            mixed = mixed * out_scale.to(mixed.dtype).reshape(-1, 1, 1)
        cols = tap_interpolation_matrix(bins_w, width, align_corners, kernel_w, padding[1],
                                        dilation[1], weight.device, mixed.dtype)
        rows.append(tap_interpolation_matrix(bins_h, height, align_corners, kernel_h, padding[0],
                                             dilation[0], weight.device, mixed.dtype))
        if channels_last:  # (N*kh*s, kw*t, O) -> (N, kh*s, W'*O)
            mixed = mixed.permute(0, 4, 1, 5, 2, 3).reshape(-1, kernel_w * bins_w, out_channels)
            expanded.append(torch.matmul(cols, mixed).view(num, kernel_h * bins_h, -1))
        else:  # (N*kh*s*O, kw*t) -> (N, kh*s, O*W')
            mixed = mixed.permute(0, 4, 1, 3, 5, 2).reshape(-1, kernel_w * bins_w)
            expanded.append(torch.matmul(mixed, cols.t()).view(num, kernel_h * bins_h, -1))
    # (H', sum kh*s) @ (N, sum kh*s, W'*O or O*W') -> (N, H', W'*O or O*W')
    out = torch.matmul(torch.cat(rows, dim=1), torch.cat(expanded, dim=1))
    if channels_last:
        return out.view(out.shape[0], out.shape[1], -1, out_channels).permute(0, 3, 1, 2)
    return out.view(out.shape[0], out.shape[1], out_channels, -1).permute(0, 2, 1, 3)


def runs_channels_last(maps: Sequence[Tensor]) -> bool:
    """Whether the largest of ``maps`` (N, C, h, w) is laid out channels_last."""
    largest = max(maps, key=lambda m: m.shape[-1] * m.shape[-2])
    return (largest.dim() == 4 and not largest.is_contiguous()
            and largest.is_contiguous(memory_format=torch.channels_last))


def input_conv_term(x: Tensor, weight: Tensor, bias: Optional[Tensor], *, in_channels: int,
                    padding: Tuple[int, int], dilation: Tuple[int, int],
                    out_scale: Optional[Tensor] = None) -> Tensor:
    """``conv2d(x; W_x) * out_scale + bias``, with ``W_x = weight[:, :Cx]``.

    Args:
        x (Tensor): (N, Cx, H, W) features.
        weight (Tensor): (O, Cx + sum C_i, kh, kw) fusion conv weight.
        bias (Tensor, optional): (O,) bias added to the output.
        in_channels (int): Cx, a plain int: a traced graph then slices the
            weight with a constant (int8 conversion packs the slice once).
        padding (tuple[int, int]): Zero padding.
        dilation (tuple[int, int]): Dilation.
        out_scale (Tensor, optional): (O,) factor per output channel, folded
            into the weight (in float32, then cast back to its dtype).

    Returns:
        Tensor: (N, O, H', W').
    """
    weight_x = weight[:, :in_channels]
    if out_scale is not None:
        weight_x = (weight_x.float() * out_scale.float().reshape(-1, 1, 1, 1)).to(weight.dtype)
    # tuples, not ints: int8 conversion hands these arguments to quantized::conv2d_prepack
    return F.conv2d(x, weight_x, bias, (1, 1), tuple(padding), tuple(dilation), 1)


def factorized_fusion_conv(x: Tensor, pooled: Sequence[Tensor], weight: Tensor,
                           bias: Optional[Tensor], *, align_corners: bool,
                           padding: Tuple[int, int] = (1, 1),
                           dilation: Tuple[int, int] = (1, 1)) -> Tensor:
    """``conv2d(cat([x] + [up(b) for b in pooled], 1), weight, bias)``, factorized.

    ``up`` is ``F.interpolate(b, size=x.shape[-2:], mode='bilinear',
    align_corners=align_corners)``; the conv has stride 1, groups 1 and zero
    padding.

    Args:
        x (Tensor): (N, Cx, H, W) features.
        pooled (Sequence[Tensor]): Branch maps (N, C_i, s_i, t_i), in
            concatenation order.
        weight (Tensor): (O, Cx + sum C_i, kh, kw) conv weight.
        bias (Tensor, optional): (O,) conv bias.
        align_corners (bool): Of the bilinear upsampling.
        padding (tuple[int, int]): Zero padding. Default: (1, 1).
        dilation (tuple[int, int]): Dilation. Default: (1, 1).

    Returns:
        Tensor: (N, O, H', W'), the conv's output size.
    """
    split = [x.shape[1]] + [branch.shape[1] for branch in pooled]
    pyramid = pyramid_conv_term(
        pooled, branch_weight_matrices(weight, split), x.shape[-2:],
        kernel_size=tuple(weight.shape[-2:]), align_corners=align_corners, padding=padding,
        dilation=dilation, channels_last=runs_channels_last([x]))
    return input_conv_term(x, weight, bias, in_channels=split[0], padding=padding,
                           dilation=dilation) + pyramid
