"""AuxFCNHead: the auxiliary FCN head PSPNet trains on stage 3."""
from typing import Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from torch import Tensor

from .input_checks import select_head_input


@MODELS.register_module()
class AuxFCNHead(BaseDecodeHead):
    """Plain convolutional head for PSPNet's deep supervision.

    PSPNet (`paper <https://arxiv.org/abs/1612.01105>`_, Sec. 3.3) adds an
    auxiliary loss on stage 3 (``in_index=2``, 1024 channels for ResNet-50+)
    weighted 0.4; this head produces those logits: ``num_convs`` ConvModules,
    optionally the input concatenated back and fused (``concat_input``), then
    dropout and a 1x1 classifier. Parameter names equal those of MMSeg's
    ``FCNHead`` (``convs.i.conv/bn``, ``conv_cat``, ``conv_seg``).

    Call flow (from ``BaseDecodeHead``): ``loss(): forward() ->
    loss_by_feat()`` and ``predict(): forward() -> predict_by_feat()``.

    Args:
        num_convs (int): Number of convs; 0 passes the input through (then
            ``channels`` must equal ``in_channels``). Default: 1.
        kernel_size (int): Odd kernel size of the convs. Default: 3.
        concat_input (bool): Concatenate input and conv output and fuse them
            with one more conv. Default: False.
        dilation (int): Dilation of the convs. Default: 1.
        **kwargs: ``BaseDecodeHead`` arguments: ``in_channels``,
            ``channels``, ``num_classes`` (required), ``in_index``,
            ``dropout_ratio``, ``norm_cfg``, ``loss_decode``...

    Example:
        >>> import torch
        >>> from psp_plugin.models import AuxFCNHead
        >>> head = AuxFCNHead(
        ...     in_channels=16, channels=8, num_classes=3, in_index=0).eval()
        >>> tuple(head((torch.rand(2, 16, 9, 13),)).shape)
        (2, 3, 9, 13)
    """

    def __init__(self,
                 num_convs: int = 1,
                 kernel_size: int = 3,
                 concat_input: bool = False,
                 dilation: int = 1,
                 **kwargs) -> None:
        for name, value, low in (('num_convs', num_convs, 0),
                                 ('kernel_size', kernel_size, 1),
                                 ('dilation', dilation, 1)):
            if isinstance(value, bool) or not isinstance(value, int) \
                    or value < low:
                raise ValueError(f'AuxFCNHead {name}={value!r} must be an '
                                 f'int >= {low}')
        if kernel_size % 2 == 0:
            raise ValueError(f'AuxFCNHead kernel_size={kernel_size} must be '
                             'odd so the output keeps the input size')
        super().__init__(**kwargs)
        if num_convs == 0 and self.in_channels != self.channels:
            raise ValueError(
                f'AuxFCNHead with num_convs=0 passes its input through, so '
                f'channels ({self.channels}) must equal in_channels '
                f'({self.in_channels}); set model.auxiliary_head.channels='
                f'{self.in_channels} or num_convs >= 1')
        self.num_convs = num_convs
        self.kernel_size = kernel_size
        self.concat_input = concat_input
        self.dilation = dilation
        convs = [
            ConvModule(
                self.in_channels if index == 0 else self.channels,
                self.channels,
                kernel_size,
                padding=(kernel_size // 2) * dilation,
                dilation=dilation,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                act_cfg=self.act_cfg) for index in range(num_convs)
        ]
        self.convs = nn.Sequential(*convs) if convs else nn.Identity()
        if concat_input:
            self.conv_cat = ConvModule(
                self.in_channels + self.channels,
                self.channels,
                kernel_size,
                padding=kernel_size // 2,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                act_cfg=self.act_cfg)

    def _forward_feature(self, inputs: Sequence[Tensor]) -> Tensor:
        """Features before the classifier.

        Args:
            inputs (Sequence[Tensor]): backbone outputs; ``inputs[in_index]``
                is (N, in_channels, H, W).

        Returns:
            Tensor: (N, channels, H, W).
        """
        x = select_head_input(self, inputs, config_key='model.auxiliary_head')
        feats = self.convs(x)
        if self.concat_input:
            feats = self.conv_cat(torch.cat([x, feats], dim=1))
        return feats

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Auxiliary logits.

        Args:
            inputs (Sequence[Tensor]): backbone outputs; ``inputs[in_index]``
                is (N, in_channels, H, W).

        Returns:
            Tensor: (N, out_channels, H, W) logits.
        """
        return self.cls_seg(self._forward_feature(inputs))
