"""Residual blocks of the dilated ResNet backbone.

The blocks mirror the state-dict layout of MMSeg's ResNet blocks
(``conv1``/``bn1``/``conv2``/``bn2``[/``conv3``/``bn3``]/``downsample.0``/
``downsample.1``) so that MMSeg and ImageNet ``resnet*_v1c`` checkpoints load
with ``strict=True``; the code itself is written here.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.utils.checkpoint as checkpoint
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor

from .eval_norm_folding import conv_then_norm, observed


class _ResidualBlock(BaseModule):
    """What both block types share: arguments, norm names, sum, checkpointing.

    Subclasses build their layers in ``_build_layers`` and implement
    ``_residual(x)``, the branch added to the (possibly projected) identity.

    Args:
        inplanes (int): Input channels.
        planes (int): Width of the block; it outputs
            ``planes * expansion`` channels.
        stride (int): Stride of the block's 3x3 convolution. Default: 1.
        dilation (int): Dilation of the block's (first) 3x3 convolution.
            Default: 1.
        downsample (nn.Module, optional): Projection of the identity.
        with_cp (bool): Gradient checkpointing in training. Default: False.
        conv_cfg (dict, optional): Conv layer config. Default: None.
        norm_cfg (dict): Norm layer config. Default: ``dict(type='BN')``.
        init_cfg (dict, optional): Initialization config. Default: None.

    ``fold_eval_norms`` (set by :class:`DilatedResNet`): run each conv and
    its eval-mode BatchNorm as one conv with folded weights where that is
    exact (:mod:`psp_plugin.models.eval_norm_folding`).
    """

    expansion = 1
    fold_eval_norms = True

    def __init__(self,
                 *,
                 inplanes: int,
                 planes: int,
                 stride: int = 1,
                 dilation: int = 1,
                 downsample: Optional[nn.Module] = None,
                 with_cp: bool = False,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        self.stride = stride
        self.dilation = dilation
        self.with_cp = with_cp
        self.last_norm_name = self._build_layers(
            inplanes=inplanes, planes=planes, conv_cfg=conv_cfg,
            norm_cfg=norm_cfg)
        self.downsample = downsample
        self.relu = nn.ReLU(inplace=True)

    def _build_layers(self, *, inplanes: int, planes: int,
                      conv_cfg: Optional[dict], norm_cfg: dict) -> str:
        """Add the convs and norms; return the name of the last norm."""
        raise NotImplementedError

    def _conv(self, name: str, conv_cfg: Optional[dict], in_channels: int,
              out_channels: int, kernel_size: int, *, stride: int = 1,
              dilation: int = 1) -> None:
        self.add_module(
            name,
            build_conv_layer(
                conv_cfg, in_channels, out_channels, kernel_size,
                stride=stride, padding=dilation * (kernel_size // 2),
                dilation=dilation, bias=False))

    def _norm(self, norm_cfg: dict, num_features: int, index: int) -> str:
        """Add a norm layer under MMSeg's name (``bn1``, ``gn2``...)."""
        name, layer = build_norm_layer(norm_cfg, num_features, postfix=index)
        self.add_module(name, layer)
        return name

    def _residual(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def _conv_norm(self, index: int, x: Tensor) -> Tensor:
        """``norm{index}(conv{index}(x))``."""
        norm = getattr(self, getattr(self, f'norm{index}_name'))
        return conv_then_norm(getattr(self, f'conv{index}'), norm, x, fold=self.fold_eval_norms)

    def _identity(self, x: Tensor) -> Tensor:
        """``x``, or its projection by ``downsample`` (a conv and a norm, or any module)."""
        down = self.downsample
        if down is None:
            return x
        if (self.fold_eval_norms and isinstance(down, nn.Sequential) and len(down) == 2
                and not observed(down)):
            return conv_then_norm(down[0], down[1], x)
        return down(x)

    def _block(self, x: Tensor) -> Tensor:
        identity = self._identity(x)
        out = self._residual(x)
        out += identity
        return out

    def forward(self, x: Tensor) -> Tensor:
        """Apply the block.

        Args:
            x (Tensor): (N, C_in, H, W) input features.

        Returns:
            Tensor: (N, planes * expansion, ceil(H / stride),
            ceil(W / stride)) output features.
        """
        if self.with_cp and self.training and x.requires_grad:
            out = self._checkpointed_block(x)
        else:
            out = self._block(x)
        return self.relu(out)

    def _checkpointed_block(self, x: Tensor) -> Tensor:
        """Run ``_block`` under gradient checkpointing.

        The backward pass re-runs the block to recompute activations; that
        re-run would update BatchNorm running statistics a second time with
        the same batch, so the buffers are restored after it. Outputs,
        gradients and statistics then equal those without checkpointing.
        """
        calls = []

        def run(inputs: Tensor) -> Tensor:
            calls.append(None)
            if len(calls) == 1:
                return self._block(inputs)
            saved = [(buf, buf.clone()) for buf in self.buffers()]
            try:
                return self._block(inputs)
            finally:
                with torch.no_grad():
                    for buf, value in saved:
                        buf.copy_(value)

        return checkpoint.checkpoint(run, x, use_reentrant=False)


class BasicResidualBlock(_ResidualBlock):
    """Two 3x3 convolutions (ResNet-18/34); arguments as
    ``_ResidualBlock``, ``expansion`` 1.

    As in MMSeg's ResNet (and therefore its trained checkpoints), only the
    first 3x3 convolution is strided and dilated; the second always has
    dilation 1.

    Example:
        >>> import torch
        >>> block = BasicResidualBlock(inplanes=8, planes=8, dilation=2)
        >>> tuple(block(torch.rand(1, 8, 9, 9)).shape)
        (1, 8, 9, 9)
    """

    expansion = 1

    def _build_layers(self, *, inplanes: int, planes: int,
                      conv_cfg: Optional[dict], norm_cfg: dict) -> str:
        self._conv('conv1', conv_cfg, inplanes, planes, 3,
                   stride=self.stride, dilation=self.dilation)
        self.norm1_name = self._norm(norm_cfg, planes, 1)
        self._conv('conv2', conv_cfg, planes, planes, 3)
        self.norm2_name = self._norm(norm_cfg, planes, 2)
        return self.norm2_name

    def _residual(self, x: Tensor) -> Tensor:
        return self._conv_norm(2, self.relu(self._conv_norm(1, x)))


class BottleneckResidualBlock(_ResidualBlock):
    """1x1 reduce, 3x3 (strided and dilated), 1x1 expand (ResNet-50+);
    arguments as ``_ResidualBlock``, ``expansion`` 4.

    The stride sits on the 3x3 convolution ("pytorch" style, as ResNetV1c).

    Example:
        >>> import torch
        >>> down = nn.Sequential(
        ...     nn.Conv2d(32, 32, 1, stride=2, bias=False), nn.BatchNorm2d(32))
        >>> block = BottleneckResidualBlock(
        ...     inplanes=32, planes=8, stride=2, downsample=down)
        >>> tuple(block(torch.rand(1, 32, 9, 9)).shape)
        (1, 32, 5, 5)
    """

    expansion = 4

    def _build_layers(self, *, inplanes: int, planes: int,
                      conv_cfg: Optional[dict], norm_cfg: dict) -> str:
        self._conv('conv1', conv_cfg, inplanes, planes, 1)
        self.norm1_name = self._norm(norm_cfg, planes, 1)
        self._conv('conv2', conv_cfg, planes, planes, 3, stride=self.stride,
                   dilation=self.dilation)
        self.norm2_name = self._norm(norm_cfg, planes, 2)
        self._conv('conv3', conv_cfg, planes, planes * self.expansion, 1)
        self.norm3_name = self._norm(norm_cfg, planes * self.expansion, 3)
        return self.norm3_name

    def _residual(self, x: Tensor) -> Tensor:
        out = self.relu(self._conv_norm(1, x))
        out = self.relu(self._conv_norm(2, out))
        return self._conv_norm(3, out)
