"""Segment one image or a folder of images into label and overlay PNGs (the older image path).

For every input image the command writes

* ``OUT/labels/<name>.png``: the class index of each pixel (8-bit PNG, or
  16-bit when the model has more than 256 classes), the same size as the input;
* ``OUT/overlays/<name>.png``: the input blended with the class colours.

Inputs may be grayscale, RGB, RGBA or 16-bit; :mod:`psp_plugin.data.image_io`
describes how each is turned into the 8-bit BGR image the model expects.
Folders are searched recursively and their layout is kept under ``OUT``.
"""
import sys
from collections import Counter
from pathlib import Path
from typing import List

import cv2
import numpy as np
from torch import nn

from ..data.image_io import HighBitScaling, list_images, read_image_bgr


def class_palette(model: nn.Module, num_classes: int) -> np.ndarray:
    """(num_classes, 3) uint8 RGB colours: the checkpoint's palette, else a fixed random one."""
    palette = (getattr(model, 'dataset_meta', None) or {}).get('palette')
    if palette is not None and len(palette) >= num_classes:
        return np.asarray(palette[:num_classes], dtype=np.uint8)
    rng = np.random.default_rng(42)
    return rng.integers(0, 256, size=(num_classes, 3), dtype=np.uint8)


def overlay_labels(image_bgr: np.ndarray, labels: np.ndarray, *, palette_rgb: np.ndarray,
                   opacity: float = 0.5) -> np.ndarray:
    """Blend class colours onto an image.

    Args:
        image_bgr (np.ndarray): (H, W, 3) uint8 BGR image.
        labels (np.ndarray): (H, W) integer class indices.
        palette_rgb (np.ndarray): (K, 3) uint8 RGB colour of each class.
        opacity (float): Weight of the class colour, in [0, 1]. Defaults to 0.5.

    Returns:
        np.ndarray: (H, W, 3) uint8 BGR overlay.
    """
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f'opacity={opacity} is outside [0, 1]; pass e.g. --opacity 0.5')
    colours_bgr = palette_rgb[labels][:, :, ::-1].astype(np.float32)
    blended = (1.0 - opacity) * image_bgr.astype(np.float32) + opacity * colours_bgr
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def segment(model: nn.Module, image_bgr: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 BGR image -> (H, W) int64 class indices, via ``inference_model``."""
    from mmseg.apis import inference_model

    if 'test_pipeline' not in model.cfg:
        raise KeyError('the config has no top-level test_pipeline; add one (e.g. '
                       "test_pipeline = [dict(type='LoadImageFromFile'), "
                       "dict(type='PackSegInputs')])")
    result = inference_model(model, image_bgr)
    return result.pred_sem_seg.data[0].cpu().numpy()


def write_label_png(path: Path, labels: np.ndarray, *, num_classes: int) -> None:
    """Write class indices losslessly: uint8 PNG up to 256 classes, uint16 above."""
    dtype = np.uint8 if num_classes <= 256 else np.uint16
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), labels.astype(dtype)):
        raise OSError(f'could not write {path}; check that the folder is writable')


def output_name(image_path: Path, source: Path) -> Path:
    """The output path of ``image_path`` relative to ``OUT``, as a ``.png``."""
    relative = image_path.name if source.is_file() else image_path.relative_to(source)
    return Path(relative).with_suffix('.png')


def segment_images(source: str | Path, *, config: str, checkpoint: str, out: str | Path,
                   device: str = 'cpu', opacity: float = 0.5,
                   high_bit_scaling: HighBitScaling = 'minmax') -> List[Path]:
    """Segment an image or a folder of images; write label and overlay PNGs under ``out``.

    Args:
        source (str | Path): An image file or a folder (searched recursively).
        config (str): MMSeg config file.
        checkpoint (str): Checkpoint (.pth).
        out (str | Path): Output folder; ``labels/`` and ``overlays/`` are written inside it.
        device (str): Torch device, e.g. ``'cpu'`` or ``'cuda:0'``.
        opacity (float): Class colour weight in overlays.
        high_bit_scaling (str): 16-bit/float images: ``'minmax'`` or ``'full'`` (see ``to_uint8``).

    Returns:
        list[Path]: The label PNGs written.
    """
    from mmengine.model import revert_sync_batchnorm
    from mmengine.utils import ProgressBar
    from mmseg.apis import init_model

    source = Path(source)
    images = list_images(source)
    model = init_model(config, checkpoint, device=device)
    if device == 'cpu':
        model = revert_sync_batchnorm(model)
    num_classes = model.decode_head.num_classes
    palette = class_palette(model, num_classes)
    out = Path(out)
    progress = ProgressBar(len(images), file=sys.stdout) if len(images) > 1 else None
    written, pixel_counts = [], Counter()
    for image_path in images:
        image = read_image_bgr(image_path, scaling=high_bit_scaling)
        labels = segment(model, image)
        name = output_name(image_path, source)
        write_label_png(out / 'labels' / name, labels, num_classes=num_classes)
        overlay_path = out / 'overlays' / name
        overlay_path.parent.mkdir(parents=True, exist_ok=True)
        overlay = overlay_labels(image, labels, palette_rgb=palette, opacity=opacity)
        cv2.imwrite(str(overlay_path), overlay)
        written.append(out / 'labels' / name)
        pixel_counts.update(dict(zip(*np.unique(labels, return_counts=True))))
        if progress is not None:
            progress.update()
    _print_summary(model, written, out, pixel_counts)
    return written


def _print_summary(model: nn.Module, written: List[Path], out: Path, pixel_counts: Counter) -> None:
    classes = (getattr(model, 'dataset_meta', None) or {}).get('classes') or []
    total = sum(pixel_counts.values())
    print(f'\nsegmented {len(written)} image(s); wrote {out}/labels/ and {out}/overlays/')
    for index, count in sorted(pixel_counts.items()):
        name = classes[index] if index < len(classes) else f'class {index}'
        print(f'  {name}: {100 * count / total:.1f}% of pixels')

