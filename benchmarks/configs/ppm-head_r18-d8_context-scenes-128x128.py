# PSPNet's pyramid pooling head (PPMHead) on a ResNet-18 at output stride 8,
# trained from scratch on the generated context scenes (128x128, 5 classes).
# The ResNet-18 is a quarter as wide as usual (16 stem/base channels, stage 4
# has 128) so that one run takes minutes on a shared 2-core CPU; the head keeps
# PSPNet's R18 ratio of channels = in_channels / 4.
# benchmarks/ppm_vs_fcn.py trains this and its plain-FCN twin
# (fcn-head_r18-d8_context-scenes-128x128.py) with everything else identical;
# it sets data_root, the iteration budget, the seed and the shared initial
# backbone weights (model.backbone.init_cfg) on both.
_base_ = ['mmseg::_base_/default_runtime.py']
custom_imports = dict(imports=['psp_plugin', 'psp_plugin.testing'], allow_failed_imports=False)

num_classes = 5
max_iters = 250
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=(128, 128)),
    backbone=dict(
        type='DilatedResNet',
        depth=18,
        stem_channels=16,
        base_channels=16,
        output_stride=8,
        norm_cfg=norm_cfg),
    decode_head=dict(
        type='PPMHead',
        in_channels=128,
        in_index=3,
        channels=32,
        pool_scales=(1, 2, 3, 6),
        dropout_ratio=0.1,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        align_corners=False,
        # discs cover 1.5% of the pixels each; weight them 10x so that a
        # few hundred steps are enough to find them at all
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            class_weight=[1.0, 1.0, 1.0, 10.0, 10.0],
            loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

dataset_type = 'ContextScenesDataset'
data_root = 'data/context_scenes'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

# AdamW rather than PSPNet's SGD: both heads start from scratch and get only
# a few hundred steps (the main job's recipe makes the same choice).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.002, weight_decay=0.01))
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=max_iters),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
