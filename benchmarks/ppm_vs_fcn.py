"""Does PSPNet's pyramid pooling head beat a plain FCN head? Train both, compare.

PSPNet's central claim (Zhao et al., CVPR 2017, https://arxiv.org/abs/1612.01105)
is that global context from the pyramid pooling module beats a dilated FCN head.
This benchmark trains ``PPMHead`` and a plain FCN head (``AuxFCNHead`` with two
3x3 convs, parameter count matched) on the same ``DilatedResNet`` R18-D8, with the
same data, schedule, seed and initial backbone weights, then reports per-class
IoU and mIoU of both on the validation split. Each pair of configs lives under
``benchmarks/configs/``; they differ only in ``model.decode_head``.

Datasets:
    context-scenes: generated 128x128 scenes where a disc is a ``ball`` under a
        sky band and a ``lamp`` under a ceiling band, drawn identically and at
        least 64 px from the band (see ``psp_plugin.testing.context_scenes``).
    mni152: the brain-MRI tissue slices of the main job
        (``psp_plugin.fit.mni152_source``, imported with
        ``psp_plugin.data.import_dataset``), where context matters less.
        Scored on the source's val split.

Usage:
    .venv/bin/python benchmarks/ppm_vs_fcn.py --dataset context-scenes \\
        --iters 250 --out work_dirs/ppm_vs_fcn
"""
import argparse
import json
import os.path as osp
import sys
import time
from pathlib import Path

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmseg.registry import MODELS

from psp_plugin.data import import_dataset
from psp_plugin.fit.mni152_source import write_mni152_source
from psp_plugin.testing.context_scenes import generate_context_scenes

