"""Save the random-number generators in checkpoints, so that resume is exact.

MMEngine 0.10.7 checkpoints hold the weights, optimizer, schedulers, message
hub and the seed, but not the state of the random generators. A resumed run
re-seeds, advances the dataloader by the iterations already done (running the
augmentation pipeline on each skipped batch) and then continues. Its dropout
masks and augmentations therefore differ from those of the run it continues.

:class:`RandomStateHook` closes that gap:

* ``before_save_checkpoint``: stores Python's, NumPy's and torch's (CPU and
  CUDA) generator states under ``checkpoint['random_states']``, as plain
  tensors, ints and tuples that ``torch.load(weights_only=True)`` accepts;
* ``after_load_checkpoint`` + ``before_train``: restores them exactly where the
  uninterrupted run stood, i.e. for an iteration-based loop after MMEngine has
  skipped the already-trained batches and before the next batch is drawn;
* ``before_val`` / ``after_val``: validation no longer consumes the training
  generators, so the training stream does not depend on when validation runs
  (and a checkpoint saved just before validation resumes exactly).
"""
from __future__ import annotations

import logging
import random
from typing import Any, Callable, Iterator, Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop
from mmseg.registry import HOOKS

__all__ = ['RandomStateHook', 'capture_random_states', 'restore_random_states']

RANDOM_STATES_KEY = 'random_states'


def capture_random_states() -> dict:
    """Return the states of Python's, NumPy's and torch's global generators.

    Returns:
        dict: ``python`` (tuple), ``numpy`` (dict with a uint32 key tensor),
        ``torch`` (uint8 tensor) and, with CUDA, ``cuda`` (list of tensors).
    """
    bit_generator, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    states = {
        'python': random.getstate(),
        'numpy': {
            'bit_generator': bit_generator,
            'keys': torch.from_numpy(keys.astype(np.int64)),
            'position': int(position),
            'has_gauss': int(has_gauss),
            'cached_gaussian': float(cached_gaussian),
        },
        'torch': torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def restore_random_states(states: dict) -> None:
    """Set the global generators to ``states`` from :func:`capture_random_states`."""
    version, internal, gauss_next = states['python']
    random.setstate((version, tuple(internal), gauss_next))
    numpy_state = states['numpy']
    np.random.set_state((numpy_state['bit_generator'],
                         numpy_state['keys'].numpy().astype(np.uint32),
                         numpy_state['position'], numpy_state['has_gauss'],
                         numpy_state['cached_gaussian']))
    torch.set_rng_state(states['torch'])
    if 'cuda' in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states['cuda'])


class _RestoreAfterSkipping:
    """Dataloader iterator wrapper that runs ``on_skipped`` after ``skip`` batches.

    MMEngine's ``IterBasedTrainLoop.run`` skips ``iter`` batches right after
    ``before_train_epoch`` with no hook in between; wrapping its iterator is
    the only way to act between the skip and the first new batch.
    """

    def __init__(self, iterator: Iterator, *, skip: int, on_skipped: Callable[[], None]) -> None:
        self._iterator = iterator
        self._remaining = skip
        self._on_skipped = on_skipped

    def __iter__(self) -> '_RestoreAfterSkipping':
        return self

    def __next__(self) -> Any:
        batch = next(self._iterator)
        self._remaining -= 1
        if self._remaining == 0:
            self._on_skipped()
        return batch


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Checkpoint and restore the global random generators (exact resume).

    With ``randomness=dict(seed=..., deterministic=True)`` and the same
    hardware, a run interrupted after a checkpoint and continued with
    ``--resume`` ends with bit-identical weights to an uninterrupted run.
    Checkpoints without random states (older ones) resume as in plain MMEngine,
    with a warning.

    Rank 0 saves the checkpoint, so in distributed training the other ranks
    resume with rank 0's generator states.
    """

    priority = 'NORMAL'

    def __init__(self) -> None:
        self._pending_states: Optional[dict] = None
        self._validation_states: Optional[dict] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store the generator states in the checkpoint being saved.

        During validation (``save_best``) the states from before validation
        are stored, which is where training continues from.
        """
        states = self._validation_states or capture_random_states()
        checkpoint[RANDOM_STATES_KEY] = states

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep the saved generator states until training continues."""
        self._pending_states = checkpoint.get(RANDOM_STATES_KEY)

    def before_train(self, runner) -> None:
        """Arrange for the saved states to be restored before the next batch."""
        states, self._pending_states = self._pending_states, None
        if runner.iter == 0 and runner.epoch == 0:
            return
        if states is None:
            print_log('The resumed checkpoint holds no random-generator states, so the '
                      'continued run draws different augmentations and dropout masks than '
                      'an uninterrupted one would. Checkpoints saved from now on hold them.',
                      logger='current', level=logging.WARNING)
            return
        loop = runner.train_loop
        if isinstance(loop, IterBasedTrainLoop) and loop.iter > 0:
            loop.dataloader_iterator = _RestoreAfterSkipping(
                loop.dataloader_iterator, skip=loop.iter,
                on_skipped=lambda: self._finish_restore(loop, states))
        else:
            restore_random_states(states)

    @staticmethod
    def _finish_restore(loop: IterBasedTrainLoop, states: dict) -> None:
        """Restore ``states`` and unwrap the loop's dataloader iterator."""
        restore_random_states(states)
        loop.dataloader_iterator = loop.dataloader_iterator._iterator

    def before_val(self, runner) -> None:
        """Remember the training stream's states before validation draws any."""
        self._validation_states = capture_random_states()

    def after_val(self, runner) -> None:
        """Give the training stream its states back after validation."""
        if self._validation_states is not None:
            restore_random_states(self._validation_states)
            self._validation_states = None
