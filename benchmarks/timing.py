"""Interleaved timing: every variant runs once per round, so load spikes hit all alike."""
import statistics
import time
from typing import Callable, Dict, Iterable, List, Optional

import torch

Step = Callable[[], object]


def _synchronized(step: Step, device: str) -> tuple:
    """(seconds, result) of one call of ``step``."""
    start = time.perf_counter()
    result = step()
    if device == 'cuda':
        torch.cuda.synchronize()
    return time.perf_counter() - start, result


def interleaved_seconds(steps: Dict[str, Step], *, repeats: int, device: str = 'cpu',
                        warm: Iterable[str] = (),
                        last_results: Optional[Dict[str, object]] = None) -> Dict[str, List[float]]:
    """Run each step once as warm-up, then ``repeats`` rounds of all steps in turn.

    The order is reversed every round (A B C, C B A, A B C, ...).

    Args:
        steps (dict[str, Callable]): Name -> zero-argument callable to time.
        repeats (int): Timed rounds.
        device (str): 'cuda' synchronizes after each call.
        warm (Iterable[str]): Names of steps the caller has already run once
            at the timed shapes; they skip the warm-up call.
        last_results (dict, optional): Filled with what each step returned in
            its last timed call (checks on the outputs then cost no extra call).

    Returns:
        dict[str, list[float]]: Seconds of every timed call, per name.
    """
    already_warm = set(warm)
    for name, step in steps.items():
        if name not in already_warm:
            _synchronized(step, device)
    seconds: Dict[str, List[float]] = {name: [] for name in steps}
    order = list(steps)
    for _ in range(repeats):
        for name in order:
            elapsed, result = _synchronized(steps[name], device)
            seconds[name].append(elapsed)
            if last_results is not None:
                last_results[name] = result
        # A-B-B-A: what runs right after another variant (allocator and cache
        # state, clock ramps) changes place every round instead of always
        # favouring the same variant.
        order.reverse()
    return seconds


def summarize(samples: List[float]) -> Dict[str, float]:
    """Median and spread (min, max, relative half-range) of timing samples in seconds."""
    median = statistics.median(samples)
    return dict(median_s=median, min_s=min(samples), max_s=max(samples),
                spread=(max(samples) - min(samples)) / 2 / median, runs=len(samples))
