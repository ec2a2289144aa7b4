"""One call that makes a segmentor fast for inference.

Example:
    >>> from mmseg.apis import init_model, inference_model
    >>> from psp_plugin.deploy import optimize_for_inference
    >>> model = init_model('configs/pspnet_r50.py', 'pspnet_r50.pth', device='cpu')
    >>> model = optimize_for_inference(model, precision='auto', calib_images='data/val_imgs')
    >>> result = inference_model(model, 'demo.png')   # same API, int8/bf16 inside

Every mode folds BatchNorm into the convolutions and runs channels_last; the
precision then decides fp32, bf16, fp16 (CUDA) or int8 (static PTQ, CPU).
"""
import copy
import logging
import statistics
import time
import warnings
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import revert_sync_batchnorm
from torch import Tensor

from .bn_folding import trace_and_fold_batchnorm
from .calibration import CalibrationSource, load_calibration_images
from .int8 import quantize_core
from .logits_core import (
    INPUT_DTYPES,
    FastInferenceHead,
    PrecisionAdapter,
    SegmentationLogitsCore,
    install_fast_head,
)
from .precision import check_precision_name, resolve_precision


def _check_segmentor(segmentor: nn.Module) -> None:
    if isinstance(getattr(segmentor, 'decode_head', None), FastInferenceHead):
        raise ValueError('This segmentor was already converted by optimize_for_inference '
                         f'(precision {segmentor.decode_head.precision!r}); convert a freshly '
                         'built model to change the precision.')
    missing = [name for name in ('backbone', 'decode_head', 'data_preprocessor')
               if getattr(segmentor, name, None) is None]
    if missing:
        raise TypeError(f'optimize_for_inference needs an MMSeg EncoderDecoder-style segmentor; '
                        f'{type(segmentor).__name__} has no {", ".join(missing)}.')


def _warn(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=3)
    print_log(message, logger='current', level=logging.WARNING)


def build_fast_core(core: SegmentationLogitsCore, precision: str, *,
                    calibration: Optional[Sequence[Tensor]] = None,
                    channels_last: bool = True) -> PrecisionAdapter:
    """Return ``core`` folded, laid out and converted to ``precision``; ``core`` is not changed.

    Args:
        core (SegmentationLogitsCore): The float model, on its device.
        precision (str): 'fp32', 'bf16', 'fp16' or 'int8' (already resolved).
        calibration (Sequence[Tensor], optional): Preprocessed (1, 3, H, W)
            images; required for 'int8'.
        channels_last (bool): Run NHWC. Default: True.

    Returns:
        PrecisionAdapter: Takes float (N, 3, H, W) images, returns float32 logits.
        A model torch.fx cannot trace runs eagerly without BN folding, and
        its int8 request becomes fp32; both with a warning.
    """
    if precision == 'int8':
        try:
            quantized = quantize_core(copy.deepcopy(core).cpu(), calibration)
            return PrecisionAdapter(quantized, precision='int8', channels_last=channels_last)
        except RuntimeError as error:
            _warn(f'int8 is not possible for this model, running fp32 instead: {error}')
            precision = 'fp32'
    try:
        fast = trace_and_fold_batchnorm(core)
    except RuntimeError as error:
        _warn(f'BatchNorm folding skipped, the model runs eagerly: {error}')
        fast = copy.deepcopy(core)
    fast = fast.to(dtype=INPUT_DTYPES[precision])
    if channels_last:
        fast = fast.to(memory_format=torch.channels_last)
    return PrecisionAdapter(fast, precision=precision, channels_last=channels_last).eval()


@torch.no_grad()
def seconds_per_image(module: nn.Module, image: Tensor, *, repeats: int = 3) -> float:
    """Median seconds of ``module(image)`` over ``repeats`` runs, after one warm-up."""
    module(image)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        module(image)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _device_of(segmentor: nn.Module) -> torch.device:
    parameter = next(segmentor.parameters(), None)
    return parameter.device if parameter is not None else torch.device('cpu')


def _cache_key(core: SegmentationLogitsCore, shape: Tuple[int, ...]) -> str:
    parameters = sum(p.numel() for p in core.parameters())
    return (f'{type(core.backbone).__name__}+{type(core.decode_head).__name__}'
            f'|{parameters} params|input {tuple(shape)}')


def optimize_for_inference(segmentor: nn.Module, *, precision: str = 'auto',
                           calib_images: CalibrationSource = None, num_calib_images: int = 16,
                           channels_last: bool = True,
                           measure_shape: Optional[Tuple[int, int]] = None) -> nn.Module:
    """Convert an MMSeg ``EncoderDecoder`` for fast inference, in place.

    The backbone (+ neck) and decode head become one traced, BN-folded,
    channels_last module in the chosen precision; ``predict()``,
    ``inference_model``, ``MMSegInferencer`` and ``mim test`` use it unchanged.
    The auxiliary head is dropped (it is used for training only).

    Args:
        segmentor (nn.Module): E.g. from ``mmseg.apis.init_model``.
        precision (str): 'fp32', 'bf16', 'fp16', 'int8' or 'auto' (see
            :mod:`psp_plugin.deploy.precision`). Default: 'auto'.
        calib_images: int8 calibration images: ``None`` for the config's
            validation set, a folder, image paths, or preprocessed tensors.
        num_calib_images (int): Calibration images to use. Default: 16.
        channels_last (bool): Run NHWC. Default: True.
        measure_shape (tuple[int, int], optional): (H, W) at which 'auto' times
            its candidates when it has to measure; default: the first
            calibration image's size, else (512, 512).

    Returns:
        nn.Module: ``segmentor`` itself, converted, in eval mode; its
        ``inference_precision`` attribute names the precision used.
    """
    check_precision_name(precision)
    _check_segmentor(segmentor)
    segmentor = revert_sync_batchnorm(segmentor).eval()
    device = _device_of(segmentor)
    core = SegmentationLogitsCore(segmentor.backbone, segmentor.decode_head,
                                  neck=getattr(segmentor, 'neck', None))
    calibration = None
    if device.type == 'cpu' and precision in ('int8', 'auto'):
        try:
            calibration = load_calibration_images(segmentor, calib_images,
                                                  num_images=num_calib_images)
        except ValueError as error:
            if precision == 'int8':
                raise
            print_log(f"'auto' cannot consider int8: {error}", logger='current')
    shape = measure_shape or (tuple(calibration[0].shape[-2:]) if calibration else (512, 512))
    built: Dict[str, PrecisionAdapter] = {}

    def measure(candidates: Sequence[str]) -> Dict[str, float]:
        image = torch.rand(1, 3, *shape, device=device)
        for name in candidates:
            built[name] = build_fast_core(core, name, calibration=calibration,
                                          channels_last=channels_last)
        return {name: seconds_per_image(built[name], image) for name in candidates}

    choice = resolve_precision(precision, device=device, can_calibrate=calibration is not None,
                               measure=measure, cache_key=_cache_key(core, shape))
    fast_core = built.get(choice.precision) or build_fast_core(
        core, choice.precision, calibration=calibration, channels_last=channels_last)
    return install_fast_head(segmentor, fast_core, precision=fast_core.precision)
