"""PPMHead: PSPNet's pyramid pooling module as an MMSeg decode head."""
from typing import List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.logging import print_log
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from torch import Tensor

from .fusion_conv_module import factorization_blocker, fused_pyramid_features
from .input_checks import select_head_input
from .single_value_norm import normalize_allowing_single_value

POOL_TYPES = {'avg': nn.AdaptiveAvgPool2d, 'max': nn.AdaptiveMaxPool2d}


def check_pool_scales(pool_scales: Sequence[int]) -> tuple:
    """Return ``pool_scales`` as a tuple or raise a ValueError saying why."""
    if not isinstance(pool_scales, (list, tuple)) or len(pool_scales) == 0:
        raise ValueError(
            f'pool_scales={pool_scales!r} must be a non-empty list/tuple of '
            'positive ints (bins per side), e.g. (1, 2, 3, 6)')
    bad = [s for s in pool_scales
           if isinstance(s, bool) or not isinstance(s, int) or s <= 0]
    if bad:
        raise ValueError(f'pool_scales={tuple(pool_scales)} has invalid '
                         f'entries {bad}; every bin count must be an int '
                         '>= 1, e.g. (1, 2, 3, 6)')
    return tuple(pool_scales)


@MODELS.register_module()
class PPMHead(BaseDecodeHead):
    """Pyramid pooling head of `PSPNet <https://arxiv.org/abs/1612.01105>`_.

    The input feature map is pooled adaptively into ``s x s`` bins for each
    ``s`` in ``pool_scales``; each branch is reduced by a 1x1 ConvModule,
    upsampled bilinearly to the input size and concatenated with the input;
    a 3x3 ConvModule fuses them, then dropout and the 1x1 classifier.

    By default the fusion conv is computed without upsampling the branches
    (``factorized_fusion=True``): the conv of the concatenation equals the
    conv of ``x`` with its share of the weight plus, per branch, the weight
    applied on the bins and then upsampled, tap by tap (see
    ``psp_plugin.models.pyramid_fusion``). Same parameters and outputs within
    float rounding, for training and inference; the fusion conv costs half.

    Call flow (from ``BaseDecodeHead``): ``loss(): forward() ->
    loss_by_feat()`` and ``predict(): forward() -> predict_by_feat()``.

    Parameter names equal those of MMSeg's ``PSPHead``
    (``psp_modules.i.1.conv/bn``, ``bottleneck.conv/bn``, ``conv_seg``).

    At batch size 1 in training, a batch-norm branch whose pooled map has a
    single value per channel (the 1x1 bin) is normalised with its running
    statistics for that step instead of failing; see
    ``psp_plugin.models.single_value_norm``.

    Args:
        pool_scales (Sequence[int]): Bins per side of each pyramid level.
            Default: (1, 2, 3, 6).
        pool_type (str): 'avg' (default) or 'max' adaptive pooling.
        factorized_fusion (bool): Compute the fusion conv factorized
            wherever that is exact (a zero-padded, stride-1 conv; otherwise the
            head logs why and concatenates). False always concatenates, the
            literal computation. Default: True.
        **kwargs: ``BaseDecodeHead`` arguments: ``in_channels``,
            ``channels``, ``num_classes`` (required), ``in_index``,
            ``dropout_ratio``, ``norm_cfg``, ``align_corners``,
            ``loss_decode``...

    Example:
        >>> import torch
        >>> from psp_plugin.models import PPMHead
        >>> head = PPMHead(in_channels=32, channels=8, num_classes=3).eval()
        >>> feats = (torch.rand(1, 16, 9, 13), torch.rand(1, 32, 9, 13))
        >>> tuple(head(feats).shape)
        (1, 3, 9, 13)
    """

    def __init__(self,
                 pool_scales: Sequence[int] = (1, 2, 3, 6),
                 pool_type: str = 'avg',
                 factorized_fusion: bool = True,
                 **kwargs) -> None:
        pool_scales = check_pool_scales(pool_scales)
        if pool_type not in POOL_TYPES:
            raise ValueError(f"pool_type={pool_type!r} is not supported; use "
                             f"one of {sorted(POOL_TYPES)}")
        super().__init__(**kwargs)
        self.pool_scales = pool_scales
        self.pool_type = pool_type
        self.psp_modules = nn.ModuleList(
            nn.Sequential(
                POOL_TYPES[pool_type](scale),
                ConvModule(
                    self.in_channels,
                    self.channels,
                    1,
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg,
                    act_cfg=self.act_cfg)) for scale in pool_scales)
        self.bottleneck = ConvModule(
            self.in_channels + len(pool_scales) * self.channels,
            self.channels,
            3,
            padding=1,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        self.channel_split = (self.in_channels, ) + (self.channels, ) * len(pool_scales)
        blocker = factorization_blocker(self.bottleneck, self.channel_split)
        if factorized_fusion and blocker:
            print_log(f'PPMHead: the factorized fusion is not exact here ({blocker}); the '
                      'bottleneck runs on the concatenated maps', logger='current')
        self.factorized_fusion = bool(factorized_fusion) and blocker is None

    def pooled_branches(self, x: Tensor) -> List[Tensor]:
        """Pool and reduce ``x`` at every pyramid level (not upsampled).

        Args:
            x (Tensor): (N, in_channels, H, W) features.

        Returns:
            list[Tensor]: one (N, channels, s, s) map per pool scale ``s``.
        """
        outs = []
        for branch in self.psp_modules:
            pool, conv_module = branch[0], branch[1]
            out = conv_module.conv(pool(x))
            if conv_module.with_norm:
                out = normalize_allowing_single_value(conv_module.norm, out)
            if conv_module.with_activation:
                out = conv_module.activate(out)
            outs.append(out)
        return outs

    def upsample(self, branch: Tensor, x: Tensor) -> Tensor:
        """Resize ``branch`` (N, C, s, s) bilinearly to ``x``'s (H, W)."""
        return F.interpolate(branch, size=x.shape[2:], mode='bilinear',
                             align_corners=self.align_corners)

    def pyramid_branches(self, x: Tensor) -> List[Tensor]:
        """Pool, reduce and upsample ``x`` at every pyramid level.

        Args:
            x (Tensor): (N, in_channels, H, W) features.

        Returns:
            list[Tensor]: one (N, channels, H, W) map per pool scale.
        """
        return [self.upsample(branch, x) for branch in self.pooled_branches(x)]

    def _forward_feature(self, inputs: Sequence[Tensor]) -> Tensor:
        """Fused pyramid features before the classifier.

        Args:
            inputs (Sequence[Tensor]): backbone outputs; ``inputs[in_index]``
                is (N, in_channels, H, W).

        Returns:
            Tensor: (N, channels, H, W).
        """
        x = select_head_input(self, inputs, config_key='model.decode_head')
        pooled = self.pooled_branches(x)
        if self.factorized_fusion:
            return fused_pyramid_features(self.bottleneck, x, pooled,
                                          channel_split=self.channel_split,
                                          align_corners=self.align_corners)
        upsampled = [self.upsample(branch, x) for branch in pooled]
        return self.bottleneck(torch.cat([x] + upsampled, 1))

    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Segmentation logits (N, num_classes, H, W) at feature resolution.

        Args:
            inputs (Sequence[Tensor]): backbone outputs; ``inputs[in_index]``
                is (N, in_channels, H, W).

        Returns:
            Tensor: (N, out_channels, H, W) logits.
        """
        return self.cls_seg(self._forward_feature(inputs))
