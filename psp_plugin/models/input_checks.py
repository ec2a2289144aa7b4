"""Feature selection for the heads with errors that say what to set.

The checks inspect Python lengths and tensor shapes, so they are skipped while
``torch.fx`` symbolically traces a head (the graph then has no shape-dependent
control flow, which FX graph-mode quantization needs).
"""
from typing import Sequence

from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from torch import Tensor

try:  # torch >= 2.6 separates torch.fx tracing from torch.export
    from torch.fx._symbolic_trace import is_fx_symbolic_tracing as is_fx_tracing
except ImportError:  # older torch
    from torch.fx._symbolic_trace import is_fx_tracing


def select_head_input(head: BaseDecodeHead, inputs: Sequence[Tensor], *,
                      config_key: str) -> Tensor:
    """The feature map(s) ``head`` reads, checked when it reads one map.

    With ``input_transform`` set, MMSeg's ``_transform_inputs`` is used as
    is; otherwise ``inputs[head.in_index]`` is checked for range and channel
    count.

    Args:
        head (BaseDecodeHead): the head (``in_index``, ``in_channels``).
        inputs (Sequence[Tensor]): backbone outputs, each (N, C_i, H_i, W_i).
        config_key (str): config path of the head, e.g.
            ``'model.decode_head'``, named in the error messages.

    Returns:
        Tensor: (N, in_channels, H, W) the selected feature map.
    """
    if head.input_transform is not None:
        return head._transform_inputs(inputs)
    in_index, in_channels = head.in_index, head.in_channels
    head_name = type(head).__name__
    if is_fx_tracing():
        return inputs[in_index]
    num_maps = len(inputs)
    if not -num_maps <= in_index < num_maps:
        raise ValueError(
            f'{head_name} in_index={in_index} is out of range: the backbone '
            f'gives {num_maps} feature maps; set {config_key}.in_index to a '
            f'value in [0, {num_maps - 1}] (or change the backbone '
            'out_indices)')
    x = inputs[in_index]
    if x.dim() != 4 or x.size(1) != in_channels:
        raise ValueError(
            f'{head_name} was built with in_channels={in_channels} but '
            f'feature map {in_index} has shape {tuple(x.shape)} '
            f'({x.size(1) if x.dim() > 1 else "?"} channels); set '
            f'{config_key}.in_channels={x.size(1) if x.dim() > 1 else "?"} '
            f'or pick another {config_key}.in_index')
    return x
