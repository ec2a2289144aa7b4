# The main job's recipe: PSPNet (the plugin's DilatedResNet-18 at output
# stride 8, PPMHead, AuxFCNHead) trained from scratch on CPU on brain-MRI
# tissue slices of the MNI152 template (psp-plugin main-job).
#
# Why it looks like this (see README "The main job"):
# * Slices are upsampled 2x (bilinear) before the network, so the output
#   stride is 4 pixels of the original 1 mm grid. Cortical grey matter is a
#   ribbon a few voxels thick: even a perfect 1/8-resolution map upsampled
#   back scores only ~80 mIoU on the val slices, a 1/4-resolution one ~90.6.
# * To pay for the 4x pixels, the ResNet-18 runs at half width
#   (stem/base channels 32: stages 32/64/128/256) with heads of 64 and 32
#   channels; 256x256 crops of the 2x slices (= 128x128 of the original)
#   cost about as much per iteration as the 128x128 crops of the issue's
#   full-width baseline.
# * AdamW with linear warm-up then poly decay, for a short from-scratch run
#   (a choice; not compared with SGD here). Horizontal flips are safe for
#   tissue classes.
# * Input normalisation: mean 55 / std 90 measured on the training slices.
# * Inference (validation and test) runs on slices upsampled 3x, so the
#   output stride is 8/3 original pixels; the logits are resized back to the
#   original grid. The test scale was chosen on the validation blocks from
#   {2.0, 2.5, 3.0, 3.5} with one trained checkpoint (78.44 / 85.63 / 90.22 /
#   88.50 mIoU); see README "The main job".
_base_ = [
    './_base_/models/pspnet_r50-d8.py', 'mmseg::_base_/default_runtime.py',
    './_base_/psp_runtime.py'
]
custom_imports = dict(imports=['psp_plugin'], allow_failed_imports=False)

norm_cfg = dict(type='BN', requires_grad=True)
max_iters = 600
warmup_iters = 100
batch_size = 8
upscale = 2.0
test_upscale = 3.0
crop_size = (256, 256)
width = 32
data_root = 'data/mni152'

model = dict(
    data_preprocessor=dict(
        mean=[55.0, 55.0, 55.0],
        std=[90.0, 90.0, 90.0],
        bgr_to_rgb=False,
        size=crop_size,
        pad_val=0,
        seg_pad_val=255),
    backbone=dict(
        depth=18,
        stem_channels=width,
        base_channels=width,
        norm_cfg=norm_cfg,
        init_cfg=None),
    decode_head=dict(
        in_channels=8 * width,
        channels=2 * width,
        num_classes=3,
        norm_cfg=norm_cfg),
    auxiliary_head=dict(
        in_channels=4 * width, channels=width, num_classes=3,
        norm_cfg=norm_cfg))

dataset_type = 'MNI152TissueDataset'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale_factor=upscale, keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale_factor=test_upscale, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='img_dir/train', seg_map_path='ann_dir/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.002, weight_decay=0.01),
    clip_grad=None)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.01,
        begin=0,
        end=warmup_iters,
        by_epoch=False),
    dict(
        type='PolyLR',
        eta_min=1e-5,
        power=0.9,
        begin=warmup_iters,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=300)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=max_iters,
        max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
randomness = dict(seed=0)
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
