"""Builders for the model tests: small PSPNet configs, ours and MMSeg's."""
import copy
from typing import Optional

import torch
from mmengine.config import ConfigDict
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch.nn.modules.batchnorm import _BatchNorm

import psp_plugin  # noqa: F401  (registers DilatedResNet, PPMHead, AuxFCNHead)

BN = dict(type='BN', requires_grad=True)
STAGE3_CHANNELS = {18: 256, 34: 256, 50: 1024, 101: 1024, 152: 1024}
STAGE4_CHANNELS = {18: 512, 34: 512, 50: 2048, 101: 2048, 152: 2048}


def pspnet_cfg(*, ours: bool, depth: int = 18, num_classes: int = 5,
               channels: int = 32, aux_channels: int = 16,
               norm_cfg: Optional[dict] = None, dropout_ratio: float = 0.1,
               pool_scales: tuple = (1, 2, 3, 6),
               base_channels: int = 64) -> dict:
    """EncoderDecoder config of PSPNet-R{depth}-D8, ours or MMSeg's built-in.

    Both use the same hyper-parameters as MMSeg's ``pspnet_r50-d8`` base
    (strides (1, 2, 1, 1), dilations (1, 1, 2, 4), contract_dilation) with
    narrower heads for speed; ``base_channels`` < 64 narrows the backbone.
    """
    norm_cfg = norm_cfg or BN
    width = base_channels / 64
    backbone = dict(
        depth=depth,
        stem_channels=base_channels,
        base_channels=base_channels,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        contract_dilation=True)
    if ours:
        backbone.update(type='DilatedResNet')
    else:
        backbone.update(type='ResNetV1c', num_stages=4, style='pytorch')
    head_common = dict(
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        align_corners=False,
        dropout_ratio=dropout_ratio)
    decode_head = dict(
        type='PPMHead' if ours else 'PSPHead',
        in_channels=int(STAGE4_CHANNELS[depth] * width),
        in_index=3,
        channels=channels,
        pool_scales=pool_scales,
        loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0),
        **head_common)
    auxiliary_head = dict(
        type='AuxFCNHead' if ours else 'FCNHead',
        in_channels=int(STAGE3_CHANNELS[depth] * width),
        in_index=2,
        channels=aux_channels,
        num_convs=1,
        concat_input=False,
        loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4),
        **head_common)
    return dict(
        type='EncoderDecoder',
        data_preprocessor=dict(
            type='SegDataPreProcessor',
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            bgr_to_rgb=True,
            pad_val=0,
            seg_pad_val=255,
            size_divisor=1),
        backbone=backbone,
        decode_head=decode_head,
        auxiliary_head=auxiliary_head,
        train_cfg=dict(),
        test_cfg=dict(mode='whole'))


def build_model(cfg: dict) -> torch.nn.Module:
    """Build from a plain dict the way the Runner does (as ConfigDict)."""
    return MODELS.build(ConfigDict(copy.deepcopy(cfg)))


def randomize_norm_layers(model: torch.nn.Module, seed: int = 0) -> None:
    """Give every norm layer non-trivial affine parameters and statistics."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (_BatchNorm, torch.nn.GroupNorm)):
                shape = module.weight.shape
                module.weight.copy_(
                    0.5 + torch.rand(shape, generator=generator))
                module.bias.copy_(
                    0.2 * torch.randn(shape, generator=generator))
            if isinstance(module, _BatchNorm):
                shape = module.running_mean.shape
                module.running_mean.copy_(
                    0.2 * torch.randn(shape, generator=generator))
                module.running_var.copy_(
                    0.5 + torch.rand(shape, generator=generator))


def seg_samples(batch: int, height: int, width: int, num_classes: int,
                seed: int = 0) -> list:
    """SegDataSamples with random labels and the meta data MMSeg expects."""
    generator = torch.Generator().manual_seed(seed)
    samples = []
    for _ in range(batch):
        sample = SegDataSample()
        label = torch.randint(0, num_classes, (1, height, width),
                              generator=generator)
        sample.gt_sem_seg = PixelData(data=label)
        sample.set_metainfo(
            dict(img_shape=(height, width), ori_shape=(height, width),
                 pad_shape=(height, width)))
        samples.append(sample)
    return samples


def relative_max_diff(actual: torch.Tensor, expected: torch.Tensor) -> float:
    return float((actual - expected).abs().max() /
                 expected.abs().max().clamp_min(1e-12))
