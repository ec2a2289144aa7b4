"""The report's pictures: overlays (image, truth, prediction, errors), curves, confusion matrix."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import tifffile
from PIL import Image

__all__ = ['display_image', 'overlay_names', 'plot_confusion', 'plot_curves', 'read_scalars',
           'save_overlays', 'training_curves']


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def display_image(image: np.ndarray, normalization: dict) -> np.ndarray:
    """(H, W, C) prepared image -> (H, W, 3) uint8 for display, with the dataset's fixed clip range.

    One or two channels show the first in grey; three or more show the first three as RGB.
    """
    image = image[:, :, None] if image.ndim == 2 else image
    low = np.asarray(normalization['low'], dtype=np.float32)
    high = np.asarray(normalization['high'], dtype=np.float32)
    unit = np.clip((image.astype(np.float32) - low) / np.maximum(high - low, 1e-6), 0, 1)
    rgb = unit[:, :, :3] if unit.shape[2] >= 3 else np.repeat(unit[:, :, :1], 3, axis=2)
    return (255 * rgb).round().astype(np.uint8)


def overlay_names(names: Sequence[str], count: int) -> list[str]:
    """``count`` names spread evenly over ``names`` (deterministic)."""
    if count <= 0 or not names:
        return []
    picks = np.linspace(0, len(names) - 1, min(count, len(names))).round().astype(int)
    return [names[i] for i in picks.tolist()]


def _blend(rgb: np.ndarray, label: np.ndarray, palette: np.ndarray, ignore_index: int) -> np.ndarray:
    colours = palette[np.where(label == ignore_index, 0, label)].astype(np.float32)
    mixed = 0.45 * rgb.astype(np.float32) + 0.55 * colours
    return np.where((label == ignore_index)[..., None], rgb, mixed).astype(np.uint8)


def save_overlays(*, root: str | Path, split: str, names: Sequence[str], pred_dir: str | Path,
                  classes: Sequence[str], palette: Sequence[Sequence[int]], normalization: dict,
                  out_dir: str | Path, ignore_index: int = 255) -> list[Path]:
    """One PNG per image: image | truth | prediction | errors (red; ignored pixels grey).

    Returns:
        list[Path]: The written PNGs.
    """
    plt = _pyplot()
    from matplotlib.patches import Patch

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    colours = np.asarray(palette, dtype=np.uint8)
    handles = [Patch(color=c / 255, label=n) for n, c in zip(classes, colours)]
    handles.append(Patch(color='red', label='wrong'))
    paths = []
    for name in names:
        rgb = display_image(np.asarray(tifffile.imread(Path(root) / 'images' / split / f'{name}.tif')),
                            normalization)
        truth = np.asarray(Image.open(Path(root) / 'masks' / split / f'{name}.png'))
        prediction = np.asarray(Image.open(Path(pred_dir) / f'{name}.png'))
        wrong = (prediction != truth) & (truth != ignore_index)
        errors = rgb // 2
        errors[wrong] = (255, 0, 0)
        panels = [('image', rgb), ('truth', _blend(rgb, truth, colours, ignore_index)),
                  ('prediction', _blend(rgb, prediction, colours, ignore_index)),
                  (f'errors ({100 * wrong.mean():.1f}% px)', errors)]
        fig, axes = plt.subplots(1, 4, figsize=(12, 3.4))
        for ax, (title, panel) in zip(axes, panels):
            ax.imshow(panel)
            ax.set_title(title)
            ax.axis('off')
        fig.suptitle(name)
        fig.legend(handles=handles, loc='lower center', ncol=min(len(handles), 8))
        path = out_dir / f'{name}.png'
        fig.savefig(path, dpi=80, bbox_inches='tight')
        plt.close(fig)
        paths.append(path)
    return paths


def read_scalars(scalars_json: str | Path) -> dict[str, list[tuple]]:
    """MMEngine's ``vis_data/scalars.json`` (a JSON object per line) -> ``loss`` and ``mIoU`` curves."""
    curves: dict[str, list[tuple]] = dict(loss=[], mIoU=[])
    for line in Path(scalars_json).read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            for key in curves:
                if key in record:
                    curves[key].append((record['step'], record[key]))
    return curves


def training_curves(work_dir: str | Path) -> dict[str, list[tuple]]:
    """Loss and val mIoU of every run in ``work_dir`` (``*/vis_data/scalars.json``), joined by step.

    A resumed run continues the curves of the run it resumed; where two runs logged the same
    step, the later run wins.
    """
    merged: dict[str, dict] = dict(loss={}, mIoU={})
    for path in sorted(Path(work_dir).glob('*/vis_data/scalars.json')):
        for key, points in read_scalars(path).items():
            merged[key].update(points)
    return {key: sorted(points.items()) for key, points in merged.items()}


def plot_curves(curves: dict[str, list[tuple]], out_png: str | Path, title: str) -> None:
    """Training loss and validation mIoU (from :func:`training_curves`) against iterations."""
    if not curves['loss']:
        raise ValueError(f'No training loss was logged, so {out_png} cannot be drawn. Fix: train with the '
                         'LoggerHook (default_hooks.logger) at an interval <= max_iters.')
    plt = _pyplot()
    fig, loss_ax = plt.subplots(figsize=(7, 4))
    loss_ax.plot(*zip(*curves['loss']), color='tab:blue')
    loss_ax.set_xlabel('iteration')
    loss_ax.set_ylabel('training loss', color='tab:blue')
    if curves['mIoU']:
        miou_ax = loss_ax.twinx()
        miou_ax.plot(*zip(*curves['mIoU']), 'o-', color='tab:orange')
        miou_ax.set_ylabel('val mIoU (%)', color='tab:orange')
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out_png, dpi=90)
    plt.close(fig)


def plot_confusion(confusion: np.ndarray, classes: Sequence[str], out_png: str | Path) -> None:
    """Row-normalised (K, K) confusion matrix (rows truth, columns prediction) with % labels."""
    plt = _pyplot()
    rows = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    size = 2.5 + 0.6 * len(classes)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(rows, cmap='Blues', vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha='right')
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel('prediction')
    ax.set_ylabel('truth')
    for (i, j), value in np.ndenumerate(rows):
        ax.text(j, i, f'{100 * value:.1f}', ha='center', va='center',
                color='white' if value > 0.5 else 'black', fontsize=8)
    fig.tight_layout()
    fig.savefig(out_png, dpi=90)
    plt.close(fig)
