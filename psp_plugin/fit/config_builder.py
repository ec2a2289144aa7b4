"""Turn a :class:`~psp_plugin.fit.plan.Plan` into an ordinary MMSeg config and write it to a file.

The config is self-contained (no ``_base_``), so ``mim train mmsegmentation CONFIG`` and ``mim test``
run it unchanged from any folder; the reasons of the plan head the file as comments.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mmengine.config import Config

if TYPE_CHECKING:
    from .plan import Plan

__all__ = ['build_config', 'model_config', 'test_pipeline', 'write_config']


def model_config(plan: 'Plan') -> dict:
    """The ``model`` entry: DilatedResNet + PPMHead + AuxFCNHead inside MMSeg's EncoderDecoder."""
    norm_cfg = dict(type='SyncBN' if plan.gpus > 1 else 'BN', requires_grad=True)
    w, k = plan.width, plan.num_classes
    last = 8 * w if plan.depth < 50 else 32 * w

    def loss() -> dict:
        if plan.class_weight is None:
            return dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=True)
        # MMSeg's CrossEntropyLoss(class_weight=...) fails on ignored pixels; see this loss's docstring
        return dict(type='ClassWeightedCrossEntropyLoss', class_weight=list(plan.class_weight),
                    loss_weight=1.0)

    aux_loss = dict(loss(), loss_weight=0.4)
    return dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=None, std=None, bgr_to_rgb=False,
                               size=(plan.crop, plan.crop), pad_val=0, seg_pad_val=plan.ignore_index),
        backbone=dict(type='DilatedResNet', depth=plan.depth, in_channels=plan.channels,
                      stem_channels=w, base_channels=w, output_stride=plan.output_stride,
                      out_indices=(0, 1, 2, 3), contract_dilation=True, norm_cfg=norm_cfg,
                      norm_eval=False, init_cfg=None),
        decode_head=dict(type='PPMHead', in_channels=last, in_index=3, channels=2 * w,
                         pool_scales=(1, 2, 3, 6), dropout_ratio=0.1, num_classes=k,
                         norm_cfg=norm_cfg, align_corners=False, ignore_index=plan.ignore_index,
                         loss_decode=loss()),
        auxiliary_head=dict(type='AuxFCNHead', in_channels=last // 2, in_index=2, channels=w,
                            num_convs=1, concat_input=False, dropout_ratio=0.1, num_classes=k,
                            norm_cfg=norm_cfg, align_corners=False, ignore_index=plan.ignore_index,
                            loss_decode=aux_loss),
        train_cfg=dict(), test_cfg=dict(mode='whole'))


def test_pipeline(normalization: dict, scale: float) -> list[dict]:
    """Whole-image pipeline at ``scale``; predictions are resized back to the original grid."""
    return [dict(type='LoadNormalizedImage', normalization=normalization),
            dict(type='Resize', scale_factor=scale, keep_ratio=True),
            dict(type='LoadAnnotations'),
            dict(type='PackSegInputs')]


def _loader(plan: 'Plan', split: str, pipeline: list, train: bool) -> dict:
    workers = plan.workers
    dataset = dict(type='PreparedSegDataset', data_root=str(plan.data_root), split=split, pipeline=pipeline)
    if train and plan.rare_classes:
        dataset.update(oversample_classes=list(plan.rare_classes), oversample_share=plan.rare_share)
    return dict(
        batch_size=plan.batch_size if train else 1, num_workers=workers,
        persistent_workers=workers > 0,
        sampler=dict(type='InfiniteSampler' if train else 'DefaultSampler', shuffle=train),
        dataset=dataset)


def _crop(plan: 'Plan') -> dict:
    """MMSeg's random crop, or one steered to the plan's rare classes."""
    if not plan.rare_classes:
        return dict(type='RandomCrop', crop_size=(plan.crop, plan.crop))
    return dict(type='RareClassCrop', crop_size=(plan.crop, plan.crop),
                rare_classes=list(plan.rare_classes), prob=plan.rare_crop_prob)


