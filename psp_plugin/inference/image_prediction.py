"""Images (PNG, JPEG, TIFF; 8/16-bit, float; any channel count the model takes) -> label PNG + overlay.

The model sees the pixels mapped as in training (:class:`InputMapping`). The
overlay is for people: its background is the image scaled for display (8-bit
images as they are; other dtypes stretched per channel between the 0.5th and
99.5th percentiles, display only), with the class colours blended on top.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from .areas import class_counts
from .images import overlay_labels, write_label_png
from .predictor import Predictor

__all__ = ['display_bgr', 'predict_image']


def display_bgr(pixels: np.ndarray, *, is_bgr: bool) -> np.ndarray:
    """(H, W, C) pixels of any dtype -> (H, W, 3) uint8 BGR for showing (not for the model)."""
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    shown = pixels[:, :, :3] if pixels.shape[2] >= 3 else np.repeat(pixels[:, :, :1], 3, axis=2)
    if shown.dtype != np.uint8:
        values = shown.astype(np.float32)
        low = np.percentile(values, 0.5, axis=(0, 1))
        high = np.percentile(values, 99.5, axis=(0, 1))
        values = (values - low) / np.maximum(high - low, 1e-6) * 255.0
        shown = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(shown if is_bgr else shown[:, :, ::-1])


def predict_image(predictor: Predictor, path: str | Path, label_path: str | Path,
                  overlay_path: str | Path | None = None, *, opacity: float = 0.5,
                  on_batch: Callable[[int], None] | None = None) -> np.ndarray:
    """Segment one image file; write its label PNG (and overlay PNG).

    Args:
        predictor (Predictor): Model, input mapping and window settings.
        path (str | Path): Image file.
        label_path (str | Path): Output label PNG (8-bit, 16-bit above 256 classes).
        overlay_path (str | Path, optional): Output overlay PNG.
        opacity (float): Class colour weight in the overlay. Defaults to 0.5.
        on_batch (Callable, optional): Progress callback, called with windows done.

    Returns:
        np.ndarray: (K,) pixels per class.
    """
    pixels = predictor.inputs.read_image(path)
    network_input = predictor.inputs.to_tensor(pixels, str(path), device=predictor.device)
    labels = predictor.to_labels(predictor.logits(network_input, on_batch=on_batch))
    write_label_png(Path(label_path), labels, num_classes=predictor.num_classes)
    if overlay_path is not None:
        background = display_bgr(pixels, is_bgr=predictor.inputs.normalization is None)
        overlay = overlay_labels(background, labels, palette_rgb=predictor.palette, opacity=opacity)
        Path(overlay_path).parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(overlay_path), overlay):
            raise OSError(f'could not write {overlay_path}; check that the folder is writable')
    return class_counts(labels, predictor.num_classes)
