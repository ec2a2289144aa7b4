"""Choose the inference precision from what the device can do.

One switch, ``precision`` in {'fp32', 'bf16', 'fp16', 'int8', 'auto'}:

* ``'auto'`` on CUDA is fp16. On a CPU with AMX it is bf16 or int8, whichever
  *measures* faster on the actual model and input size (the result is cached
  per CPU, model and input size). On a CPU without AMX it is int8 when torch's
  ``x86`` quantized engine and VNNI are there (measured 4x+ faster than fp32);
  otherwise fp32, or bf16 where the CPU has AVX-512 BF16 and bf16 measures
  faster.
* A mode the device cannot run is replaced by the nearest one that it can,
  with a warning that names both and why; it never crashes.
"""
import json
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence

import torch
from mmengine.logging import print_log

from .hardware import CpuFeatures, read_cpu_features

PRECISIONS = ('fp32', 'bf16', 'fp16', 'int8', 'auto')
#: Measures the given precisions on the real model; returns seconds per image.
Measurer = Callable[[Sequence[str]], Dict[str, float]]


@dataclass(frozen=True)
class PrecisionChoice:
    """A resolved precision and the reason for it (shown in logs).

    Args:
        precision (str): One of 'fp32', 'bf16', 'fp16', 'int8'.
        reason (str): Why it was chosen, e.g. 'CPU without AMX; x86 int8 engine + VNNI'.
    """

    precision: str
    reason: str


def check_precision_name(precision: str) -> str:
    """Return ``precision`` if it is a known mode, else raise naming the valid ones."""
    if precision not in PRECISIONS:
        raise ValueError(f'precision={precision!r} is not a mode of the fast inference path; '
                         f'use one of {PRECISIONS}.')
    return precision


def cache_dir() -> Path:
    """Where measured 'auto' choices are kept ($PSP_PLUGIN_CACHE_DIR or ~/.cache/psp_plugin)."""
    default = Path.home() / '.cache' / 'psp_plugin'
    return Path(os.environ.get('PSP_PLUGIN_CACHE_DIR', default))


def _fall_back(requested: str, replacement: str, why: str) -> PrecisionChoice:
    message = (f"precision='{requested}' is not supported here: {why}. "
               f"Falling back to precision='{replacement}'.")
    warnings.warn(message, UserWarning, stacklevel=3)
    print_log(message, logger='current', level=logging.WARNING)
    return PrecisionChoice(replacement, f'fallback from {requested}: {why}')


def _resolve_cuda(requested: str) -> PrecisionChoice:
    if requested == 'auto':
        return PrecisionChoice('fp16', 'CUDA device: fp16 tensor cores')
    if requested == 'int8':
        return _fall_back('int8', 'fp16', "torch's x86 int8 engine runs on CPUs only, "
                          'and this model is on a CUDA device')
    if requested == 'bf16' and not torch.cuda.is_bf16_supported():
        return _fall_back('bf16', 'fp16', 'this GPU has no bf16 arithmetic')
    return PrecisionChoice(requested, 'requested')


def _measured_choice(candidates: Sequence[str], measure: Measurer, features: CpuFeatures,
                     cache_key: Optional[str], hardware: str) -> PrecisionChoice:
    cache_file = cache_dir() / 'auto_precision.json'
    key = f'{features.model_name}|{features.num_threads} threads|{cache_key}'
    cached: Dict[str, dict] = {}
    if cache_key is not None and cache_file.is_file():
        try:
            cached = json.loads(cache_file.read_text())
        except (OSError, ValueError):
            cached = {}
    if key in cached and cached[key].get('precision') in candidates:
        entry = cached[key]
        return PrecisionChoice(entry['precision'], f'cached measurement {entry["seconds"]}')
    seconds = measure(candidates)
    fastest = min(seconds, key=seconds.get)
    if cache_key is not None:
        cached[key] = dict(precision=fastest, seconds=seconds)
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            cache_file.write_text(json.dumps(cached, indent=1, sort_keys=True))
        except OSError as error:
            print_log(f'Could not cache the auto precision choice: {error}', logger='current')
    timings = ', '.join(f'{name} {value * 1e3:.0f} ms' for name, value in seconds.items())
    return PrecisionChoice(fastest, f'{hardware}; measured {timings}')


def _resolve_cpu(requested: str, features: CpuFeatures, can_calibrate: bool,
                 measure: Optional[Measurer], cache_key: Optional[str]) -> PrecisionChoice:
    int8_ready = features.has_x86_int8_engine and can_calibrate
    if requested == 'auto':
        if features.has_amx:
            candidates = ('bf16', 'int8') if int8_ready else ('bf16', )
            hardware = 'CPU with AMX'
        elif int8_ready and features.has_vnni:
            return PrecisionChoice('int8', 'CPU without AMX; x86 int8 engine and VNNI')
        else:
            candidates = ('fp32', 'bf16') if 'avx512_bf16' in features.flags else ('fp32', )
            hardware = 'CPU without AMX or without int8 calibration images'
        if measure is None or len(candidates) == 1:
            return PrecisionChoice(candidates[0], hardware)
        return _measured_choice(candidates, measure, features, cache_key, hardware)
    if requested == 'fp16':
        return _fall_back('fp16', 'fp32', 'fp16 convolutions on CPU are emulated and slow; '
                          "use precision='bf16' (AMX CPUs) or 'int8'")
    if requested == 'int8' and not features.has_x86_int8_engine:
        return _fall_back('int8', 'fp32', "this torch build has no 'x86' quantized engine "
                          f'(it has {sorted(features.quantized_engines)})')
    if requested == 'int8' and not features.has_vnni:
        print_log('int8 on a CPU without VNNI runs, but may not beat fp32.', logger='current')
    if requested == 'bf16' and not features.has_amx:
        print_log('bf16 on a CPU without AMX runs on AVX-512 at best; '
                  "precision='int8' or 'auto' is usually faster here.", logger='current')
    return PrecisionChoice(requested, 'requested')


def resolve_precision(requested: str, *, device: torch.device, can_calibrate: bool = True,
                      measure: Optional[Measurer] = None, cache_key: Optional[str] = None,
                      cpu_features: Optional[CpuFeatures] = None) -> PrecisionChoice:
    """Turn the requested mode into one this device runs, logging the choice.

    Args:
        requested (str): One of :data:`PRECISIONS`.
        device (torch.device): Where the model is.
        can_calibrate (bool): Whether calibration images exist (int8 needs them).
        measure (Measurer, optional): Times candidate precisions on the real
            model; used by 'auto' on AMX CPUs only.
        cache_key (str, optional): Identifies model and input size for caching
            measured choices; ``None`` disables the cache.
        cpu_features (CpuFeatures, optional): Override the read CPU features.

    Returns:
        PrecisionChoice: The precision to use and why.
    """
    check_precision_name(requested)
    if device.type == 'cuda':
        choice = _resolve_cuda(requested)
    elif device.type == 'cpu':
        features = cpu_features or read_cpu_features()
        choice = _resolve_cpu(requested, features, can_calibrate, measure, cache_key)
    elif requested in ('fp32', 'auto'):
        choice = PrecisionChoice('fp32', f'{device.type} device')
    else:
        choice = _fall_back(requested, 'fp32', f'no fast path for {device.type} devices')
    print_log(f"Fast inference precision: '{choice.precision}' (asked '{requested}'; "
              f'{choice.reason}).', logger='current')
    return choice
