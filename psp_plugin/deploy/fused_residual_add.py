"""int8 residual blocks: the add + ReLU fused into the conv before it (oneDNN, CPUs with VNNI).

A ResNet block ends ``relu(conv3(h) + identity)``. torch's FX int8 graph for
the ``x86`` engine runs that as a quantized conv, which writes its int8
output, and ``quantized::add_relu``, which reads it back with the identity
and writes the sum: 17 such adds cost 42 ms of a 0.77 s R50-D8 forward at
512x1024 on 2 cores, memory-bound. oneDNN's conv can add the identity and
apply the ReLU while it writes its output (``quantized::conv2d_add_relu``),
but torch offers that op only under the ``onednn`` engine, with weights
packed for oneDNN.

:func:`fuse_residual_adds` rewrites a converted graph so that each
``add_relu(conv(h), identity)`` whose conv has no other reader becomes one
:func:`conv_add_relu` call. oneDNN accumulates into the identity's buffer
(the op returns the identity tensor, overwritten with the result), so an add
is fused only where it is the identity's last reader, as at the end of
every ResNet block. That call packs the conv's current int8 weights
for oneDNN once (again whenever the module's packed weights are replaced,
e.g. by ``load_state_dict``) and runs the fused op with the ``onednn``
engine selected for that call only. The conv modules stay in the graph
module, so its state dict, and files saved from it, do not change.

The sum is requantized once instead of twice, so a value can differ from the
unfused graph's by one quantization step (tests/deploy/test_fused_residual_add.py
bounds it). The rewrite is applied only where the ``x86`` engine itself runs
its convs on oneDNN (AVX-512 VNNI or AMX, and the onednn engine built in); on
2-core AVX-512 VNNI it measured 0.768 s against 0.800 s per forward (medians
of 10 interleaved calls).
"""
import contextlib
import weakref
from typing import Iterator, Tuple

import torch
from torch import Tensor, fx
from torch.ao.nn import quantized as nnq

from .hardware import read_cpu_features

#: conv module -> (its packed weights object, the same weights packed for oneDNN)
_ONEDNN_WEIGHTS: 'weakref.WeakKeyDictionary[nnq.Conv2d, Tuple[object, object]]' = (
    weakref.WeakKeyDictionary())


@contextlib.contextmanager
def quantized_engine(name: str) -> Iterator[None]:
    """Select torch's quantized engine ``name`` inside the block, then restore the previous one."""
    previous = torch.backends.quantized.engine
    torch.backends.quantized.engine = name
    try:
        yield
    finally:
        torch.backends.quantized.engine = previous


def can_fuse_residual_adds() -> bool:
    """Whether torch has the onednn engine and the x86 engine runs convs on oneDNN on this CPU."""
    return read_cpu_features().x86_int8_convs_use_onednn


def onednn_packed_weights(conv: nnq.Conv2d):
    """``conv``'s current int8 weight and bias packed for oneDNN (cached per packed-weights object)."""
    packed = conv._packed_params
    cached = _ONEDNN_WEIGHTS.get(conv)
    if cached is not None and cached[0] is packed:
        return cached[1]
    weight, bias = torch.ops.quantized.conv2d_unpack(packed)
    with quantized_engine('onednn'):
        onednn = torch.ops.quantized.conv2d_prepack(weight, bias, list(conv.stride),
                                                    list(conv.padding), list(conv.dilation),
                                                    conv.groups)
    _ONEDNN_WEIGHTS[conv] = (packed, onednn)
    return onednn


def conv_add_relu(conv: nnq.Conv2d, x: Tensor, residual: Tensor, scale: float,
                  zero_point: int) -> Tensor:
    """``relu(conv(x) + residual)`` requantized to (scale, zero_point), in one oneDNN call.

    Args:
        conv (nnq.Conv2d): A quantized conv (no activation of its own).
        x (Tensor): Its quantized (N, C_in, H, W) input.
        residual (Tensor): Quantized (N, C_out, H', W') tensor added to its output.
        scale (float): Output scale.
        zero_point (int): Output zero point.

    Returns:
        Tensor: Quantized (N, C_out, H', W'), sharing ``residual``'s memory:
        ``residual`` is overwritten, so it must not be read afterwards.
    """
    weights = onednn_packed_weights(conv)
    with quantized_engine('onednn'):  # writes the result into ``residual``'s buffer
        return torch.ops.quantized.conv2d_add_relu(x, residual, weights, scale, zero_point)


def _last_read_by(value: object, reader: fx.Node, position: dict) -> bool:
    """Whether ``value`` is a computed node that nothing reads after ``reader``."""
    return (isinstance(value, fx.Node) and value.op in ('call_function', 'call_module', 'call_method')
            and all(position.get(user, len(position)) <= position[reader] for user in value.users))


def fuse_residual_adds(graph: fx.GraphModule) -> int:
    """Replace ``add_relu(conv(h), identity)`` in a converted int8 graph by :func:`conv_add_relu`.

    Only convs read by nothing but the add are fused, and only where the add
    is the last reader of the other operand (the fused op overwrites it);
    nothing happens where :func:`can_fuse_residual_adds` is False.

    Args:
        graph (fx.GraphModule): Output of ``convert_fx``; changed in place and recompiled.

    Returns:
        int: Adds fused.
    """
    if not can_fuse_residual_adds():
        return 0
    modules = dict(graph.named_modules())
    position = {node: index for index, node in enumerate(graph.graph.nodes)}
    fused = 0
    for node in list(graph.graph.nodes):
        if node.op != 'call_function' or node.target is not torch.ops.quantized.add_relu:
            continue
        first, second, scale, zero_point = node.args
        for conv_node, residual in ((first, second), (second, first)):
            if (isinstance(conv_node, fx.Node) and conv_node.op == 'call_module'
                    and type(modules.get(conv_node.target)) is nnq.Conv2d
                    and len(conv_node.users) == 1
                    and _last_read_by(residual, node, position)):
                with graph.graph.inserting_before(node):
                    conv = graph.graph.get_attr(conv_node.target)
                    call = graph.graph.call_function(
                        conv_add_relu, (conv, conv_node.args[0], residual, scale, zero_point))
                node.replace_all_uses_with(call)
                graph.graph.erase_node(node)
                graph.graph.erase_node(conv_node)
                fused += 1
                break
    if fused:
        graph.graph.lint()
        graph.recompile()
    return fused
