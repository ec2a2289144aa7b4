"""TorchThreadsHook: train with the number of CPU threads the planner measured to be fastest.

On a small or busy CPU, intra-op threads that wait for each other can make a step many times
slower than one thread does; the planner times both and the config keeps the winner, so
``mim train`` of the same config uses it too.
"""
from __future__ import annotations

from typing import Any

import torch
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

__all__ = ['TorchThreadsHook']


@HOOKS.register_module()
class TorchThreadsHook(Hook):
    """Call ``torch.set_num_threads(threads)`` before the run starts.

    Args:
        threads (int): Intra-op CPU threads, >= 1.
    """

    def __init__(self, threads: int) -> None:
        if threads < 1:
            raise ValueError(f'TorchThreadsHook(threads={threads}): need >= 1; set custom_hooks[...].threads '
                             'in the config.')
        self.threads = threads

    def before_run(self, runner: Any) -> None:
        """Set the thread count for training, validation and test in this process."""
        torch.set_num_threads(self.threads)