def build_config(plan: 'Plan') -> dict:
    """The whole config as a dict (see the module docstring)."""
    norm = plan.normalization
    train_pipeline = [dict(type='LoadNormalizedImage', normalization=norm),
                      dict(type='LoadAnnotations'),
                      dict(type='Resize', scale_factor=plan.input_scale, keep_ratio=True),
                      _crop(plan),
                      dict(type='RandomFlip', prob=0.5, direction='horizontal'),
                      dict(type='PackSegInputs')]
    warmup = plan.warmup_iters
    wrapper = 'BF16AutocastOptimWrapper' if plan.precision == 'bf16' else 'OptimWrapper'
    return dict(
        custom_imports=dict(imports=['psp_plugin', 'psp_plugin.fit'], allow_failed_imports=False),
        default_scope='mmseg', runner_type='FailFastRunner',
        psp_meta=dict(classes=list(plan.classes), palette=plan.palette, channels=plan.channels,
                      kind=plan.kind, axis=plan.axis, normalization=norm,
                      ignore_index=plan.ignore_index, input_scale=plan.input_scale,
                      test_scale=plan.test_scale, test_scale_candidates=plan.test_scale_candidates),
        model=model_config(plan),
        train_dataloader=_loader(plan, 'train', train_pipeline, True),
        val_dataloader=_loader(plan, 'val', test_pipeline(norm, plan.input_scale), False),
        test_dataloader=_loader(plan, 'test', test_pipeline(norm, plan.test_scale), False),
        val_evaluator=dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice']),
        test_evaluator=dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice']),
        optim_wrapper=dict(type=wrapper, optimizer=dict(type='AdamW', lr=plan.lr, weight_decay=0.01),
                           clip_grad=None),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.01, begin=0, end=warmup, by_epoch=False),
            dict(type='PolyLR', eta_min=plan.lr / 200, power=0.9, begin=warmup, end=plan.max_iters,
                 by_epoch=False)],
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=plan.max_iters,
                       val_interval=plan.val_interval),
        val_cfg=dict(type='ValLoop'), test_cfg=dict(type='TestLoop'),
        default_hooks=dict(
            timer=dict(type='IterTimerHook'),
            logger=dict(type='LoggerHook', interval=plan.log_interval, log_metric_by_epoch=False),
            param_scheduler=dict(type='ParamSchedulerHook'),
            checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=plan.checkpoint_interval,
                            max_keep_ckpts=2, save_last=True),
            sampler_seed=dict(type='DistSamplerSeedHook'),
            visualization=dict(type='SegVisualizationHook')),
        custom_hooks=[dict(type='TimeBudgetHook', train_seconds=plan.train_seconds,
                           log_interval=plan.log_interval)] + (
            [dict(type='TorchThreadsHook', threads=plan.threads)] if plan.device == 'cpu' else []),
        env_cfg=dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
                     dist_cfg=dict(backend='nccl' if plan.device.startswith('cuda') else 'gloo')),
        vis_backends=[dict(type='LocalVisBackend')],
        # no fixed name: the Runner names the visualizer after the run, so an instance left by an
        # earlier run in the same process (with its own save_dir) is never reused
        visualizer=dict(type='SegLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')]),
        log_processor=dict(by_epoch=False), log_level='INFO', load_from=None, resume=False,
        randomness=dict(seed=plan.seed))


def write_config(plan: 'Plan', path: str | Path) -> Path:
    """Write the planned config to ``path`` (a ``.py`` file), reasons first as comments."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = ['# PSPNet config planned by `psp-plugin fit` (psp_plugin.fit.plan). An ordinary MMSeg config:',
              '#   mim train mmsegmentation THIS_FILE --gpus 0   /   mim test ... --checkpoint CKPT',
              '# Why each setting:']
    header += [f'#   {name} = {value}: {reason}' for name, value, reason in plan.reasons]
    text = Config(build_config(plan)).pretty_text
    path.write_text('\n'.join(header) + '\n' + text)
    Config.fromfile(str(path))  # refuse to leave a file behind that MMEngine cannot read
    return path
