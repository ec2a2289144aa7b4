"""int8 adaptive average pooling run as plain average pooling where the bins tile the map.

PPMHead pools its features to 1x1, 2x2, 3x3 and 6x6 bins. torch's quantized
adaptive average pooling is a slow kernel: on R50-D8's 2048 x 64 x 128 int8
features at 512x1024 it takes 10.4 ms for 1x1 and 7.5 ms for 2x2, where
quantized ``avg_pool2d`` with the bin as its window computes the same means in
3.3 and 1.7 ms (2 cores). When the bins tile the map (each side divisible by
its bin count) adaptive bins are exactly those windows; otherwise (64 rows in
3 or 6 bins) the adaptive kernel still runs.

The two kernels keep the input's quantization and agree on every value except
where a bin's mean lies exactly halfway between two int8 steps: they round
such ties differently, by one step
(tests/deploy/test_tiled_pooling.py measures both).
"""
from typing import Tuple

import torch.nn.functional as F
from torch import Tensor, fx, nn


def tiled_average_pool(x: Tensor, output_size: Tuple[int, int]) -> Tensor:
    """``F.adaptive_avg_pool2d(x, output_size)``, as a plain average pooling when the bins tile ``x``.

    Args:
        x (Tensor): (N, C, H, W), quantized or float.
        output_size (tuple[int, int]): (bins_h, bins_w).

    Returns:
        Tensor: (N, C, bins_h, bins_w).
    """
    (height, width), (bins_h, bins_w) = x.shape[-2:], output_size
    if height % bins_h == 0 and width % bins_w == 0:
        return F.avg_pool2d(x, (height // bins_h, width // bins_w))
    return F.adaptive_avg_pool2d(x, output_size)


def pool_by_tiles_where_possible(graph: fx.GraphModule) -> int:
    """Replace every ``nn.AdaptiveAvgPool2d`` call with a fixed output size by :func:`tiled_average_pool`.

    The size test happens at run time, so the graph still takes any input size.

    Args:
        graph (fx.GraphModule): Changed in place and recompiled.

    Returns:
        int: Pooling calls replaced.
    """
    replaced = 0
    for node in list(graph.graph.nodes):
        if node.op != 'call_module' or node.kwargs or len(node.args) != 1:
            continue
        module = graph.get_submodule(node.target)
        if type(module) is not nn.AdaptiveAvgPool2d:
            continue
        size = module.output_size
        size = (size, size) if isinstance(size, int) else tuple(size)
        if None in size:
            continue
        with graph.graph.inserting_before(node):
            call = graph.graph.call_function(tiled_average_pool, (node.args[0], size))
        node.replace_all_uses_with(call)
        graph.graph.erase_node(node)
        replaced += 1
    if replaced:
        graph.graph.lint()
        graph.recompile()
    return replaced
