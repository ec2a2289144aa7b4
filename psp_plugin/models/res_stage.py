"""One ResNet stage: per-block dilations, identity projection, blocks.

Stages are ``mmengine.model.Sequential`` (so each block's ``init_cfg`` is
applied by ``init_weights``) with MMSeg's key layout ``layerK.i.*``.
"""
from typing import Optional, Sequence, Type, Union

import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import Sequential

from .resnet_blocks import BasicResidualBlock, BottleneckResidualBlock

ResidualBlock = Union[Type[BasicResidualBlock], Type[BottleneckResidualBlock]]


def build_downsample(conv_cfg: Optional[dict], norm_cfg: dict,
                     in_channels: int, out_channels: int,
                     stride: int) -> nn.Sequential:
    """1x1 strided projection + norm (keys ``downsample.0``/``.1``)."""
    return nn.Sequential(
        build_conv_layer(
            conv_cfg, in_channels, out_channels, kernel_size=1,
            stride=stride, bias=False),
        build_norm_layer(norm_cfg, out_channels)[1])


def block_dilations(*, num_blocks: int, dilation: int,
                    contract_dilation: bool,
                    multi_grid: Optional[Sequence[int]]) -> list:
    """Per-block dilation of one stage.

    ``multi_grid`` (when given) lists each block's dilation outright, as in
    MMSeg; otherwise every block uses ``dilation`` except that with
    ``contract_dilation`` the first block of a dilated stage uses half of it.
    """
    if multi_grid is not None:
        return list(multi_grid)
    first = dilation // 2 if (contract_dilation and dilation > 1) else dilation
    return [first] + [dilation] * (num_blocks - 1)


def build_res_stage(*,
                    block: ResidualBlock,
                    inplanes: int,
                    planes: int,
                    num_blocks: int,
                    stride: int,
                    dilation: int,
                    contract_dilation: bool,
                    multi_grid: Optional[Sequence[int]],
                    with_cp: bool,
                    conv_cfg: Optional[dict],
                    norm_cfg: dict,
                    zero_init_last_norm: bool) -> Sequential:
    """Build one ResNet stage as a ``Sequential`` (keys ``layerK.i.*``).

    Only the first block is strided and (if the shape changes) projects the
    identity with ``downsample``. With ``zero_init_last_norm`` each block's
    last norm starts at zero, so its residual branch starts as zero.
    """
    out_channels = planes * block.expansion
    downsample = None
    if stride != 1 or inplanes != out_channels:
        downsample = build_downsample(conv_cfg, norm_cfg, inplanes,
                                      out_channels, stride)
    dilations = block_dilations(
        num_blocks=num_blocks, dilation=dilation,
        contract_dilation=contract_dilation, multi_grid=multi_grid)
    blocks = []
    for index, block_dilation in enumerate(dilations):
        blocks.append(
            block(
                inplanes=inplanes if index == 0 else out_channels,
                planes=planes,
                stride=stride if index == 0 else 1,
                dilation=block_dilation,
                downsample=downsample if index == 0 else None,
                with_cp=with_cp,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg))
        if zero_init_last_norm:
            blocks[-1].init_cfg = dict(
                type='Constant', val=0,
                override=dict(name=blocks[-1].last_norm_name))
    return Sequential(*blocks)
