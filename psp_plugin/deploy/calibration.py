"""Calibration images for int8: from the config's validation set, a folder, or tensors.

Every source ends as a list of (1, 3, H, W) float tensors preprocessed exactly
as the segmentor's ``data_preprocessor`` does for testing (mean/std, BGR->RGB,
padding), so the observers see the value ranges that inference will see.
"""
from pathlib import Path
from typing import List, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
from torch import Tensor

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff')
CalibrationSource = Union[None, str, Path, Sequence[Union[str, Path]], Tensor, Sequence[Tensor]]


def _spread_indices(total: int, wanted: int) -> List[int]:
    """``wanted`` indices spread evenly over ``range(total)`` (all when fewer)."""
    if total <= wanted:
        return list(range(total))
    return sorted({int(i) for i in np.linspace(0, total - 1, wanted)})


def _preprocess(segmentor: nn.Module, packed: dict) -> Tensor:
    batch = dict(inputs=[packed['inputs']], data_samples=[packed['data_samples']])
    with torch.no_grad():
        return segmentor.data_preprocessor(batch, False)['inputs'].float()


def _config_of(segmentor: nn.Module):
    cfg = getattr(segmentor, 'cfg', None)
    if cfg is None:
        raise ValueError('int8 calibration needs images: the model has no .cfg to take the '
                         'validation set from (build it with mmseg.apis.init_model), so pass '
                         'calib_images= a folder, image paths or an (N, 3, H, W) tensor.')
    return cfg


def _from_validation_set(segmentor: nn.Module, num_images: int) -> List[Tensor]:
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS
    cfg = _config_of(segmentor)
    loader_cfg = cfg.get('val_dataloader') or cfg.get('test_dataloader')
    if not loader_cfg:
        raise ValueError('The config has no val_dataloader/test_dataloader to calibrate int8 '
                         'on; pass calib_images= a folder of images.')
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    try:
        dataset = DATASETS.build(loader_cfg['dataset'])
    except Exception as error:  # a missing data root raises many error types
        raise ValueError(f'int8 calibration could not load the config\'s validation set '
                         f'({type(error).__name__}: {error}); prepare the dataset or pass '
                         'calib_images= a folder of images.') from error
    if len(dataset) == 0:
        raise ValueError('The config\'s validation set is empty; pass calib_images=.')
    return [_preprocess(segmentor, dataset[i]) for i in _spread_indices(len(dataset), num_images)]


def _from_image_files(segmentor: nn.Module, paths: Sequence[Path],
                      num_images: int) -> List[Tensor]:
    from mmcv.transforms import Compose
    from mmengine.registry import init_default_scope
    cfg = _config_of(segmentor)
    steps = cfg.get('test_pipeline') or cfg.test_dataloader.dataset.pipeline
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    pipeline = Compose([step for step in steps if step['type'] != 'LoadAnnotations'])
    chosen = [paths[i] for i in _spread_indices(len(paths), num_images)]
    return [_preprocess(segmentor, pipeline(dict(img_path=str(path)))) for path in chosen]


def _image_files_in(folder: Path) -> List[Path]:
    files = sorted(p for p in folder.rglob('*') if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f'No images ({", ".join(IMAGE_SUFFIXES)}) under {folder} to calibrate '
                         'int8 on; point calib_images= at a folder of validation images.')
    return files


def load_calibration_images(segmentor: nn.Module, source: CalibrationSource = None, *,
                            num_images: int = 16) -> List[Tensor]:
    """Return preprocessed calibration images for ``segmentor``.

    Args:
        segmentor (nn.Module): An MMSeg segmentor with ``data_preprocessor``
            (and ``cfg`` unless ``source`` is a tensor).
        source: ``None`` for the config's validation set; a folder; a list of
            image paths; or already preprocessed (N, 3, H, W) tensor(s).
        num_images (int): How many images to use, spread over the source.

    Returns:
        list[Tensor]: (1, 3, H, W) float tensors on the segmentor's device.
    """
    if num_images < 1:
        raise ValueError(f'num_calib_images={num_images}; int8 needs at least 1 image.')
    if source is None:
        return _from_validation_set(segmentor, num_images)
    if isinstance(source, Tensor) or (isinstance(source, (list, tuple)) and source
                                      and isinstance(source[0], Tensor)):
        images = list(source.split(1)) if isinstance(source, Tensor) else list(source)
        images = [image if image.dim() == 4 else image.unsqueeze(0) for image in images]
        if any(image.dim() != 4 or image.shape[1] != 3 for image in images):
            raise ValueError('Calibration tensors must be (N, 3, H, W) preprocessed images.')
        return [images[i].float() for i in _spread_indices(len(images), num_images)]
    if isinstance(source, (str, Path)):
        folder = Path(source)
        if not folder.is_dir():
            raise ValueError(f'calib_images={str(source)!r} is not a folder; pass a folder of '
                             'images, a list of image paths or an (N, 3, H, W) tensor.')
        return _from_image_files(segmentor, _image_files_in(folder), num_images)
    paths = [Path(p) for p in source]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ValueError(f'Calibration images not found: {missing[:3]}')
    return _from_image_files(segmentor, paths, num_images)
