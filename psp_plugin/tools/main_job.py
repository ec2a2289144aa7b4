"""The main job: PSPNet on real brain-MRI slices, trained and tested on CPU.

``python -m psp_plugin.tools.main_job`` (what ``bash scripts/main_job.sh``
runs) does, in order:

1. prepare ``data/mni152`` from the MNI152 template inside nilearn, unless a
   complete copy is there already;
2. ``mim train mmsegmentation <config> --gpus 0`` into the work dir;
3. ``mim test`` with the final checkpoint, saving the predictions;
4. write into the work dir ``iou.md``/``iou.csv``/``iou.json`` (per-class
   IoU), ``overlays/*.png`` (image, ground truth, prediction, errors) and
   ``curves.png`` (training loss and validation mIoU over iterations), plus
   ``main_job_summary.json`` with the numbers and the time of every stage.
"""
import argparse
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import time
from typing import List, Optional

from mmengine.config import Config

from psp_plugin.datasets.mni152 import MNI152TissueDataset, check_mni152_root
from psp_plugin.datasets.mni152_prepare import prepare_mni152
from psp_plugin.tools import main_job_report as report

CONFIG_NAME = 'pspnet_r18-d8_1xb8-600_mni152-2x-256x256.py'
DEFAULT_WORK_DIR = osp.join('work_dirs', 'main_job')
JOB_CONFIG_NAME = 'main_job_config.py'  # the config as run, written into the work dir
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STAGES = ('prepare data', 'train', 'test', 'report')


def _banner(index: int, message: str, started: float) -> None:
    elapsed = time.time() - started
    print(f'\n=== [main job {index}/{len(STAGES)}] {STAGES[index - 1]}: '
          f'{message} (elapsed {elapsed / 60:.1f} min) ===', flush=True)


def _mim_command() -> List[str]:
    """The ``mim`` next to this Python (the venv's), else the one on PATH."""
    beside = osp.join(osp.dirname(sys.executable), 'mim')
    if osp.isfile(beside):
        return [beside]
    found = shutil.which('mim')
    if found is None:
        raise FileNotFoundError(
            'The `mim` command (package openmim) was not found next to '
            f'{sys.executable} nor on PATH; install it with `pip install '
            'openmim` (scripts/bootstrap.sh does).')
    return [found]


def _run(command: List[str]) -> None:
    print('$ ' + ' '.join(command), flush=True)
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    completed = subprocess.run(command, env=env)
    if completed.returncode != 0:
        raise RuntimeError(f'`{" ".join(command)}` failed with exit code '
                           f'{completed.returncode}; see its log above.')


def ensure_data(data_root: str) -> dict:
    """Prepare ``data_root`` unless a complete dataset is there; summary."""
    try:
        return check_mni152_root(data_root)
    except (FileNotFoundError, ValueError) as reason:
        print(f'Preparing {data_root}: {reason}', flush=True)
    return prepare_mni152(data_root)


def job_config(*, config: str, data_root: str, work_dir: str,
               iters: Optional[int]) -> str:
    """Write the config the job runs (data root, iterations) to the work dir.

    Returns:
        str: path of ``work_dir/main_job_config.py``.
    """
    if not osp.isfile(config):
        raise FileNotFoundError(
            f'Config {config} not found; pass --config PATH (the configs live '
            f'in the repository, e.g. configs/{CONFIG_NAME}).')
    cfg = Config.fromfile(config)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader]['dataset']['data_root'] = data_root
    if iters is not None:
        if iters < 1:
            raise ValueError(f'--iters {iters}: need at least 1 iteration.')
        old = cfg.train_cfg['max_iters']
        cfg.train_cfg['max_iters'] = iters
        cfg.train_cfg['val_interval'] = min(cfg.train_cfg['val_interval'],
                                            iters)
        for scheduler in cfg.param_scheduler:
            end = scheduler['end']
            scheduler['end'] = iters if end >= old else min(end, iters)
            scheduler['begin'] = min(scheduler.get('begin', 0), iters - 1)
        checkpoint = cfg.default_hooks['checkpoint']
        checkpoint['interval'] = min(checkpoint['interval'], iters)
        logger = cfg.default_hooks['logger']
        logger['interval'] = min(logger['interval'], iters)
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, JOB_CONFIG_NAME)
    cfg.dump(path)
    return path


def last_checkpoint(work_dir: str) -> str:
    """The checkpoint that ``work_dir/last_checkpoint`` names; FileNotFoundError with the fix."""
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        raise FileNotFoundError(
            f'No {pointer}: nothing was trained into {work_dir}. Run without '
            '--skip-train first.')
    with open(pointer) as f:
        checkpoint = f.read().strip()
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'{pointer} names {checkpoint}, which does '
                                'not exist; train again without --skip-train.')
    return checkpoint


