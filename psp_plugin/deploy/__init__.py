"""psp_plugin.deploy: the fast inference path (BN folding, channels_last, bf16/fp16/int8).

``optimize_for_inference(model, precision='auto')`` converts a segmentor from
``mmseg.apis.init_model`` in one call; :class:`FastInferenceHook` does the same
from a config, so ``mim test`` runs the fast path.
"""
from .bn_folding import fold_batchnorm, trace_and_fold_batchnorm
from .calibration import load_calibration_images
from .convert import build_fast_core, optimize_for_inference
from .fast_inference_hook import FastInferenceHook
from .hardware import CpuFeatures, read_cpu_features
from .int8 import apply_int8_file, load_int8_model, save_int8_model
from .logits_core import FastInferenceHead, SegmentationLogitsCore
from .precision import PRECISIONS, PrecisionChoice, resolve_precision

__all__ = [
    'CpuFeatures', 'FastInferenceHead', 'FastInferenceHook', 'PRECISIONS', 'PrecisionChoice',
    'SegmentationLogitsCore', 'apply_int8_file', 'build_fast_core', 'fold_batchnorm',
    'load_calibration_images', 'load_int8_model', 'optimize_for_inference', 'read_cpu_features',
    'resolve_precision', 'save_int8_model', 'trace_and_fold_batchnorm'
]
