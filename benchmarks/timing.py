"""Interleaved timing: every variant runs once per round, so load spikes hit all alike."""
import statistics
import time
from typing import Callable, Dict, List

import torch

Step = Callable[[], object]


def _synchronized(step: Step, device: str) -> float:
    start = time.perf_counter()
    step()
    if device == 'cuda':
        torch.cuda.synchronize()
    return time.perf_counter() - start


def interleaved_seconds(steps: Dict[str, Step], *, repeats: int,
                        device: str = 'cpu') -> Dict[str, List[float]]:
    """Run each step once as warm-up, then ``repeats`` rounds of all steps in turn.

    Args:
        steps (dict[str, Callable]): Name -> zero-argument callable to time.
        repeats (int): Timed rounds.
        device (str): 'cuda' synchronizes after each call.

    Returns:
        dict[str, list[float]]: Seconds of every timed call, per name.
    """
    for step in steps.values():
        _synchronized(step, device)
    seconds: Dict[str, List[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            seconds[name].append(_synchronized(step, device))
    return seconds


def summarize(samples: List[float]) -> Dict[str, float]:
    """Median and spread (min, max, relative half-range) of timing samples in seconds."""
    median = statistics.median(samples)
    return dict(median_s=median, min_s=min(samples), max_s=max(samples),
                spread=(max(samples) - min(samples)) / 2 / median, runs=len(samples))
