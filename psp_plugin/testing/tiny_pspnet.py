"""A tiny plugin PSPNet config and a checkpoint for it, for inference and export tests.

Weights are PyTorch's default initialisation (not MMSeg's near-zero classifier
init) and batch-norm statistics are randomised, so logits differ clearly
between classes and argmax comparisons are meaningful.
"""
from pathlib import Path

import torch
from mmengine import Config

CLASSES = ('background', 'sky', 'road', 'tree')
PALETTE = [[0, 0, 0], [70, 130, 180], [128, 64, 128], [107, 142, 35]]


def tiny_pspnet_config(*, num_classes: int = len(CLASSES)) -> Config:
    """EncoderDecoder(DilatedResNet-18 OS8 with 8..64 channels, PPMHead, AuxFCNHead)."""
    norm_cfg = dict(type='BN', requires_grad=True)
    test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackSegInputs')]
    return Config(dict(
        default_scope='mmseg',
        custom_imports=dict(imports=['psp_plugin'], allow_failed_imports=False),
        model=dict(
            type='EncoderDecoder',
            data_preprocessor=dict(
                type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0, seg_pad_val=255),
            backbone=dict(type='DilatedResNet', depth=18, stem_channels=16, base_channels=8,
                          output_stride=8, norm_cfg=norm_cfg),
            decode_head=dict(type='PPMHead', in_channels=64, in_index=3, channels=16,
                             pool_scales=(1, 2, 3, 6), dropout_ratio=0.1,
                             num_classes=num_classes, norm_cfg=norm_cfg, align_corners=False),
            auxiliary_head=dict(type='AuxFCNHead', in_channels=32, in_index=2, channels=8,
                                num_convs=1, num_classes=num_classes, norm_cfg=norm_cfg,
                                align_corners=False),
            train_cfg=dict(),
            test_cfg=dict(mode='whole')),
        test_pipeline=test_pipeline,
        test_dataloader=dict(batch_size=1, num_workers=0,
                             dataset=dict(type='BaseSegDataset', pipeline=test_pipeline)),
        visualizer=dict(type='SegLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')]),
    ))


def randomize_bn_statistics(model: torch.nn.Module) -> None:
    """Draw every BatchNorm's running mean (N(0, 0.2)) and variance (U(0.5, 1.5)) from torch's global RNG.

    Untrained models then give logits that differ clearly between classes, so argmax comparisons mean
    something; seed with ``torch.manual_seed`` first for reproducible values.
    """
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean.normal_(0.0, 0.2)
            module.running_var.uniform_(0.5, 1.5)


def save_config_and_checkpoint(folder: Path, *, seed: int = 0) -> tuple:
    """Write ``tiny_pspnet.py`` and ``tiny_pspnet.pth`` into ``folder``.

    Returns:
        tuple[Path, Path]: (config file, checkpoint file).
    """
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    config = tiny_pspnet_config()
    init_default_scope('mmseg')
    torch.manual_seed(seed)
    model = MODELS.build(config.model)
    randomize_bn_statistics(model)
    config_file, checkpoint_file = folder / 'tiny_pspnet.py', folder / 'tiny_pspnet.pth'
    config.dump(str(config_file))
    torch.save({'state_dict': model.state_dict(),
                'meta': {'dataset_meta': {'classes': CLASSES, 'palette': PALETTE}}},
               checkpoint_file)
    return config_file, checkpoint_file
