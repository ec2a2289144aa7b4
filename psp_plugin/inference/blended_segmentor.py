"""``BlendedEncoderDecoder``: MMSeg's EncoderDecoder with a ``blend`` test mode.

``mim test`` and ``psp-plugin predict`` then blend sliding windows the same way
(:func:`psp_plugin.inference.sliding_window.blend_logits`), so evaluation and
deployment agree. In a config::

    model = dict(
        type='BlendedEncoderDecoder',
        ...,
        test_cfg=dict(mode='blend', crop_size=(512, 512), overlap=0.5, window='gaussian'))

``stride=(h, w)`` may replace ``overlap``; ``window`` is 'gaussian', 'hann' or
'constant'; ``batch_size`` sets the windows per forward pass (default 4). The
modes 'whole' and 'slide' behave exactly as in ``EncoderDecoder``.
"""
from __future__ import annotations

import torch
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from torch import Tensor

from .sliding_window import WINDOW_WEIGHTS, blend_logits, segmentor_logits_fn

__all__ = ['BlendedEncoderDecoder']


@MODELS.register_module()
class BlendedEncoderDecoder(EncoderDecoder):
    """An ``EncoderDecoder`` whose ``test_cfg.mode='blend'`` blends window logits smoothly."""

    def inference(self, inputs: Tensor, batch_img_metas: list[dict]) -> Tensor:
        """(N, C, H, W) preprocessed images -> (N, K, H, W) logits.

        Args:
            inputs (Tensor): (N, C, H, W) output of the data preprocessor.
            batch_img_metas (list[dict]): Image meta data, one per image.

        Returns:
            Tensor: (N, K, H, W) logits (blended in 'blend' mode).
        """
        if self.test_cfg.get('mode', 'whole') != 'blend':
            return super().inference(inputs, batch_img_metas)
        return self.blend_inference(inputs)

    def blend_inference(self, inputs: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, K, H, W) blended sliding-window logits, on ``inputs.device``."""
        cfg = self.test_cfg
        if 'crop_size' not in cfg:
            raise KeyError("model.test_cfg.mode='blend' needs model.test_cfg.crop_size=(h, w), "
                           'the window size, e.g. the training crop size')
        weight = cfg.get('window', 'gaussian')
        if weight not in WINDOW_WEIGHTS:
            raise ValueError(f'model.test_cfg.window={weight!r} is unknown; use one of {WINDOW_WEIGHTS}')
        logits_fn = segmentor_logits_fn(self)
        results = [
            blend_logits(image, logits_fn, self.out_channels, window=cfg.crop_size,
                         overlap=cfg.get('overlap', 0.5), stride=cfg.get('stride'), weight=weight,
                         batch_size=cfg.get('batch_size', 4))
            for image in inputs]
        return torch.stack(results).to(inputs.device)
