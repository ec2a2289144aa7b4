"""Measure, on this machine, what a planned model costs: a training step (fp32 and bf16) and inference.

The planner turns a wall-time budget into iterations with these numbers, and picks bf16 autocast
only where it measures faster *and* its losses track fp32's: both precisions train a copy of the
same initial model on the same batch and the relative loss difference is checked at every step.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

__all__ = ['StepTimes', 'bf16_supported', 'measure_inference_seconds', 'measure_step_times']

LOSS_TOLERANCE = 0.05  # bf16 losses within 5 % of fp32's at every measured step


@dataclass
class StepTimes:
    """Measured seconds per training step and the bf16 loss check.

    Attributes:
        fp32_s: Median seconds of an fp32 training step.
        bf16_s: Median seconds of a bf16-autocast step (None when not measured).
        bf16_loss_gap: Largest relative difference of bf16 and fp32 losses over the steps.
        threads: The CPU thread count that gave ``fp32_s`` (the fastest one tried).
        seconds_by_threads: {threads: median fp32 seconds, inf when abandoned as too slow}.
    """

    fp32_s: float
    threads: int = 1
    bf16_s: Optional[float] = None
    bf16_loss_gap: Optional[float] = None
    seconds_by_threads: dict = field(default_factory=dict)


def bf16_supported(device: str) -> bool:
    """Whether bf16 autocast can be measured here: a CUDA GPU with bf16, or a CPU with AVX512-BF16/AMX."""
    if device.startswith('cuda'):
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    try:
        with open('/proc/cpuinfo') as f:
            flags = f.read()
    except OSError:
        return False
    return 'avx512_bf16' in flags or 'amx_bf16' in flags


def _sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def _batch(channels: int, num_classes: int, crop: tuple[int, int], batch_size: int,
           device: str) -> tuple[torch.Tensor, list]:
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(batch_size, channels, *crop, generator=generator).to(device)
    samples = []
    for _ in range(batch_size):
        labels = torch.randint(0, num_classes, (1, *crop), generator=generator).to(device)
        samples.append(SegDataSample(gt_sem_seg=PixelData(data=labels),
                                     metainfo=dict(img_shape=crop, pad_shape=crop, ori_shape=crop)))
    return inputs, samples


def _train_steps(model: torch.nn.Module, inputs: torch.Tensor, samples: list, steps: int,
                 bf16: bool, device: str, give_up_s: float = float('inf')) -> tuple[list[float], list[float]]:
    """Run ``steps`` AdamW steps; return (seconds, losses) per step, fewer if one exceeds ``give_up_s``."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    seconds, losses = [], []
    for _ in range(steps):
        _sync(device)
        start = time.perf_counter()
        with torch.autocast(device.split(':')[0], dtype=torch.bfloat16, enabled=bf16):
            loss, _ = model.parse_losses(model.loss(inputs, samples))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        _sync(device)
        seconds.append(time.perf_counter() - start)
        losses.append(loss.item())
        if seconds[-1] > give_up_s:
            break
    return seconds, losses


def measure_step_times(model_cfg: dict, *, channels: int, num_classes: int, crop: tuple[int, int],
                       batch_size: int, device: str = 'cpu', steps: int = 3, try_bf16: bool = True,
                       threads: Optional[list[int]] = None) -> StepTimes:
    """Time training steps of ``model_cfg`` on a (batch_size, channels, *crop) batch.

    Args:
        model_cfg (dict): The ``model`` entry of an MMSeg config.
        channels (int): C of the input.
        num_classes (int): K, for the random labels.
        crop (tuple[int, int]): (h, w) of the training crops.
        batch_size (int): Images per step.
        device (str): ``'cpu'`` or ``'cuda'``. Default: ``'cpu'``.
        steps (int): Steps per setting; the first is a warm-up and not timed. Default: 3.
        try_bf16 (bool): Also measure bf16 autocast where :func:`bf16_supported`. Default: True.
        threads (list[int], optional): CPU thread counts to try (fp32; the fastest is kept and
            used for bf16). A setting is abandoned once a step takes 1.5x the best median so far.
            Default: the current count only.

    Returns:
        StepTimes: Median seconds per step, the thread count, the bf16 loss gap.
    """
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(model_cfg)).to(device)
    start_state = copy.deepcopy(model.state_dict())
    inputs, samples = _batch(channels, num_classes, crop, batch_size, device)
    by_threads: dict = {}
    fp32_losses: list[float] = []
    for count in (threads or [torch.get_num_threads()]) if device == 'cpu' else [torch.get_num_threads()]:
        torch.set_num_threads(count)
        model.load_state_dict(start_state)
        best = min(by_threads.values(), default=float('inf'))
        seconds, losses = _train_steps(model, inputs, samples, steps, False, device, give_up_s=1.5 * best)
        by_threads[count] = float(np.median(seconds[1:])) if len(seconds) == steps else float('inf')
        if by_threads[count] <= best:
            fp32_losses = losses
    fastest = min(by_threads, key=by_threads.get)
    torch.set_num_threads(fastest)
    result = StepTimes(fp32_s=by_threads[fastest], threads=fastest, seconds_by_threads=by_threads)
    if try_bf16 and bf16_supported(device):
        model.load_state_dict(start_state)
        bf16_seconds, bf16_losses = _train_steps(model, inputs, samples, steps, True, device,
                                                 give_up_s=3 * result.fp32_s)
        if len(bf16_seconds) == steps:
            result.bf16_s = float(np.median(bf16_seconds[1:]))
            result.bf16_loss_gap = max(abs(b - f) / max(abs(f), 1e-6)
                                       for b, f in zip(bf16_losses, fp32_losses))
        else:
            result.bf16_s, result.bf16_loss_gap = float('inf'), 0.0
    return result


@torch.no_grad()
def measure_inference_seconds(model_cfg: dict, *, channels: int, image_hw: tuple[int, int],
                              device: str = 'cpu', repeats: int = 2) -> float:
    """Median seconds of a whole-image fp32 forward pass of one (1, channels, *image_hw) image."""
    init_default_scope('mmseg')
    model = MODELS.build(copy.deepcopy(model_cfg)).to(device).eval()
    inputs = torch.randn(1, channels, *image_hw, device=device)
    meta = [dict(img_shape=image_hw, pad_shape=image_hw, ori_shape=image_hw)]
    seconds = []
    for _ in range(repeats + 1):
        _sync(device)
        start = time.perf_counter()
        model.encode_decode(inputs, meta)
        _sync(device)
        seconds.append(time.perf_counter() - start)
    return float(np.median(seconds[1:]))
