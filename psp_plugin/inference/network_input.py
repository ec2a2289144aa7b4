"""Turn raw pixels into the network input exactly as training did.

Two mappings, chosen by the config:

* a config written by ``psp-plugin fit`` has ``psp_meta['normalization']``:
  pixels are read as stored (:func:`psp_plugin.data.image_reading.read_image`,
  file channel order, dtype kept) and mapped by
  :func:`psp_plugin.data.normalize_image`, the function the training pipeline's
  ``LoadNormalizedImage`` calls;
* any other config: images are decoded by the config's own ``LoadImageFromFile``
  transform (8-bit BGR for the usual ``color_type='color'``).

Both then go through the steps of the config's ``SegDataPreProcessor``
(BGR->RGB for 3 channels, mean/std). Nothing is stretched per image.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from psp_plugin.data.normalization import normalize_image

__all__ = ['ChannelMismatchError', 'InputMapping']


class ChannelMismatchError(ValueError):
    """An input has another number of channels than the model was trained with."""


def _load_transform_cfg(cfg) -> dict:
    pipeline = cfg.get('test_pipeline') or cfg.get('test_dataloader', {}).get('dataset', {}).get('pipeline')
    for step in pipeline or []:
        if step.get('type') == 'LoadImageFromFile':
            return dict(step)
    return dict(type='LoadImageFromFile')


class InputMapping:
    """How raw (H, W, C) pixels become the (C, H, W) input of ``model``.

    Args:
        model (nn.Module): A segmentor with ``cfg`` and ``data_preprocessor``.
    """

    def __init__(self, model: nn.Module) -> None:
        psp_meta = model.cfg.get('psp_meta') or {}
        self.normalization: dict | None = psp_meta.get('normalization')
        preprocessor = model.data_preprocessor
        normalize = bool(getattr(preprocessor, '_enable_normalize', False))
        self.mean = preprocessor.mean.detach().float().cpu() if normalize else None
        self.std = preprocessor.std.detach().float().cpu() if normalize else None
        self.flip_channels = bool(getattr(preprocessor, 'channel_conversion', False))
        default_channels = self.mean.numel() if self.mean is not None else 3
        self.channels = int(psp_meta.get('channels') or default_channels)
        self.load_cfg = _load_transform_cfg(model.cfg)

    def read_image(self, path: str | Path) -> np.ndarray:
        """Read an image file as training read it: (H, W, C)."""
        if self.normalization is not None:
            from psp_plugin.data.image_reading import read_image

            return read_image(path)
        from mmcv.transforms import LoadImageFromFile  # noqa: F401  (registers the transform)
        from mmseg.registry import TRANSFORMS

        loaded = TRANSFORMS.build(self.load_cfg)(dict(img_path=str(path)))
        if loaded is None or loaded.get('img') is None:
            raise ValueError(f'{path} could not be decoded by the config\'s {self.load_cfg}; '
                             'convert it to PNG or TIFF')
        image = loaded['img']
        return image[:, :, None] if image.ndim == 2 else image

    def check(self, pixels: np.ndarray, source: str) -> np.ndarray:
        """Return ``pixels`` as (H, W, C) after checking C and the dtype, else raise naming ``source``."""
        if pixels.ndim == 2:
            pixels = pixels[:, :, None]
        if pixels.ndim != 3 or pixels.shape[2] != self.channels:
            found = pixels.shape[2] if pixels.ndim == 3 else f'shape {pixels.shape}'
            raise ChannelMismatchError(
                f'{source} has {found} channel(s) but the model was trained on {self.channels}; '
                f'pass an input with {self.channels} channel(s) in the training order (or the config '
                'and checkpoint of a model trained on such inputs)')
        if self.normalization is None and pixels.dtype != np.uint8:
            raise ValueError(
                f'{source} has {pixels.dtype} pixels but the config has no psp_meta.normalization, so the '
                'training-time mapping of such values is unknown; train with `psp-plugin fit` (it stores '
                'psp_meta.normalization in the config) or convert the input to 8-bit')
        return pixels

    def to_tensor(self, pixels: np.ndarray, source: str, *, device: str | torch.device = 'cpu') -> Tensor:
        """(H, W, C) raw pixels -> (C, H, W) float32 network input on ``device``.

        Args:
            pixels (np.ndarray): (H, W, C) or (H, W) raw values, as :meth:`read_image` gives.
            source (str): Names the input in error messages.
            device (str | torch.device): Where the tensor goes.

        Returns:
            Tensor: (C, H, W) float32, normalised as for training.
        """
        pixels = self.check(pixels, source)
        if self.normalization is not None:
            pixels = normalize_image(pixels, self.normalization)
        tensor = torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.float32)).permute(2, 0, 1)
        if self.flip_channels and tensor.shape[0] == 3:
            tensor = tensor[[2, 1, 0]]
        if self.mean is not None:
            tensor = (tensor - self.mean) / self.std
        return tensor.contiguous().to(device)
