"""Reports of the main job: per-class IoU tables, overlay PNGs, curves PNG.

All three work from files that ``mim train`` / ``mim test`` leave behind:
the prediction PNGs of ``mim test --out``, the dataset's label PNGs and
MMEngine's ``vis_data/scalars.json``.
"""
import csv
import json
import os
import os.path as osp
from typing import Dict, List, Sequence

import numpy as np
from PIL import Image


def _read_png(path: str) -> np.ndarray:
    return np.asarray(Image.open(path))


def per_class_iou(*, pred_dir: str, ann_dir: str, names: Sequence[str],
                  class_names: Sequence[str]) -> Dict[str, object]:
    """IoU per class over all slices, from prediction and label PNGs.

    Args:
        pred_dir (str): folder with ``<name>.png`` predicted label maps.
        ann_dir (str): folder with ``<name>.png`` ground-truth label maps.
        names (Sequence[str]): slice names to evaluate.
        class_names (Sequence[str]): class names, index = label value.

    Returns:
        dict: ``iou`` (class -> IoU in %), ``mIoU`` and ``aAcc`` (in %),
        ``num_slices`` and ``pixels`` (class -> ground-truth pixel count).
    """
    num_classes = len(class_names)
    intersect = np.zeros(num_classes, dtype=np.int64)
    union = np.zeros(num_classes, dtype=np.int64)
    gt_area = np.zeros(num_classes, dtype=np.int64)
    for name in names:
        pred_path = osp.join(pred_dir, name + '.png')
        if not osp.isfile(pred_path):
            raise FileNotFoundError(
                f'No prediction {pred_path}; run `mim test ... --out '
                f'{pred_dir}` first (the main job does).')
        pred = _read_png(pred_path).astype(np.int64)
        gt = _read_png(osp.join(ann_dir, name + '.png')).astype(np.int64)
        if pred.shape != gt.shape:
            raise ValueError(f'{name}: prediction {pred.shape} and label '
                             f'{gt.shape} differ in size.')
        pred_area = np.bincount(pred.ravel(), minlength=num_classes)
        gt_counts = np.bincount(gt.ravel(), minlength=num_classes)
        both = np.bincount(gt[gt == pred].ravel(), minlength=num_classes)
        intersect += both[:num_classes]
        union += (pred_area + gt_counts - both)[:num_classes]
        gt_area += gt_counts[:num_classes]
    iou = 100.0 * intersect / np.maximum(union, 1)
    return dict(
        iou={c: round(float(v), 2) for c, v in zip(class_names, iou)},
        mIoU=round(float(iou.mean()), 2),
        aAcc=round(float(100.0 * intersect.sum() / max(gt_area.sum(), 1)), 2),
        num_slices=len(names),
        pixels={c: int(v) for c, v in zip(class_names, gt_area)})


