"""ClassWeightedCrossEntropyLoss: per-class weights that respect the ignore index.

MMSeg 1.2.2's ``CrossEntropyLoss(class_weight=...)`` builds its averaging factor by indexing the
weights with every label value, so one ignored pixel (255) raises ``IndexError``. This loss is
PyTorch's weighted cross-entropy: ignored pixels get no loss and no weight, and the mean is taken
over the weights of the pixels that count (0 when a batch has none, instead of NaN).
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS

__all__ = ['ClassWeightedCrossEntropyLoss']


@MODELS.register_module()
class ClassWeightedCrossEntropyLoss(nn.Module):
    """Cross-entropy with per-class weights, averaged over the weight of non-ignored pixels.

    Args:
        class_weight (Sequence[float]): K weights, one per class.
        loss_weight (float): Multiplier of the loss. Default: 1.0.
        loss_name (str): Key in the loss dict; must start with ``loss_``. Default: ``'loss_ce'``.
    """

    def __init__(self, class_weight: Sequence[float], loss_weight: float = 1.0,
                 loss_name: str = 'loss_ce') -> None:
        super().__init__()
        if not loss_name.startswith('loss_'):
            raise ValueError(f'loss_name={loss_name!r} must start with "loss_" for MMEngine to '
                             'back-propagate '
                             'it; fix loss_decode.loss_name in the config.')
        self.register_buffer('class_weight', torch.tensor(list(class_weight), dtype=torch.float32))
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, cls_score: torch.Tensor, label: torch.Tensor, weight: Optional[torch.Tensor] = None,
                ignore_index: int = 255, **kwargs) -> torch.Tensor:
        """(N, K, H, W) logits and (N, H, W) labels -> scalar loss.

        ``weight`` (per-pixel weights from a sampler) is not supported and must be None.
        """
        if weight is not None:
            raise ValueError('ClassWeightedCrossEntropyLoss takes no per-pixel weights (a pixel sampler); '
                             'remove decode_head.sampler from the config or use CrossEntropyLoss.')
        if cls_score.shape[1] != self.class_weight.numel():
            raise ValueError(f'{cls_score.shape[1]} classes in the logits but {self.class_weight.numel()} '
                             'class_weight values; give one weight per class (num_classes).')
        if not bool((label != ignore_index).any()):
            return cls_score.sum() * 0.0
        loss = F.cross_entropy(cls_score.float(), label, weight=self.class_weight,
                               ignore_index=ignore_index, reduction='mean')
        return self.loss_weight * loss

    @property
    def loss_name(self) -> str:
        """The key of this loss in MMSeg's loss dict."""
        return self._loss_name
