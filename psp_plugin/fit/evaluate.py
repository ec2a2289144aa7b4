"""Run a trained checkpoint over one split at one test scale; confusion matrix and predictions.

The images go through the config's own pipeline (``LoadNormalizedImage`` then ``Resize`` by the
scale) and MMSeg's ``EncoderDecoder.test_step``, which resizes the logits back to each image's
original grid, so the scores are those ``mim test`` computes for the same config.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS
from PIL import Image

from .config_builder import test_pipeline
from .metrics import accumulate_confusion, metrics_from_confusion

__all__ = ['SplitResult', 'evaluate_split', 'load_model']


@dataclass
class SplitResult:
    """Scores of one split at one scale.

    Attributes:
        split: ``'val'`` or ``'test'``.
        scale: The test-time input scale.
        confusion: (K, K) counts, rows truth, columns prediction.
        metrics: :func:`~.metrics.metrics_from_confusion` of it.
        names: Image names, in order.
        seconds: Wall time of the pass.
    """

    split: str
    scale: float
    confusion: np.ndarray
    metrics: dict
    names: list[str]
    seconds: float


def load_model(config: str | Path, checkpoint: str, device: str = 'cpu') -> tuple[torch.nn.Module, Config]:
    """Build the config's model with the checkpoint's weights, in eval mode."""
    from mmseg.apis import init_model

    import psp_plugin.fit  # noqa: F401  (the config's custom_imports)

    cfg = Config.fromfile(str(config))
    model = init_model(cfg, checkpoint, device=device)
    return model, cfg


@torch.no_grad()
def evaluate_split(model: torch.nn.Module, cfg: Config, split: str, scale: float, *,
                   pred_dir: Optional[str | Path] = None, limit: Optional[int] = None) -> SplitResult:
    """Score ``split`` at ``scale``; optionally write each prediction as ``pred_dir/<name>.png``.

    Args:
        model (torch.nn.Module): From :func:`load_model`.
        cfg (Config): Its config (dataset root, normalisation, classes).
        split (str): ``'val'`` or ``'test'``.
        scale (float): Input scale of the whole-image inference.
        pred_dir (str | Path, optional): Where to write (H, W) uint8 prediction PNGs.
        limit (int, optional): Score only the first ``limit`` images.

    Returns:
        SplitResult: Confusion matrix, metrics, names and time.
    """
    import time

    started = time.perf_counter()
    init_default_scope('mmseg')
    meta = cfg.psp_meta
    dataset_cfg = copy.deepcopy(cfg.test_dataloader['dataset'])
    dataset_cfg.update(split=split, pipeline=test_pipeline(meta['normalization'], scale), test_mode=True)
    dataset = DATASETS.build(dataset_cfg)
    k = len(meta['classes'])
    confusion = np.zeros((k, k), dtype=np.int64)
    names = []
    if pred_dir is not None:
        Path(pred_dir).mkdir(parents=True, exist_ok=True)
    for index in range(len(dataset) if limit is None else min(limit, len(dataset))):
        sample = model.test_step(pseudo_collate([dataset[index]]))[0]
        prediction = sample.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)
        truth = sample.gt_sem_seg.data[0].cpu().numpy()
        accumulate_confusion(confusion, truth, prediction, meta['ignore_index'])
        name = Path(sample.img_path).stem
        names.append(name)
        if pred_dir is not None:
            Image.fromarray(prediction).save(Path(pred_dir) / f'{name}.png')
    return SplitResult(split=split, scale=scale, confusion=confusion,
                       metrics=metrics_from_confusion(confusion, list(meta['classes'])), names=names,
                       seconds=round(time.perf_counter() - started, 1))