def write_iou_tables(result: Dict[str, object], out_dir: str) -> List[str]:
    """Write ``iou.md``, ``iou.csv`` and ``iou.json``; return their paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = [osp.join(out_dir, f'iou.{ext}') for ext in ('md', 'csv', 'json')]
    rows = [(c, v, result['pixels'][c]) for c, v in result['iou'].items()]
    with open(paths[0], 'w') as f:
        f.write(f'Validation slices: {result["num_slices"]}\n\n'
                '| class | IoU (%) | ground-truth pixels |\n|---|---:|---:|\n')
        for name, iou, pixels in rows:
            f.write(f'| {name} | {iou:.2f} | {pixels} |\n')
        f.write(f'| **mIoU** | **{result["mIoU"]:.2f}** | |\n'
                f'| aAcc | {result["aAcc"]:.2f} | |\n')
    with open(paths[1], 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['class', 'iou', 'pixels'])
        writer.writerows(rows)
        writer.writerow(['mIoU', result['mIoU'], ''])
    with open(paths[2], 'w') as f:
        json.dump(result, f, indent=1)
    return paths


def overlay_names(files: List[str], count: int) -> List[str]:
    """``count`` validation slices spread over the axes, deterministically."""
    by_axis = {}
    for name in files:
        by_axis.setdefault(name.split('_')[0], []).append(name)
    picks = []
    rank = 1
    while len(picks) < min(count, len(files)):
        for names in by_axis.values():
            candidate = names[len(names) * rank // (count + 1) % len(names)]
            if candidate not in picks and len(picks) < count:
                picks.append(candidate)
        rank += 1
    return picks


def tested_slices(pred_dir: str, val_files: List[str]) -> List[str]:
    """Names of the slices ``mim test`` predicted, checked against val."""
    names = sorted(osp.splitext(f)[0] for f in os.listdir(pred_dir)
                   if f.endswith('.png'))
    unknown = sorted(set(names) - set(val_files))
    if not names or unknown:
        raise ValueError(
            f'{pred_dir} holds {len(names)} predictions, {len(unknown)} of '
            f'them not validation slices (e.g. {unknown[:1]}); test the '
            'validation split of this data root.')
    return names


def _blend(gray: np.ndarray, label: np.ndarray,
           palette: Sequence[Sequence[int]]) -> np.ndarray:
    """(H, W) image + (H, W) labels -> (H, W, 3) uint8, tissue tinted."""
    rgb = np.repeat(gray[..., None], 3, axis=2).astype(np.float32)
    colours = np.asarray(palette, dtype=np.float32)[label]
    tissue = (label > 0)[..., None]
    return np.where(tissue, 0.45 * rgb + 0.55 * colours, rgb).astype(np.uint8)


def save_overlays(*, img_dir: str, ann_dir: str, pred_dir: str,
                  names: Sequence[str], class_names: Sequence[str],
                  palette: Sequence[Sequence[int]], out_dir: str) -> List[str]:
    """One PNG per slice: image | ground truth | prediction | errors.

    Returns:
        list[str]: the written paths.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    os.makedirs(out_dir, exist_ok=True)
    handles = [Patch(color=np.asarray(c) / 255, label=n)
               for n, c in zip(class_names[1:], palette[1:])]
    handles.append(Patch(color='red', label='wrong'))
    paths = []
    for name in names:
        gray = _read_png(osp.join(img_dir, name + '.png'))
        gray = gray if gray.ndim == 2 else gray[..., 0]
        gt = _read_png(osp.join(ann_dir, name + '.png'))
        pred = _read_png(osp.join(pred_dir, name + '.png'))
        errors = np.repeat(gray[..., None], 3, axis=2) // 2
        errors[pred != gt] = (255, 0, 0)
        panels = [('image', np.repeat(gray[..., None], 3, axis=2)),
                  ('ground truth', _blend(gray, gt, palette)),
                  ('prediction', _blend(gray, pred, palette)),
                  (f'errors ({100 * (pred != gt).mean():.1f}% px)', errors)]
        fig, axes = plt.subplots(1, 4, figsize=(12, 3.4))
        for ax, (title, panel) in zip(axes, panels):
            ax.imshow(panel)
            ax.set_title(title)
            ax.axis('off')
        fig.suptitle(name)
        fig.legend(handles=handles, loc='lower center', ncol=len(handles))
        path = osp.join(out_dir, name + '.png')
        fig.savefig(path, dpi=80, bbox_inches='tight')
        plt.close(fig)
        paths.append(path)
    return paths


def read_scalars(scalars_json: str) -> Dict[str, List[tuple]]:
    """Parse MMEngine's ``vis_data/scalars.json`` (one JSON dict per line).

    Returns:
        dict: ``loss`` and ``mIoU``, each a list of ``(step, value)``.
    """
    curves: Dict[str, List[tuple]] = dict(loss=[], mIoU=[])
    with open(scalars_json) as f:
        for line in f:
            if not line.strip():
                continue
            record = json.loads(line)
            for key in curves:
                if key in record:
                    curves[key].append((record['step'], record[key]))
    return curves


def plot_curves(scalars_json: str, out_png: str) -> Dict[str, List[tuple]]:
    """Plot training loss and validation mIoU against iterations to a PNG."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    curves = read_scalars(scalars_json)
    if not curves['loss']:
        raise ValueError(f'{scalars_json} has no "loss" entries; was the '
                         'training run logged (log_config interval)?')
    fig, loss_ax = plt.subplots(figsize=(7, 4))
    steps, losses = zip(*curves['loss'])
    loss_ax.plot(steps, losses, color='tab:blue', label='train loss')
    loss_ax.set_xlabel('iteration')
    loss_ax.set_ylabel('loss', color='tab:blue')
    if curves['mIoU']:
        miou_ax = loss_ax.twinx()
        steps, mious = zip(*curves['mIoU'])
        miou_ax.plot(steps, mious, 'o-', color='tab:orange', label='val mIoU')
        miou_ax.set_ylabel('val mIoU (%)', color='tab:orange')
    fig.suptitle('PSPNet on MNI152 tissue slices')
    fig.tight_layout()
    fig.savefig(out_png, dpi=90)
    plt.close(fig)
    return curves
