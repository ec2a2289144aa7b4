"""``LoadNormalizedImage``: read a prepared ``.tif`` and normalise it as at import time."""

from __future__ import annotations

from typing import Optional

import numpy as np
import tifffile
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from .normalization import normalize_image

__all__ = ['LoadNormalizedImage']


@TRANSFORMS.register_module()
class LoadNormalizedImage(BaseTransform):
    """Load ``results['img_path']`` with tifffile and apply the dataset's normalisation.

    Replaces ``LoadImageFromFile`` for prepared datasets: 16-bit, float and
    many-channel images keep their values (no 8-bit decoding), and every
    channel is clipped and z-scored with the statistics of the training split
    (see :func:`psp_plugin.data.normalize_image`). The model's
    ``data_preprocessor`` must then use ``mean=0, std=1, bgr_to_rgb=False``.

    Args:
        normalization (dict): The ``normalization`` entry of the prepared
            ``dataset.json`` (``type``, ``low``, ``high``, ``mean``, ``std``).

    Added keys: ``img`` ((H, W, C) float32), ``img_shape``, ``ori_shape``.
    """

    def __init__(self, normalization: Optional[dict] = None) -> None:
        if not normalization or not all(k in normalization for k in ('low', 'high', 'mean', 'std')):
            raise ValueError(
                'LoadNormalizedImage needs normalization=dict(type="clip_zscore", low=[...], '
                'high=[...], mean=[...], std=[...]); copy the "normalization" entry of the '
                "prepared dataset's dataset.json into the pipeline"
            )
        self.normalization = dict(normalization)

    def transform(self, results: dict) -> dict:
        """Read, normalise and store the image; see the class docstring for the keys."""
        image = np.asarray(tifffile.imread(results['img_path']))
        results['img'] = normalize_image(image, self.normalization)
        results['img_shape'] = results['img'].shape[:2]
        results['ori_shape'] = results['img'].shape[:2]
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(normalization={self.normalization})'
