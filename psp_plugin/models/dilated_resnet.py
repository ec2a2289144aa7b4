"""DilatedResNet: PSPNet's deep-stem ResNet backbone with output strides."""
from typing import Optional, Sequence, Tuple

import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from .backbone_args import check_mmseg_resnet_args, resolve_strides_and_dilations
from .eval_norm_folding import conv_then_norm, observed
from .res_stage import build_res_stage
from .resnet_blocks import BasicResidualBlock, BottleneckResidualBlock

#: depth -> (block type, number of blocks per stage)
ARCH_SETTINGS = {
    18: (BasicResidualBlock, (2, 2, 2, 2)),
    34: (BasicResidualBlock, (3, 4, 6, 3)),
    50: (BottleneckResidualBlock, (3, 4, 6, 3)),
    101: (BottleneckResidualBlock, (3, 4, 23, 3)),
    152: (BottleneckResidualBlock, (3, 8, 36, 3)),
}


@MODELS.register_module()
class DilatedResNet(BaseModule):
    """Deep-stem ResNet whose last stages trade stride for dilation.

    The backbone of `PSPNet <https://arxiv.org/abs/1612.01105>`_: ResNet with
    the three-3x3-conv stem of ResNetV1c (`Bag of Tricks
    <https://arxiv.org/abs/1812.01187>`_) and dilated stages so that features
    stay at 1/8 (or 1/16) of the input. Parameter and buffer names equal those
    of MMSeg's ``ResNetV1c``, so its checkpoints and the ImageNet
    ``open-mmlab://resnetXX_v1c`` weights load with ``strict=True``.

    Args:
        depth (int): 18, 34, 50, 101 or 152. Default: 50.
        in_channels (int): Image channels. Default: 3.
        stem_channels (int): Output channels of the stem. Default: 64.
        base_channels (int): Planes of the first stage. Default: 64.
        output_stride (int, optional): 8, 16 or 32. With neither this nor
            ``strides``/``dilations`` given the backbone is OS8.
        strides (Sequence[int], optional): Stride of each stage (MMSeg style).
        dilations (Sequence[int], optional): Dilation of each stage.
        out_indices (Sequence[int]): Stages to output. Default: (0, 1, 2, 3).
        contract_dilation (bool): The first block of a dilated stage uses half
            the dilation. Default: True.
        multi_grid (Sequence[int], optional): Dilation of each block of the
            last stage, used as given (MMSeg semantics, not multiplied by the
            stage dilation). Default: None.
        frozen_stages (int): Freeze the stem (0) and stages 1..k (k);
            -1 freezes nothing. Default: -1.
        conv_cfg (dict, optional): Conv layer config. Default: None.
        norm_cfg (dict): Norm config (BN, SyncBN, GN...).
        norm_eval (bool): Keep BatchNorm layers in eval mode while training.
            Default: False.
        with_cp (bool): Gradient checkpointing of every block while training
            (less memory, ~one more forward). Default: False.
        act_cfg (dict): Activation config; only ReLU is supported.
        fold_eval_norms (bool): In eval mode without autograd, run each conv
            and its BatchNorm as one conv with folded weights (same results
            up to float rounding; R50-D8 at 512x1024 on 2 CPU threads: 4.06
            instead of 4.42 s;
            :mod:`psp_plugin.models.eval_norm_folding`). False calls every
            norm layer as written. Settable later. Default: True.
        init_cfg (dict | list[dict], optional): e.g.
            ``dict(type='Pretrained', checkpoint='resnet50_v1c.pth')``.
        **mmseg_resnet_args: MMSeg ``ResNetV1c`` arguments that ported
            configs carry: ``num_stages=4`` and ``style='pytorch'`` describe
            this backbone and are accepted; anything else (``pretrained``,
            ``dcn``, ``plugins``...) raises a TypeError that says what to do.

    Example:
        >>> import torch
        >>> from psp_plugin.models import DilatedResNet
        >>> model = DilatedResNet(depth=18, output_stride=8).eval()
        >>> for feat in model(torch.rand(1, 3, 65, 97)):
        ...     print(tuple(feat.shape))
        (1, 64, 17, 25)
        (1, 128, 9, 13)
        (1, 256, 9, 13)
        (1, 512, 9, 13)
    """

    def __init__(self,
                 depth: int = 50,
                 in_channels: int = 3,
                 stem_channels: int = 64,
                 base_channels: int = 64,
                 output_stride: Optional[int] = None,
                 strides: Optional[Sequence[int]] = None,
                 dilations: Optional[Sequence[int]] = None,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 contract_dilation: bool = True,
                 multi_grid: Optional[Sequence[int]] = None,
                 frozen_stages: int = -1,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 act_cfg: dict = dict(type='ReLU'),
                 fold_eval_norms: bool = True,
                 init_cfg: Optional[dict] = None,
                 **mmseg_resnet_args) -> None:
        check_mmseg_resnet_args(mmseg_resnet_args)
        if depth not in ARCH_SETTINGS:
            raise KeyError(f'DilatedResNet depth={depth} is not supported; '
                           f'use one of {sorted(ARCH_SETTINGS)}')
        block, stage_blocks = ARCH_SETTINGS[depth]
        zero_init_last_norm = init_cfg is None
        if init_cfg is None:
            init_cfg = [
                dict(type='Kaiming', layer='Conv2d'),
                dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
            ]
        super().__init__(init_cfg)
        self._check_options(out_indices, frozen_stages, multi_grid,
                            stage_blocks[-1], act_cfg)
        self.depth = depth
        self.strides, self.dilations = resolve_strides_and_dilations(
            output_stride, strides, dilations)
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp

        self.stem = self._make_stem(conv_cfg, norm_cfg, in_channels,
                                    stem_channels)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        inplanes = stem_channels
        self.stage_names = []
        for index, num_blocks in enumerate(stage_blocks):
            planes = base_channels * 2**index
            stage = build_res_stage(
                block=block,
                inplanes=inplanes,
                planes=planes,
                num_blocks=num_blocks,
                stride=self.strides[index],
                dilation=self.dilations[index],
                contract_dilation=contract_dilation,
                multi_grid=multi_grid if index == 3 else None,
                with_cp=with_cp,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                zero_init_last_norm=zero_init_last_norm)
            inplanes = planes * block.expansion
            self.add_module(f'layer{index + 1}', stage)
            self.stage_names.append(f'layer{index + 1}')
        self.out_channels = tuple(base_channels * 2**i * block.expansion
                                  for i in self.out_indices)
        self.fold_eval_norms = fold_eval_norms
        self._freeze_stages()

    @property
    def fold_eval_norms(self) -> bool:
        """Whether eval-mode BatchNorms are folded into their convs (see Args)."""
        return self._fold_eval_norms

    @fold_eval_norms.setter
    def fold_eval_norms(self, value: bool) -> None:
        self._fold_eval_norms = bool(value)
        for module in self.modules():
            if isinstance(module, (BasicResidualBlock, BottleneckResidualBlock)):
                module.fold_eval_norms = bool(value)

    @staticmethod
    def _check_options(out_indices: Sequence[int], frozen_stages: int,
                       multi_grid: Optional[Sequence[int]],
                       last_stage_blocks: int, act_cfg: dict) -> None:
        if not out_indices or not all(0 <= i <= 3 for i in out_indices):
            raise ValueError(f'out_indices={tuple(out_indices)} must be a '
                             'non-empty subset of (0, 1, 2, 3)')
        if not -1 <= frozen_stages <= 4:
            raise ValueError(f'frozen_stages={frozen_stages} must be in '
                             '[-1, 4] (-1: nothing, 0: stem, k: stem+stages '
                             '1..k)')
        if multi_grid is not None and (
                len(multi_grid) != last_stage_blocks
                or not all(isinstance(d, int) and d > 0 for d in multi_grid)):
            raise ValueError(
                f'multi_grid={tuple(multi_grid)} must give one positive '
                f'dilation per block of the last stage ({last_stage_blocks} '
                'blocks at this depth)')
        if act_cfg.get('type') != 'ReLU':
            raise ValueError(f"act_cfg={act_cfg} is not supported; "
                             "DilatedResNet uses dict(type='ReLU')")

    @staticmethod
    def _make_stem(conv_cfg: Optional[dict], norm_cfg: dict, in_channels: int,
                   stem_channels: int) -> nn.Sequential:
        """Three 3x3 conv-norm-ReLU (stride 2, 1, 1): keys ``stem.0..8``."""
        widths = (in_channels, stem_channels // 2, stem_channels // 2,
                  stem_channels)
        layers = []
        for index in range(3):
            layers += [
                build_conv_layer(
                    conv_cfg, widths[index], widths[index + 1], kernel_size=3,
                    stride=2 if index == 0 else 1, padding=1, bias=False),
                build_norm_layer(norm_cfg, widths[index + 1])[1],
                nn.ReLU(inplace=True)
            ]
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Extract features.

        Args:
            x (Tensor): (N, in_channels, H, W) images; any H, W.

        Returns:
            tuple[Tensor]: one (N, C_i, ceil(H / s_i), ceil(W / s_i)) map per
            ``out_indices`` entry, where s_i is the cumulative stride
            (4, 8, 8, 8 at OS8) and C_i is ``self.out_channels[i]``.
        """
        x = self.maxpool(self._stem(x))
        outs = []
        for index, name in enumerate(self.stage_names):
            x = getattr(self, name)(x)
            if index in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def _stem(self, x: Tensor) -> Tensor:
        """``self.stem(x)``, its conv-norm pairs folded where exact."""
        if not self.fold_eval_norms or observed(self.stem):
            return self.stem(x)
        for index in range(0, len(self.stem), 3):
            conv, norm, activation = self.stem[index:index + 3]
            x = activation(conv_then_norm(conv, norm, x))
        return x

    def _freeze_stages(self) -> None:
        frozen = [self.stem] if self.frozen_stages >= 0 else []
        frozen += [
            getattr(self, f'layer{i}')
            for i in range(1, self.frozen_stages + 1)
        ]
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'DilatedResNet':
        """Set train mode, keeping frozen stages and (``norm_eval``) BN in
        eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
