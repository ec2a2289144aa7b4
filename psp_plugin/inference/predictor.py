"""A loaded model plus its input mapping and window settings: the core of ``predict``.

Example:
    >>> predictor = Predictor.from_files('configs/my.py', 'work_dirs/my/best.pth', window=(512, 512))
    >>> logits = predictor.logits(predictor.inputs.to_tensor(pixels, 'scene.tif'))   # (K, H, W)
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from torch import Tensor, nn

from .model_loading import load_segmentor
from .network_input import InputMapping
from .sliding_window import WINDOW_WEIGHTS, WindowGrid, blend_logits, segmentor_logits_fn

__all__ = ['DEFAULT_WINDOW', 'Predictor']

#: Window size when neither --window nor the config's test_cfg.crop_size gives one.
DEFAULT_WINDOW = (512, 512)
#: Windows of the first input that calibrate int8 when no calibration images are given.
CALIBRATION_WINDOWS = 8


def test_scale_of(model: nn.Module) -> float:
    """``psp_meta.test_scale`` of the model's config (written by ``fit``, chosen on val), else 1."""
    scale = float((model.cfg.get('psp_meta') or {}).get('test_scale') or 1.0)
    if not scale > 0:
        raise ValueError(f'psp_meta.test_scale={scale} in the config is not a positive scale factor. Fix: '
                         'set it to the scale the model was tested at (1.0 for none)')
    return scale


def scaled_size(height: int, width: int, scale: float) -> tuple[int, int]:
    """(H, W) resized by ``scale`` as MMCV's ``Resize(scale_factor=, keep_ratio=True)`` rounds it."""
    return max(1, int(height * scale + 0.5)), max(1, int(width * scale + 0.5))


def _config_window(model: nn.Module) -> tuple[int, int] | None:
    crop = (model.cfg.model.get('test_cfg') or {}).get('crop_size')
    return (int(crop[0]), int(crop[1])) if crop else None


