"""The one reader of MMEngine's ``<work_dir>/last_checkpoint`` pointer file."""
from __future__ import annotations

import os.path as osp

__all__ = ['LAST_CHECKPOINT_FILE', 'read_last_checkpoint', 'require_last_checkpoint']

LAST_CHECKPOINT_FILE = 'last_checkpoint'


def read_last_checkpoint(work_dir: str) -> str | None:
    """Return the path that ``work_dir/last_checkpoint`` names.

    Args:
        work_dir (str): An MMEngine work dir.

    Returns:
        str | None: The stripped content ('' if the file is empty), or None if there is no such file.
    """
    pointer = osp.join(work_dir, LAST_CHECKPOINT_FILE)
    if not osp.isfile(pointer):
        return None
    with open(pointer, encoding='utf-8') as handle:
        return handle.read().strip()


def require_last_checkpoint(work_dir: str) -> str:
    """Return the existing checkpoint that ``work_dir/last_checkpoint`` names.

    Raises:
        FileNotFoundError: When the pointer is absent or empty, or names a missing file; the
            message says to train first.
    """
    checkpoint = read_last_checkpoint(work_dir)
    pointer = osp.join(work_dir, LAST_CHECKPOINT_FILE)
    if not checkpoint:
        raise FileNotFoundError(
            f'No checkpoint named in {pointer}: nothing was trained into {work_dir}. Train first '
            '(without --skip-train), or pass the work dir that holds the trained model.')
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'{pointer} names {checkpoint}, which does not exist; train again '
                                '(without --skip-train).')
    return checkpoint
