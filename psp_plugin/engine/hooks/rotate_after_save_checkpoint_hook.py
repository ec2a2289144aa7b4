"""A CheckpointHook that deletes the oldest kept checkpoint only after the new one is written.

MMEngine 0.10.7's ``CheckpointHook`` with ``max_keep_ckpts=N`` removes the
oldest of the N kept checkpoints *before* it saves the next one. With ``N=1``
a run killed (or out of disk) during that save is left with no periodic
checkpoint at all, and with any N it briefly keeps only N-1.
:class:`RotateAfterSaveCheckpointHook` keeps MMEngine's behaviour in every
other respect, but holds the removals back until the new checkpoint (written
atomically by :mod:`..checkpoint.atomic_write`) is complete: N+1 files exist for the
length of one save, never fewer than N. If the save fails, nothing is removed
(the older file may then stay behind after the next rotation: disk, not data,
is what a failure costs).
The same holds for ``save_best``: MMEngine deletes the previous best
checkpoint before writing the new one; here it goes after.

:class:`~.fail_fast_runner.FailFastRunner` (the plugin configs' runner) uses it
in place of a ``type='CheckpointHook'`` default hook, so configs need not
name it; other runners can select it with
``default_hooks=dict(checkpoint=dict(type='RotateAfterSaveCheckpointHook', ...))``.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator, List, Optional, Tuple

from mmengine.hooks import CheckpointHook
from mmseg.registry import HOOKS

__all__ = ['RotateAfterSaveCheckpointHook']


@HOOKS.register_module()
class RotateAfterSaveCheckpointHook(CheckpointHook):
    """``CheckpointHook`` that removes old periodic and best checkpoints after the save succeeds.

    Takes exactly ``CheckpointHook``'s arguments.
    """

    _postponed: Optional[List[Tuple[Callable[[Any, str], None], str]]] = None

    @contextmanager
    def _removals_postponed(self) -> Iterator[None]:
        """Record the backend's ``remove``/``rmtree`` calls; run them if the block succeeds."""
        if self._postponed is not None:  # nested (a best save re-saves the periodic one)
            yield
            return
        backend = self.file_backend
        self._postponed = []
        # MMEngine removes files (or DeepSpeed checkpoint folders) through the
        # backend; instance attributes shadow the class's methods meanwhile.
        backend.remove = lambda path: self._postponed.append((type(backend).remove, path))
        backend.rmtree = lambda path: self._postponed.append((type(backend).rmtree, path))
        try:
            yield
        finally:
            del backend.remove, backend.rmtree
            postponed, self._postponed = self._postponed, None
        # Reached only when the save returned normally. A path that was just
        # written again (a best checkpoint re-saved at the same step) stays.
        written = {self.last_ckpt, getattr(self, 'best_ckpt_path', None),
                   *getattr(self, 'best_ckpt_path_dict', {}).values()}
        for remove, path in postponed:
            if path not in written:
                remove(backend, path)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        """Save the periodic checkpoint of ``step``; then delete what rotation dropped."""
        with self._removals_postponed():
            super()._save_checkpoint_with_step(runner, step, meta)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        """Save a new best checkpoint; then delete the previous best."""
        with self._removals_postponed():
            super()._save_best_checkpoint(runner, metrics)