def write_reports(*, data_root: str, work_dir: str, val_files: List[str],
                  num_overlays: int) -> dict:
    """IoU tables, overlays and the curves plot from a finished test run."""
    meta = MNI152TissueDataset.METAINFO
    pred_dir = osp.join(work_dir, 'test', 'pred')
    ann_dir = osp.join(data_root, 'ann_dir', 'val')
    names = report.tested_slices(pred_dir, val_files)
    result = report.per_class_iou(pred_dir=pred_dir, ann_dir=ann_dir,
                                  names=names, class_names=meta['classes'])
    report.write_iou_tables(result, work_dir)
    report.save_overlays(
        img_dir=osp.join(data_root, 'img_dir', 'val'), ann_dir=ann_dir,
        pred_dir=pred_dir, names=report.overlay_names(names, num_overlays),
        class_names=meta['classes'], palette=meta['palette'],
        out_dir=osp.join(work_dir, 'overlays'))
    report.plot_curves(osp.join(work_dir, 'vis_data', 'scalars.json'),
                       osp.join(work_dir, 'curves.png'))
    return result


def _latest_scalars(work_dir: str) -> None:
    """Copy the newest run's ``vis_data/scalars.json`` to the work dir."""
    runs = sorted(d for d in os.listdir(work_dir)
                  if osp.isfile(osp.join(work_dir, d, 'vis_data',
                                         'scalars.json')))
    if not runs:
        raise FileNotFoundError(f'No */vis_data/scalars.json in {work_dir}; '
                                'the training run logged nothing.')
    os.makedirs(osp.join(work_dir, 'vis_data'), exist_ok=True)
    shutil.copy(osp.join(work_dir, runs[-1], 'vis_data', 'scalars.json'),
                osp.join(work_dir, 'vis_data', 'scalars.json'))


def mmseg_test_metrics(test_dir: str) -> dict:
    """The metrics ``mim test`` logged (``<timestamp>/<timestamp>.json``)."""
    runs = sorted(d for d in os.listdir(test_dir)
                  if osp.isfile(osp.join(test_dir, d, f'{d}.json')))
    if not runs:
        raise FileNotFoundError(f'mim test wrote no metrics under {test_dir}.')
    with open(osp.join(test_dir, runs[-1], f'{runs[-1]}.json')) as f:
        lines = [line for line in f if line.strip()]
    return json.loads(lines[-1])


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Prepare MNI152 slices, train and test PSPNet on them.')
    parser.add_argument('--config',
                        default=osp.join(REPO_ROOT, 'configs', CONFIG_NAME))
    parser.add_argument('--data-root', default=osp.join('data', 'mni152'))
    parser.add_argument('--work-dir', default=DEFAULT_WORK_DIR)
    parser.add_argument('--iters', type=int, default=None,
                        help='override the recipe\'s number of iterations')
    parser.add_argument('--skip-train', action='store_true',
                        help='test the checkpoint already in --work-dir')
    parser.add_argument('--prepare-only', action='store_true')
    parser.add_argument('--num-overlays', type=int, default=6)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Run the job; return the summary also written to the work dir."""
    args = parse_args(argv)
    started = time.time()
    times = {}
    _banner(1, args.data_root, started)
    data = ensure_data(args.data_root)
    times['prepare_s'] = round(time.time() - started, 1)
    if args.prepare_only:
        return data
    cfg_path = job_config(config=args.config, data_root=args.data_root,
                          work_dir=args.work_dir, iters=args.iters)
    mim = _mim_command()
    if not args.skip_train:
        _banner(2, f'mim train ({args.config}); MMEngine prints an ETA',
                started)
        stage = time.time()
        _run(mim + ['train', 'mmsegmentation', cfg_path, '--gpus', '0',
                    '--work-dir', args.work_dir])
        times['train_s'] = round(time.time() - stage, 1)
        _latest_scalars(args.work_dir)
    checkpoint = last_checkpoint(args.work_dir)
    _banner(3, f'mim test {checkpoint}', started)
    stage = time.time()
    test_dir = osp.join(args.work_dir, 'test')
    shutil.rmtree(osp.join(test_dir, 'pred'), ignore_errors=True)
    _run(mim + ['test', 'mmsegmentation', cfg_path, '--checkpoint',
                checkpoint, '--gpus', '0', '--work-dir', test_dir, '--out',
                osp.join(test_dir, 'pred')])
    times['test_s'] = round(time.time() - stage, 1)
    _banner(4, f'tables, overlays and curves in {args.work_dir}', started)
    result = write_reports(data_root=args.data_root, work_dir=args.work_dir,
                           val_files=data['files']['val'],
                           num_overlays=args.num_overlays)
    logged = mmseg_test_metrics(test_dir)
    if abs(logged['mIoU'] - result['mIoU']) > 0.05:
        raise RuntimeError(
            f'mim test logged mIoU {logged["mIoU"]:.2f} but the saved '
            f'predictions give {result["mIoU"]:.2f}; the predictions in '
            f'{test_dir}/pred do not belong to this test run.')
    times['total_s'] = round(time.time() - started, 1)
    summary = dict(config=args.config, checkpoint=checkpoint, times=times,
                   mmseg_test_metrics=logged, **result)
    with open(osp.join(args.work_dir, 'main_job_summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    print(open(osp.join(args.work_dir, 'iou.md')).read())
    print(f'Done in {times["total_s"] / 60:.1f} min; results in '
          f'{args.work_dir} (iou.md, overlays/, curves.png).')
    return summary


if __name__ == '__main__':
    main()
