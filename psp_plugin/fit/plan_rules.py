"""The planner's rules: each turns dataset facts into one setting and the reason for it.

Every rule returns ``(value, reason)``; the reason is printed with the plan and written into the
config as a comment, so a user sees why a setting was chosen before changing it.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

__all__ = ['choose_class_weights', 'choose_crop', 'choose_input_scale', 'choose_network',
           'choose_output_stride', 'choose_test_scales', 'thinnest_width']

SCALE_LADDER = (0.5, 1.0, 1.5, 2.0, 3.0)
#: the output grid (output stride / input scale, in original pixels) may be at most this many
#: typical widths of the thinnest class. Calibrated on MNI152, whose grey matter measures 8.5 px
#: (2 A / P over the training masks): a grid of 8 px (0.94 widths) caps the reachable mIoU at 80,
#: one of 4 px (0.47 widths) at 90.6 (benchmarks/mni152_resolution_ceiling.py)
GRID_PER_WIDTH = 0.5
MAX_SCALED_SIDE = {'cpu': 768, 'cuda': 2048}
CROP_CAP = {'cpu': 256, 'cuda': 512}
WEIGHT_CAP = 10.0
IMBALANCE_FOR_WEIGHTS = 10.0
MIN_FREQUENCY = 1e-3


def thinnest_width(widths: list[Optional[float]], frequency: list[float]) -> tuple[float, int]:
    """Width (pixels) and index of the thinnest class that covers >= 0.1 % of the training pixels."""
    candidates = [(w, i) for i, (w, f) in enumerate(zip(widths, frequency))
                  if w is not None and f >= MIN_FREQUENCY]
    if not candidates:
        raise ValueError('No class covers at least 0.1 % of the training pixels, so there is '
                         'nothing to plan for. Fix: check the masks (dataset.json label_mapping).')
    return min(candidates)


def choose_input_scale(width: float, class_name: str, median_hw: tuple[int, int],
                       device: str) -> tuple[float, str]:
    """Smallest scale whose output grid (8 / scale original pixels) resolves the thinnest class."""
    limit = MAX_SCALED_SIDE['cuda' if device.startswith('cuda') else 'cpu']
    largest = max(median_hw)
    affordable = [s for s in SCALE_LADDER if s * largest <= limit] or [SCALE_LADDER[0]]
    wanted = [s for s in SCALE_LADDER if 8 / s <= GRID_PER_WIDTH * width and s >= 1.0]
    if wanted and wanted[0] in affordable:
        scale = wanted[0]
        why = (f'the thinnest class ({class_name}) is {width:.1f} px wide; at scale {scale:g} the '
               f'output grid is {8 / scale:.1f} px <= {GRID_PER_WIDTH} x its width')
    elif wanted:
        scale = max(affordable)
        why = (f'the thinnest class ({class_name}, {width:.1f} px) asks for scale {wanted[0]:g}, '
               f'but {largest} px images would exceed {limit} px; the largest affordable scale')
    else:
        scale = max(s for s in affordable if s <= SCALE_LADDER[-1])
        why = (f'even scale 3 leaves the thinnest class ({class_name}, {width:.1f} px) under-resolved; '
               'the largest affordable scale')
    if scale == 1.0 and width >= 40 and largest * 0.5 >= 256:
        scale = 0.5
        why = (f'all classes are wide (>= {width:.0f} px) and images large ({largest} px): half '
               'resolution keeps a 8 px output grid finer than a fifth of the thinnest class')
    return scale, why


def choose_output_stride(width: float, scale: float) -> tuple[int, str]:
    """Output stride 8, or 16 when the thinnest class spans >= 64 input pixels."""
    if width * scale >= 64:
        return 16, (f'the thinnest structures span {width * scale:.0f} input pixels, so a 1/16 '
                    'grid resolves them and costs less than 1/8')
    return 8, 'PSPNet\'s 1/8 output grid; thin structures need it'


def choose_crop(median_hw: tuple[int, int], scale: float, device: str) -> tuple[int, str]:
    """Square training crop: the scaled image's shorter side, a multiple of 8, capped per device."""
    cap = CROP_CAP['cuda' if device.startswith('cuda') else 'cpu']
    side = int(min(median_hw) * scale) // 8 * 8
    crop = max(32, min(cap, side))
    if crop == cap and side > cap:
        return crop, f'scaled images are {side} px; crops of {cap} px keep a {device} step affordable'
    return crop, f'the whole scaled image ({int(min(median_hw) * scale)} px, shorter side) fits'


def choose_network(device: str, budget_s: float, width: Optional[int]) -> tuple[int, int, str]:
    """(depth, base width, reason) of the DilatedResNet."""
    if width is not None:
        return 18, width, f'width {width} requested'
    if device.startswith('cuda') and budget_s >= 2 * 3600:
        return 50, 64, 'a GPU and >= 2 h: ResNet-50 at full width, as in the PSPNet paper'
    if device.startswith('cuda'):
        return 18, 64, 'a GPU and < 2 h: ResNet-18 at full width'
    return 18, 32, ('a CPU: ResNet-18 at half width (stages 32/64/128/256) buys 4x the pixels of '
                    'full width per step')


def choose_class_weights(frequency: list[float],
                         class_names: list[str]) -> tuple[Optional[list[float]], str]:
    """sqrt(median / frequency) weights, capped to [1/10, 10], when classes are imbalanced > 10x."""
    present = [f for f in frequency if f > 0]
    ratio = max(present) / min(present)
    if ratio <= IMBALANCE_FOR_WEIGHTS:
        return None, (f'class frequencies differ at most {ratio:.1f}x (<= {IMBALANCE_FOR_WEIGHTS:g}x): '
                      'plain cross-entropy')
    median = float(np.median(present))
    weights = [round(min(WEIGHT_CAP, max(1 / WEIGHT_CAP, math.sqrt(median / f))) if f > 0 else WEIGHT_CAP, 3)
               for f in frequency]
    rare = class_names[int(np.argmax(weights))]
    return weights, (f'class frequencies differ {ratio:.0f}x: cross-entropy weights '
                     f'sqrt(median / frequency), capped at {WEIGHT_CAP:g} (largest: {rare})')


def choose_test_scales(scale: float) -> tuple[list[float], str]:
    """Candidate test-time scales, to be chosen on the validation split."""
    scales = [round(scale * f, 3) for f in (1.0, 1.25, 1.5)]
    return scales, ('whole-image inference at the training scale or finer; chosen on val '
                    '(on MNI152, 1.5x the training scale scored best)')