CONFIG_DIR = Path(__file__).resolve().parent / 'configs'
HEADS = ('ppm', 'fcn')
BENCHMARKS = {
    'context-scenes': dict(
        configs=dict(ppm='ppm-head_r18-d8_context-scenes-128x128.py',
                     fcn='fcn-head_r18-d8_context-scenes-128x128.py'),
        # label pairs that only context can tell apart: (ball, lamp)
        context_pairs=((3, 4),)),
    'mni152': dict(
        configs=dict(ppm='ppm-head_r18-d8_mni152-128x128.py',
                     fcn='fcn-head_r18-d8_mni152-128x128.py'),
        context_pairs=()),
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--dataset', choices=sorted(BENCHMARKS), required=True)
    parser.add_argument('--iters', type=int, default=250,
                        help='training iterations of each head (default 250)')
    parser.add_argument('--out', required=True,
                        help='folder for data, logs and results.{json,md}')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args(argv)


def prepare_data(dataset: str, out_dir: Path) -> tuple[str, dict]:
    """(Re)write the dataset under ``out_dir/data``; the writers and the import are deterministic.

    Returns:
        tuple[str, dict]: The data root and what the configs must be told of it: for the
        prepared MNI152 slices, the import's ``normalization`` and the image ``channels``.
    """
    data_root = out_dir / 'data' / dataset
    if dataset == 'context-scenes':
        generate_context_scenes(str(data_root), num_train=400, num_val=100)
        return str(data_root), {}
    source = write_mni152_source(out_dir / 'data' / 'mni152_source')
    prepared = import_dataset(out_dir / 'data' / 'mni152_source', data_root)
    if prepared.classes != source['classes']:
        raise RuntimeError(f'{data_root}: the import read classes {prepared.classes}, '
                           f'the source wrote {source["classes"]}; delete {out_dir / "data"} and rerun.')
    return str(prepared.root), dict(normalization=prepared.normalization, channels=prepared.channels)


def save_backbone_init(backbone_cfg: dict, path: Path, seed: int) -> Path:
    """Initialise one backbone with ``seed`` and save its weights for both heads."""
    torch.manual_seed(seed)
    backbone = MODELS.build(backbone_cfg)
    backbone.init_weights()
    torch.save(backbone.state_dict(), path)
    return path


def build_run_config(config_file: Path, *, data_root: str, iters: int,
                     seed: int, backbone_init: Path, work_dir: Path,
                     data_settings: dict) -> Config:
    """Load one head's config and set what the two runs must share.

    ``data_settings`` (from :func:`prepare_data`) sets the normalization of
    every ``LoadNormalizedImage`` step and the backbone's input channels.
    """
    cfg = Config.fromfile(str(config_file))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_root
        for step in cfg[loader].dataset.pipeline:
            if step.type == 'LoadNormalizedImage':
                step.normalization = data_settings['normalization']
    if 'channels' in data_settings:
        cfg.model.backbone.in_channels = data_settings['channels']
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters
    for scheduler in cfg.param_scheduler:
        scheduler.end = iters
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger.interval = max(1, min(50, iters // 6))
    cfg.model.backbone.init_cfg = dict(type='Pretrained',
                                       checkpoint=str(backbone_init))
    cfg.randomness = dict(seed=seed)
    cfg.work_dir = str(work_dir)
    return cfg


def confusion_matrix(model: torch.nn.Module, dataloader,
                     num_classes: int) -> np.ndarray:
    """Return the (K, K) pixel counts of (ground truth, prediction) pairs."""
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    model.eval()
    with torch.no_grad():
        for batch in dataloader:
            for sample in model.test_step(batch):
                truth = sample.gt_sem_seg.data.flatten().numpy()
                pred = sample.pred_sem_seg.data.flatten().numpy()
                valid = truth < num_classes
                counts += np.bincount(
                    num_classes * truth[valid] + pred[valid],
                    minlength=num_classes**2).reshape(num_classes, num_classes)
    return counts


def scores(counts: np.ndarray, class_names, context_pairs) -> dict:
    """Per-class IoU and mIoU (in %), and how often each context pair mixes up.

    For a pair (a, b) that only context tells apart, the mix-up rate is the
    share of its pixels predicted as a or b that got the wrong one of the two:
    0 is perfect, 50 is a coin toss.
    """
    hits = np.diag(counts).astype(np.float64)
    union = counts.sum(0) + counts.sum(1) - hits
    iou = 100 * hits / np.maximum(union, 1)
    result = dict(per_class_iou=dict(zip(class_names, iou.round(2).tolist())),
                  mIoU=round(float(iou.mean()), 2))
    for first, second in context_pairs:
        within_pair = counts[np.ix_([first, second], [first, second])]
        mixed_up = within_pair.sum() - np.trace(within_pair)
        result[f'{class_names[first]}/{class_names[second]} mix-up %'] = \
            round(float(100 * mixed_up / max(within_pair.sum(), 1)), 2)
    result['confusion_matrix'] = counts.tolist()
    return result


def train_and_score(cfg: Config, backbone_init: Path, context_pairs) -> dict:
    """Train one head, check its starting backbone, and score it on val."""
    runner = Runner.from_cfg(cfg)
    runner.model.init_weights()  # now, to check it; train() then skips it
    start = torch.load(backbone_init, weights_only=True)
    trained_from_shared_init = all(
        torch.equal(value, start[name])
        for name, value in runner.model.backbone.state_dict().items())
    if not trained_from_shared_init:
        raise RuntimeError(f'{cfg.filename}: the backbone did not start from '
                           f'{backbone_init}; the comparison would be unfair.')
    began = time.perf_counter()
    model = runner.train()
    train_seconds = time.perf_counter() - began
    class_names = runner.val_dataloader.dataset.metainfo['classes']
    counts = confusion_matrix(model, runner.val_dataloader, len(class_names))
    result = scores(counts, class_names, context_pairs)
    result.update(
        decode_head=model.decode_head.__class__.__name__,
        decode_head_params=sum(p.numel() for p in model.decode_head.parameters()),
        model_params=sum(p.numel() for p in model.parameters()),
        train_seconds=round(train_seconds, 1),
        config=osp.relpath(cfg.filename, CONFIG_DIR.parent.parent))
    return result


def markdown_table(results: dict) -> str:
    """One row per head: per-class IoU, mIoU, swap rates and sizes."""
    first = next(iter(results.values()))
    classes = list(first['per_class_iou'])
    extras = [key for key in first if key.endswith('mix-up %')]
    header = (['head'] + [f'IoU {name}' for name in classes] + ['mIoU'] + extras
              + ['head params', 'train s'])
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for head, res in results.items():
        row = ([f"{head} ({res['decode_head']})"]
               + [f'{res["per_class_iou"][c]:.2f}' for c in classes]
               + [f"{res['mIoU']:.2f}"] + [f'{res[k]:.2f}' for k in extras]
               + [f"{res['decode_head_params'] / 1e6:.3f}M",
                  f"{res['train_seconds']:.0f}"])
        lines.append('| ' + ' | '.join(row) + ' |')
    return '\n'.join(lines)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.iters < 1:
        raise SystemExit(f'--iters={args.iters} must be at least 1.')
    init_default_scope('mmseg')
    benchmark = BENCHMARKS[args.dataset]
    out_dir = Path(args.out).resolve() / args.dataset
    out_dir.mkdir(parents=True, exist_ok=True)
    data_root, data_settings = prepare_data(args.dataset, out_dir)
    configs = {head: CONFIG_DIR / name
               for head, name in benchmark['configs'].items()}
    backbone_cfg = Config.fromfile(str(configs['ppm'])).model.backbone
    if 'channels' in data_settings:
        backbone_cfg.in_channels = data_settings['channels']
    backbone_init = save_backbone_init(
        backbone_cfg, out_dir / 'shared_backbone_init.pth', args.seed)

    results = {}
    for head in HEADS:
        cfg = build_run_config(configs[head], data_root=data_root,
                               iters=args.iters, seed=args.seed,
                               backbone_init=backbone_init,
                               work_dir=out_dir / head,
                               data_settings=data_settings)
        results[head] = train_and_score(cfg, backbone_init,
                                        benchmark['context_pairs'])
    summary = dict(command=' '.join([sys.executable] + sys.argv),
                   dataset=args.dataset, iters=args.iters, seed=args.seed,
                   results=results)
    (out_dir / 'results.json').write_text(json.dumps(summary, indent=2))
    table = markdown_table(results)
    (out_dir / 'results.md').write_text(table + '\n')
    print(table)
    return summary


if __name__ == '__main__':
    main()
