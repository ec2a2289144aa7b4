"""Fold eval-mode BatchNorm into the convolution before it.

A BatchNorm in eval mode is an affine map per channel, so
``bn(conv(x)) == conv'(x)`` with ``w' = w * g / sqrt(v + eps)`` and
``b' = (b - m) * g / sqrt(v + eps) + beta``. Folding removes one full pass
over every feature map. The model is traced with :mod:`torch.fx` so any
module layout works (MMCV ``ConvModule``, ResNet blocks, plain
``nn.Sequential``), as long as its forward is traceable in eval mode.
"""
import copy
from typing import Tuple

import torch.nn as nn
from torch import fx
from torch.nn.utils.fusion import fuse_conv_bn_eval

_CONV_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def trace_module(module: nn.Module) -> fx.GraphModule:
    """Symbolically trace ``module`` in eval mode, with a clear error if it cannot be.

    Args:
        module (nn.Module): A module whose forward has no data-dependent Python
            control flow in eval mode.

    Returns:
        fx.GraphModule: The traced module; submodules keep their qualified names.
    """
    module.eval()
    try:
        return fx.symbolic_trace(module)
    except Exception as error:  # fx raises TraceError, TypeError, ... by construct
        raise RuntimeError(
            f'{type(module).__name__} cannot be traced by torch.fx ({error}). The fast '
            'inference path needs forward() without Python control flow that depends on '
            'tensor values; use the plugin modules (DilatedResNet, PPMHead), which are '
            'traceable.') from error


def _module_at(graph_module: fx.GraphModule, node: fx.Node) -> nn.Module:
    return graph_module.get_submodule(node.target)


def fold_batchnorm(graph_module: fx.GraphModule) -> Tuple[fx.GraphModule, int]:
    """Fold every ``conv -> BatchNorm`` pair of a traced module, in place.

    A pair is folded only when the BatchNorm reads the conv output and nothing
    else reads it, and the BatchNorm tracks running statistics.

    Args:
        graph_module (fx.GraphModule): A traced module in eval mode.

    Returns:
        tuple[fx.GraphModule, int]: The module (its BatchNorms replaced by
        folded convs) and the number of pairs folded.
    """
    folded = 0
    for node in list(graph_module.graph.nodes):
        if node.op != 'call_module' or not isinstance(_module_at(graph_module, node), _BN_TYPES):
            continue
        producer = node.args[0]
        if (not isinstance(producer, fx.Node) or producer.op != 'call_module'
                or len(producer.users) != 1):
            continue
        conv = _module_at(graph_module, producer)
        norm = _module_at(graph_module, node)
        if not isinstance(conv, _CONV_TYPES) or norm.running_mean is None:
            continue
        parent_name, _, conv_name = producer.target.rpartition('.')
        parent = graph_module.get_submodule(parent_name) if parent_name else graph_module
        setattr(parent, conv_name, fuse_conv_bn_eval(conv.eval(), norm.eval()))
        node.replace_all_uses_with(producer)
        graph_module.graph.erase_node(node)
        folded += 1
    graph_module.graph.lint()
    graph_module.delete_all_unused_submodules()
    graph_module.recompile()
    return graph_module, folded


def trace_and_fold_batchnorm(module: nn.Module) -> fx.GraphModule:
    """Trace ``module`` and fold its BatchNorms; the input module is not changed.

    Args:
        module (nn.Module): A traceable module, e.g. a PSPNet backbone + head.

    Returns:
        fx.GraphModule: A module computing the same function with fewer layers.
    """
    graph_module = trace_module(copy.deepcopy(module))
    return fold_batchnorm(graph_module)[0]
