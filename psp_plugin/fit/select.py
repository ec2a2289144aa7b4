"""Choose the test-time input scale on the validation split only.

Each candidate scale of the plan is scored on val with the trained checkpoint; the best mIoU wins
(the smaller scale on a tie). The choice is written into the config's ``test_dataloader`` and
``psp_meta.test_scale``, so ``mim test`` and ``predict`` use it; the test split is not touched.
"""
from __future__ import annotations

from pathlib import Path

import torch
from mmengine.config import Config

from .evaluate import evaluate_split, load_model
from .plan import load_plan, save_plan

__all__ = ['select_test_scale']


def select_test_scale(work_dir: str | Path, checkpoint: str, *, device: str = 'cpu',
                      model: torch.nn.Module | None = None, known: dict | None = None) -> dict:
    """Score every candidate scale on val, keep the best in the work dir's config and plan.

    Args:
        work_dir (str | Path): A planned and trained work dir (``plan.json``, ``config.py``).
        checkpoint (str): The trained checkpoint.
        device (str): ``'cpu'`` or ``'cuda'``. Default: ``'cpu'``.
        model (torch.nn.Module, optional): The loaded model, to skip loading it again.
        known (dict, optional): {scale: val mIoU} already measured with this checkpoint (the
            training run's final validation at the training scale); those are not scored again.

    Returns:
        dict: ``scale`` (chosen), ``val_mIoU`` {scale: mIoU}, ``seconds`` {scale: s}.
    """
    plan = load_plan(work_dir)
    if model is None:
        model, cfg = load_model(plan.config_path, checkpoint, device)
    else:
        cfg = Config.fromfile(str(plan.config_path))
    scores, seconds = {}, {}
    for scale in plan.test_scale_candidates:
        if known and scale in known:
            scores[scale], seconds[scale] = float(known[scale]), 0.0
            print(f'select: val mIoU {scores[scale]:.2f} at test scale {scale:g} (the final validation '
                  'of the training run)', flush=True)
            continue
        result = evaluate_split(model, cfg, 'val', scale)
        scores[scale], seconds[scale] = result.metrics['mIoU'] or 0.0, result.seconds
        print(f'select: val mIoU {scores[scale]:.2f} at test scale {scale:g} ({result.seconds:.0f} s)',
              flush=True)
    best = max(scores, key=lambda s: (scores[s], -s))
    plan.test_scale = best
    plan.reasons = [row for row in plan.reasons if row[0] != 'test_scale']
    plan.reasons.append(('test_scale', best, 'best val mIoU of ' + ', '.join(
        f'{s:g}: {v:.2f}' for s, v in scores.items()) + ' (chosen on val; test untouched)'))
    save_plan(plan)
    return dict(scale=best, val_mIoU={str(s): v for s, v in scores.items()},
                seconds={str(s): v for s, v in seconds.items()})
