"""Stage 4 of ``fit``: the report of a test split on which nothing was chosen.

``work_dir/report/`` receives ``metrics.json`` (per-class IoU, Dice and accuracy, means, the
confusion matrix, timings), ``confusion.csv``/``confusion.png``, ``curves.png`` (training loss and
val mIoU), ``overlays/*.png`` and ``report.md``, which ties the numbers to the plan and its times.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Optional

import numpy as np

from .evaluate import SplitResult
from .figures import overlay_names, plot_confusion, plot_curves, save_overlays, training_curves
from .plan import Plan

__all__ = ['metrics_table', 'write_report', 'REPORT_DIR']

REPORT_DIR = 'report'


def metrics_table(metrics: dict) -> str:
    """Markdown table: one row per class (IoU, Dice, accuracy, pixels), then the means."""
    def cell(value: Optional[float]) -> str:
        return 'n/a' if value is None else f'{value:.2f}'

    lines = ['| class | IoU (%) | Dice (%) | accuracy (%) | true pixels |', '|---|---:|---:|---:|---:|']
    for name, row in metrics['per_class'].items():
        lines.append(f'| {name} | {cell(row["iou"])} | {cell(row["dice"])} | {cell(row["acc"])} | '
                     f'{row["pixels"]} |')
    lines.append(f'| **mean** | **{cell(metrics["mIoU"])}** | **{cell(metrics["mDice"])}** | '
                 f'{cell(metrics["mAcc"])} | |')
    lines.append(f'| pixel accuracy (all) | | | {cell(metrics["aAcc"])} | |')
    return '\n'.join(lines)


def _write_confusion_csv(confusion: np.ndarray, classes: list[str], path: Path) -> None:
    with path.open('w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['truth \\ prediction'] + classes)
        for name, row in zip(classes, confusion.tolist()):
            writer.writerow([name] + row)


def write_report(*, plan: Plan, test: SplitResult, pred_dir: str | Path, selection: dict,
                 timings: dict, train: Optional[dict] = None, num_overlays: int = 6) -> Path:
    """Write everything listed in the module docstring; return the path of ``report.md``.

    Args:
        plan (Plan): The plan that was trained.
        test (SplitResult): Scores of the test split at the chosen scale.
        pred_dir (str | Path): Test predictions (``<name>.png``), for the overlays.
        selection (dict): :func:`~.select.select_test_scale`'s result (val scores per scale).
        timings (dict): Seconds per stage (``import``, ``plan``, ``train``, ``select``, ``test``...).
        train (dict, optional): ``iterations`` and ``planned_iterations`` of the training run.
        num_overlays (int): Test images to draw. Default: 6.
    """
    out = Path(plan.work_dir) / REPORT_DIR
    out.mkdir(parents=True, exist_ok=True)
    classes = list(plan.classes)
    plot_confusion(test.confusion, classes, out / 'confusion.png')
    _write_confusion_csv(test.confusion, classes, out / 'confusion.csv')
    curves = training_curves(plan.work_dir)
    if curves['loss']:
        plot_curves(curves, out / 'curves.png',
                    f'PSPNet, {Path(plan.work_dir).name} (val at scale {plan.input_scale:g})')
    names = overlay_names(test.names, num_overlays)
    save_overlays(root=plan.data_root, split='test', names=names, pred_dir=pred_dir, classes=classes,
                  palette=plan.palette, normalization=plan.normalization, out_dir=out / 'overlays',
                  ignore_index=plan.ignore_index)
    summary = dict(split='test', num_images=len(test.names), test_scale=test.scale,
                   metrics=test.metrics, confusion=test.confusion.tolist(), selection=selection,
                   timings=timings, train=train or {}, plan=str(plan.config_path))
    (out / 'metrics.json').write_text(json.dumps(summary, indent=1))
    lines = [f'# PSPNet on `{plan.data_root}`', '',
             f'Test split: **{len(test.names)} images that no choice saw** (every setting below was '
             f'chosen on train or val). **mIoU {test.metrics["mIoU"]}**, mDice {test.metrics["mDice"]}, '
             f'pixel accuracy {test.metrics["aAcc"]} (%), at test scale {test.scale:g}.', '',
             metrics_table(test.metrics), '',
             '![confusion matrix (rows: truth, %)](confusion.png)', '']
    if curves['loss']:
        last = curves['mIoU'][-1] if curves['mIoU'] else None
        lines += ['## Training', '', f'{train.get("iterations", "?") if train else "?"} iterations of '
                  f'{plan.max_iters} planned, {plan.precision}; final training loss '
                  f'{curves["loss"][-1][1]:.3f}' + (f', val mIoU {last[1]:.2f} at iteration {last[0]} '
                                                   f'(scale {plan.input_scale:g})' if last else '') + '.',
                  '', '![loss and val mIoU](curves.png)', '']
    lines += ['## Test-time scale (chosen on val)', '', '| scale | val mIoU |', '|---:|---:|']
    lines += [f'| {s} | {v:.2f} |' for s, v in selection.get('val_mIoU', {}).items()]
    lines += ['', '## The plan and why', '', '| setting | value | reason |', '|---|---|---|']
    lines += [f'| {n} | {v} | {r} |' for n, v, r in plan.reasons]
    estimates = plan.estimates_s
    train_s = plan.train_seconds + estimates.get('startup', 0) + estimates.get('val_pass', 0)
    planned = dict(plan=estimates.get('plan_and_import'), select=estimates.get('select'),
                   test=estimates.get('test'), report=estimates.get('report'), train=round(train_s))
    lines += ['', '## Time (s)', '', '| stage | planned | spent |', '|---|---:|---:|']
    lines += [f'| {stage} | {planned.get(stage) or ""} | {seconds} |' for stage, seconds in timings.items()]
    lines += ['', f'Budget {plan.time_budget_s:.0f} s, training share {plan.train_seconds:.0f} s at '
              f'{plan.step_seconds:.3f} s per step measured on this machine.', '', '## Test overlays', '']
    lines += [f'![{n}](overlays/{n}.png)' for n in names]
    path = out / 'report.md'
    path.write_text('\n'.join(lines) + '\n')
    return path
