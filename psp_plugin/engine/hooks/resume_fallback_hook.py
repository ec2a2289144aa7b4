"""Make ``--resume`` pick an intact checkpoint, or fail naming the broken one.

With ``--resume`` (``resume=True`` and no ``load_from``) MMEngine 0.10.7 reads
the path in ``<work_dir>/last_checkpoint`` and resumes from it. If that file is
truncated, corrupt, missing (``max_keep_ckpts`` deletes the oldest checkpoint
*before* writing the new one) or the pointer itself is empty, the resumed run
crashes or silently starts from scratch.

:class:`ResumeFallbackHook` checks the checkpoint in ``before_run``, before
MMEngine loads it:

* auto-resume: if the pointed-to checkpoint cannot be resumed from, it warns,
  names the file and why, and points ``last_checkpoint`` at the newest intact
  ``iter_N.pth`` / ``epoch_N.pth`` of the same directory;
* an explicit ``resume=True, load_from=PATH``: a broken ``PATH`` is an error
  that names the file and suggests the newest intact checkpoint beside it.

It also deletes the temporary files that interrupted atomic saves left.
"""
from __future__ import annotations

import logging
import os.path as osp

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS

from ..checkpoint.atomic_write import atomic_write_bytes, remove_stale_temporary_files
from ..checkpoint.integrity import checkpoint_problem, newest_intact_checkpoint
from ..checkpoint.last_checkpoint import LAST_CHECKPOINT_FILE, read_last_checkpoint
from ..checkpoint.safe_loading import CheckpointLoadError

__all__ = ['ResumeFallbackHook']

@HOOKS.register_module()
class ResumeFallbackHook(Hook):
    """Validate the checkpoint ``--resume`` will use; fall back if it is broken.

    Register it in ``custom_hooks`` (``configs/_base_/psp_runtime.py`` does).
    It does nothing unless the runner resumes.
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        """Check (and if needed repair) what the runner is about to resume from."""
        if not getattr(runner, '_resume', False):
            return
        work_dir = runner.work_dir
        for path in remove_stale_temporary_files(work_dir):
            print_log(f'Removed {path}, left by an interrupted checkpoint save.',
                      logger='current', level=logging.WARNING)
        load_from = getattr(runner, '_load_from', None)
        if load_from is not None:
            self._check_explicit(load_from)
        else:
            self._check_latest(work_dir)

    @staticmethod
    def _check_explicit(path: str) -> None:
        """Raise if the checkpoint named by ``load_from`` cannot be resumed from."""
        if '://' in path:
            return
        problem = checkpoint_problem(path)
        if problem is None:
            return
        alternative, _ = newest_intact_checkpoint(osp.dirname(osp.abspath(path)), skip=(path,))
        advice = (f'resume from the newest intact checkpoint beside it, {alternative}, instead'
                  if alternative else 'resume from another checkpoint or train from scratch')
        raise CheckpointLoadError(f'Cannot resume from {path}: {problem} Fix: {advice}.')

    @staticmethod
    def _check_latest(work_dir: str) -> None:
        """Re-point ``last_checkpoint`` to an intact checkpoint when needed."""
        target = read_last_checkpoint(work_dir)
        if target is None:
            directory, problem = work_dir, f'{osp.join(work_dir, LAST_CHECKPOINT_FILE)} is missing'
        elif target == '':
            directory, problem = work_dir, f'{osp.join(work_dir, LAST_CHECKPOINT_FILE)} is empty'
        else:
            problem = checkpoint_problem(target)
            if problem is None:
                return
            directory = osp.dirname(target) or work_dir
        fallback, rejected = newest_intact_checkpoint(directory, skip=(target,) if target else ())
        if fallback is None:
            if target is None and not rejected:
                return
            details = ' '.join([problem] + rejected)
            raise CheckpointLoadError(
                f'--resume found no intact checkpoint in {directory}: {details} Fix: copy an '
                'intact checkpoint there and write its path into '
                f'{osp.join(work_dir, LAST_CHECKPOINT_FILE)}, or train without --resume.')
        print_log(f'--resume: {problem} Falling back to the newest intact checkpoint, '
                  f'{fallback}; {LAST_CHECKPOINT_FILE} now points to it.',
                  logger='current', level=logging.WARNING)
        atomic_write_bytes(fallback.encode('utf-8'), osp.join(work_dir, LAST_CHECKPOINT_FILE))
