"""Tell intact checkpoints from corrupt ones and find the newest intact one.

A checkpoint is *intact* when torch can load it with ``weights_only=True``
(through :func:`psp_plugin.engine.checkpoint.safe_loading.safe_torch_load`) and it holds
what resuming needs: ``state_dict`` and ``meta`` with an ``iter``.
"""
from __future__ import annotations

import os
import os.path as osp
import re
from typing import Optional

from .safe_loading import CheckpointLoadError, safe_torch_load

__all__ = ['checkpoint_problem', 'list_step_checkpoints', 'newest_intact_checkpoint']

_STEP_CHECKPOINT = re.compile(r'^(?:iter|epoch)_(\d+)\.pth$')


def checkpoint_problem(path: str) -> Optional[str]:
    """Return why ``path`` cannot be resumed from, or None when it can.

    Args:
        path (str): A checkpoint file.

    Returns:
        str | None: A sentence naming the file and its problem, or None.
    """
    try:
        checkpoint = safe_torch_load(path, map_location='cpu')
    except (CheckpointLoadError, FileNotFoundError) as error:
        return str(error)
    if not isinstance(checkpoint, dict) or 'state_dict' not in checkpoint:
        return f'Checkpoint {path} holds no `state_dict`, so it is not an MMEngine checkpoint.'
    if 'iter' not in checkpoint.get('meta', {}):
        return (f'Checkpoint {path} has no `meta.iter`, so it is a weights-only file; use it '
                'with load_from, not --resume.')
    return None


def list_step_checkpoints(directory: str) -> list[str]:
    """Return the ``iter_N.pth`` / ``epoch_N.pth`` files in ``directory``, newest first.

    Args:
        directory (str): A work dir or checkpoint dir.

    Returns:
        list[str]: Paths sorted by N, descending; empty if the dir is missing.
    """
    if not osp.isdir(directory):
        return []
    steps = []
    for name in os.listdir(directory):
        match = _STEP_CHECKPOINT.match(name)
        if match:
            steps.append((int(match.group(1)), osp.join(directory, name)))
    return [path for _, path in sorted(steps, reverse=True)]


def newest_intact_checkpoint(directory: str, *,
                             skip: tuple[str, ...] = ()) -> tuple[Optional[str], list[str]]:
    """Find the newest step checkpoint in ``directory`` that can be resumed from.

    Args:
        directory (str): Where the ``iter_N.pth`` files are.
        skip (tuple[str, ...]): Paths already known to be broken.

    Returns:
        tuple[str | None, list[str]]: The newest intact checkpoint (None if
        there is none) and the problems of the newer ones that were rejected.
    """
    skipped = {osp.abspath(path) for path in skip}
    problems = []
    for path in list_step_checkpoints(directory):
        if osp.abspath(path) in skipped:
            continue
        problem = checkpoint_problem(path)
        if problem is None:
            return path, problems
        problems.append(problem)
    return None, problems
