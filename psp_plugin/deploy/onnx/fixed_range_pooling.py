"""Adaptive pooling rewritten as fixed index-range pooling, for ONNX export.

ONNX has no adaptive pooling operator. Exporters lower
``nn.AdaptiveAvgPool2d(b)`` on an ``h``-pixel input to a regular pooling
window, which exists only when ``b`` divides ``h``; PSPNet's bins (1, 2, 3, 6)
on a 97x131 input give 13x17 features, which 2, 3 and 6 do not divide.

PyTorch defines output bin ``i`` of ``b`` as the mean (or max) over input rows
``floor(i * h / b)`` .. ``ceil((i + 1) * h / b) - 1``. For a fixed input size
these ranges are constants, so the same result is

* average: ``R_h @ x @ R_w^T`` with ``R`` a (b, h) matrix whose row ``i`` holds
  ``1 / len(range_i)`` on ``range_i`` (two MatMuls, exact up to float
  summation order);
* max: one ``amax`` over each (row range, column range) slice.

Both are plain ONNX operators at any opset. The price is a fixed spatial input
size per exported model (the batch stays dynamic), which is also how MMDeploy
ships PSPNet.
"""
from typing import Dict, List, Tuple

import torch
from torch import Tensor, nn

ADAPTIVE_POOLS = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


def bin_ranges(in_size: int, out_size: int) -> List[Tuple[int, int]]:
    """The [start, end) input range of each of ``out_size`` adaptive-pooling bins.

    Args:
        in_size (int): Input length (pixels).
        out_size (int): Number of bins.

    Returns:
        list[tuple[int, int]]: ``out_size`` half-open ranges, as PyTorch's
        adaptive pooling defines them.
    """
    return [((i * in_size) // out_size, -((-(i + 1) * in_size) // out_size))
            for i in range(out_size)]


def range_average_matrix(in_size: int, out_size: int) -> Tensor:
    """(out_size, in_size) matrix that averages each bin's input range."""
    matrix = torch.zeros(out_size, in_size)
    for row, (start, end) in enumerate(bin_ranges(in_size, out_size)):
        matrix[row, start:end] = 1.0 / (end - start)
    return matrix


class _FixedRangePool2d(nn.Module):
    """Adaptive pooling for one fixed input size; subclasses say how a bin is reduced.

    Args:
        in_size (tuple[int, int]): (H, W) of the input this layer will see.
        out_size (tuple[int, int]): (bins_h, bins_w).
    """

    def __init__(self, in_size: Tuple[int, int], out_size: Tuple[int, int]) -> None:
        super().__init__()
        self.in_size = tuple(in_size)
        self.out_size = tuple(out_size)

    def check_size(self, x: Tensor) -> None:
        if tuple(x.shape[-2:]) != self.in_size:
            raise ValueError(
                f'{type(self).__name__} was built for {self.in_size[0]}x{self.in_size[1]} '
                f'features but got {x.shape[-2]}x{x.shape[-1]}; export the model again at '
                'the input size you run it with')


class FixedRangeAvgPool2d(_FixedRangePool2d):
    """``nn.AdaptiveAvgPool2d`` for one fixed input size, as two matrix products."""

    def __init__(self, in_size: Tuple[int, int], out_size: Tuple[int, int]) -> None:
        super().__init__(in_size, out_size)
        self.register_buffer('rows', range_average_matrix(in_size[0], out_size[0]))
        cols = range_average_matrix(in_size[1], out_size[1])
        self.register_buffer('cols_t', cols.t().contiguous())

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C, bins_h, bins_w) bin means."""
        self.check_size(x)
        return torch.matmul(torch.matmul(self.rows, x), self.cols_t)


class FixedRangeMaxPool2d(_FixedRangePool2d):
    """``nn.AdaptiveMaxPool2d`` for one fixed input size, as per-bin slice maxima."""

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C, bins_h, bins_w) bin maxima."""
        self.check_size(x)
        rows = []
        for top, bottom in bin_ranges(self.in_size[0], self.out_size[0]):
            cells = [x[:, :, top:bottom, left:right].amax(dim=(2, 3))
                     for left, right in bin_ranges(self.in_size[1], self.out_size[1])]
            rows.append(torch.stack(cells, dim=-1))
        return torch.stack(rows, dim=-2)


def pooling_bins(output_size, in_size: Tuple[int, int]) -> Tuple[int, int]:
    """(bins_h, bins_w) of an adaptive pooling ``output_size``; ``None`` keeps the input size."""
    pair = (output_size, output_size) if isinstance(output_size, int) else output_size
    return tuple(size if bins is None else bins for bins, size in zip(pair, in_size))


def record_pool_input_sizes(model: nn.Module, *, example: Tensor) -> Dict[str, Tuple[int, int]]:
    """Run ``model`` once and record the (H, W) each adaptive pooling layer receives.

    Args:
        model (nn.Module): Module whose ``forward(example)`` runs the network.
        example (Tensor): (N, C, H, W) input at the export size.

    Returns:
        dict[str, tuple[int, int]]: Module name -> input (H, W).
    """
    sizes: Dict[str, Tuple[int, int]] = {}
    handles = []
    for name, module in model.named_modules():
        if isinstance(module, ADAPTIVE_POOLS):
            def hook(_module, inputs, _output, name=name):
                sizes[name] = tuple(inputs[0].shape[-2:])
            handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(example)
    finally:
        for handle in handles:
            handle.remove()
    return sizes


def replace_adaptive_pooling(model: nn.Module,
                             input_sizes: Dict[str, Tuple[int, int]]) -> List[str]:
    """Swap every adaptive pooling layer of ``model`` for its fixed-range twin, in place.

    Args:
        model (nn.Module): Network containing ``nn.AdaptiveAvgPool2d`` /
            ``nn.AdaptiveMaxPool2d`` layers.
        input_sizes (dict): Module name -> (H, W) it receives, from
            :func:`record_pool_input_sizes`.

    Returns:
        list[str]: Names of the replaced layers.
    """
    replaced = []
    for name, module in list(model.named_modules()):
        if not isinstance(module, ADAPTIVE_POOLS):
            continue
        if name not in input_sizes:
            raise RuntimeError(
                f'adaptive pooling layer {name} did not run on the example input, so its '
                'input size is unknown; export the module that actually calls it')
        in_size = input_sizes[name]
        out_size = pooling_bins(module.output_size, in_size)
        is_avg = isinstance(module, nn.AdaptiveAvgPool2d)
        fixed_cls = FixedRangeAvgPool2d if is_avg else FixedRangeMaxPool2d
        parent_name, _, child_name = name.rpartition('.')
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child_name, fixed_cls(in_size, out_size))
        replaced.append(name)
    return replaced