class Predictor:
    """Blended sliding-window prediction with one segmentor.

    Args:
        model (nn.Module): Segmentor with ``cfg`` (from :func:`load_segmentor` or ``init_model``).
        window (Sequence[int], optional): (h, w) window the network sees; default: the config's
            ``test_cfg.crop_size``, else 512 x 512. Inputs smaller than the window
            are predicted whole along that axis. With a ``psp_meta.test_scale`` s in the config
            (``fit`` writes the scale chosen on val), each window covers window / s input pixels,
            is resized by s (bilinear) for the network, and its logits are resized back, as MMSeg's
            test pipeline does for the whole image.
        overlap (float): Fraction of a window shared with each neighbour. Defaults to 0.5.
        weight (str): 'gaussian', 'hann' or 'constant'. Defaults to 'gaussian'.
        batch_size (int): Windows per forward pass. Defaults to 4.
        precision (str, optional): If set, ``optimize_for_inference(precision=...)``
            ('fp32', 'bf16', 'fp16', 'int8', 'auto') before the first prediction.
        calib_images (str | Path, optional): int8 calibration folder; default: windows
            of the first input.
    """

    def __init__(self, model: nn.Module, *, window: Sequence[int] | None = None, overlap: float = 0.5,
                 weight: str = 'gaussian', batch_size: int = 4, precision: str | None = None,
                 calib_images: str | Path | None = None) -> None:
        if weight not in WINDOW_WEIGHTS:
            raise ValueError(f'window weight {weight!r} is unknown; use one of {WINDOW_WEIGHTS}')
        if window is not None and (len(window) != 2 or min(window) < 1):
            raise ValueError(f'window={window} must be two positive sizes, e.g. --window 512 512')
        self.model = model
        self.inputs = InputMapping(model)
        self.scale = test_scale_of(model)
        network_window = tuple(int(v) for v in window) if window else _config_window(model) or DEFAULT_WINDOW
        #: the window in input pixels (the network sees it resized by ``scale``)
        self.window = tuple(max(1, int(round(v / self.scale))) for v in network_window)
        self.overlap, self.weight, self.batch_size = overlap, weight, batch_size
        self.precision, self.calib_images = precision, calib_images
        self.device = next(model.parameters()).device
        self.num_classes = int(model.decode_head.num_classes)
        self.out_channels = int(model.decode_head.out_channels)
        self.threshold = float(getattr(model.decode_head, 'threshold', None) or 0.3)
        meta = getattr(model, 'dataset_meta', None) or {}
        self.classes = [str(name) for name in (meta.get('classes') or [])]
        self.palette = self._palette(meta.get('palette'))

    @classmethod
    def from_files(cls, config: str | Path, checkpoint: str | Path, *, device: str = 'cpu',
                   **options) -> Predictor:
        """Load ``config`` + ``checkpoint`` (checked to match) and wrap them."""
        return cls(load_segmentor(config, checkpoint, device=device), **options)

    def _palette(self, palette) -> np.ndarray:
        if palette is not None and len(palette) >= self.num_classes:
            return np.asarray(palette[:self.num_classes], dtype=np.uint8)
        return np.random.default_rng(42).integers(0, 256, size=(self.num_classes, 3), dtype=np.uint8)

    def grid(self, height: int, width: int) -> WindowGrid:
        """The windows that cover an ``height x width`` input."""
        return WindowGrid.cover(height, width, self.window, self.overlap)

    def _convert(self, sample: Tensor) -> None:
        """Apply the requested precision once, calibrating int8 on windows of ``sample`` if needed."""
        from psp_plugin.deploy import optimize_for_inference

        precision, self.precision = self.precision, None
        calib = self.calib_images
        if calib is None and precision in ('int8', 'auto') and self.device.type == 'cpu':
            grid = self.grid(*sample.shape[-2:])
            boxes = grid.boxes()[:: max(1, len(grid) // CALIBRATION_WINDOWS)][:CALIBRATION_WINDOWS]
            calib = [self._to_network(sample[None, :, y0:y1, x0:x1]).cpu() for y0, x0, y1, x1 in boxes]
            print_log(f'int8 calibration: {len(calib)} windows of the first input', logger='current')
        window = self.grid(*sample.shape[-2:]).window
        self.model = optimize_for_inference(self.model, precision=precision, calib_images=calib,
                                            measure_shape=scaled_size(*window, self.scale))
        print_log(f'precision: {self.model.inference_precision}', logger='current', level=logging.INFO)

    @torch.no_grad()
    def logits(self, network_input: Tensor, on_batch: Callable[[int], None] | None = None) -> Tensor:
        """(C, H, W) network input -> (K, H, W) float32 blended logits on the CPU."""
        self.prepare(network_input)
        return blend_logits(network_input.to(self.device), self.logits_fn(), self.out_channels,
                            window=self.window, overlap=self.overlap, weight=self.weight,
                            batch_size=self.batch_size, on_batch=on_batch)

    def to_labels(self, logits: Tensor) -> np.ndarray:
        """(K, H, W) logits -> (H, W) int64 classes (argmax; sigmoid > threshold for one channel)."""
        if logits.shape[0] == 1:
            return (logits[0].sigmoid() > self.threshold).numpy().astype(np.int64)
        return logits.argmax(0).numpy()

    def probabilities(self, logits: Tensor) -> Tensor:
        """(K, H, W) logits -> (num_classes, H, W) float32 class probabilities."""
        if logits.shape[0] == 1:
            foreground = logits[0].sigmoid()
            return torch.stack([1 - foreground, foreground])
        return logits.softmax(0)

    def _to_network(self, windows: Tensor) -> Tensor:
        """(N, C, h, w) input windows resized by ``scale`` (bilinear), as the network sees them."""
        if self.scale == 1.0:
            return windows
        return F.interpolate(windows, size=scaled_size(*windows.shape[-2:], self.scale), mode='bilinear',
                             align_corners=False)

    def logits_fn(self) -> Callable[[Tensor], Tensor]:
        """(N, C, h, w) -> (N, K, h, w) through the (possibly converted) model, at ``scale``."""
        run = segmentor_logits_fn(self.model)
        if self.scale == 1.0:
            return run

        def scaled(windows: Tensor) -> Tensor:
            logits = run(self._to_network(windows))
            return F.interpolate(logits, size=tuple(windows.shape[-2:]), mode='bilinear', align_corners=False)

        return scaled

    def prepare(self, sample: Tensor) -> None:
        """Apply a pending precision conversion, using ``sample`` (C, H, W) for calibration."""
        if self.precision is not None:
            self._convert(sample.to(self.device))
