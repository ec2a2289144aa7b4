"""Segmentation metrics from a confusion matrix: IoU, Dice and accuracy per class, and their means."""
from __future__ import annotations

import numpy as np

__all__ = ['accumulate_confusion', 'metrics_from_confusion']


def accumulate_confusion(confusion: np.ndarray, truth: np.ndarray, prediction: np.ndarray,
                         ignore_index: int = 255) -> None:
    """Add one image to a (K, K) confusion matrix in place (rows: truth, columns: prediction).

    Args:
        confusion (np.ndarray): (K, K) int64 counts, updated in place.
        truth (np.ndarray): (H, W) true classes; ``ignore_index`` pixels are skipped.
        prediction (np.ndarray): (H, W) predicted classes 0..K-1.
        ignore_index (int): Skipped truth value. Default: 255.
    """
    if truth.shape != prediction.shape:
        raise ValueError(f'truth {truth.shape} and prediction {prediction.shape} differ in size')
    k = confusion.shape[0]
    valid = truth != ignore_index
    pairs = truth[valid].astype(np.int64) * k + prediction[valid].astype(np.int64)
    confusion += np.bincount(pairs, minlength=k * k).reshape(k, k)


def metrics_from_confusion(confusion: np.ndarray, class_names: list[str]) -> dict:
    """Per-class IoU, Dice and accuracy (recall) in %, their means, and overall pixel accuracy.

    A class with no true and no predicted pixel gets NaN and is left out of the means, as MMSeg's
    ``IoUMetric`` does.

    Args:
        confusion (np.ndarray): (K, K) counts, rows truth, columns prediction.
        class_names (list[str]): K names.

    Returns:
        dict: ``per_class`` {name: {iou, dice, acc, pixels}}, ``mIoU``, ``mDice``, ``mAcc``, ``aAcc``.
    """
    confusion = confusion.astype(np.float64)
    tp = np.diag(confusion)
    truth = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    with np.errstate(invalid='ignore', divide='ignore'):
        iou = 100 * tp / (truth + predicted - tp)
        dice = 100 * 2 * tp / (truth + predicted)
        acc = 100 * tp / truth
    per_class = {name: dict(iou=_round(i), dice=_round(d), acc=_round(a), pixels=int(n))
                 for name, i, d, a, n in zip(class_names, iou, dice, acc, truth)}
    return dict(per_class=per_class, mIoU=_round(np.nanmean(iou)), mDice=_round(np.nanmean(dice)),
                mAcc=_round(np.nanmean(acc)), aAcc=_round(100 * tp.sum() / max(confusion.sum(), 1)))


def _round(value: float) -> float | None:
    return None if np.isnan(value) else round(float(value), 2)
