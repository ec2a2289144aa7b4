"""Checkpoints: safe loading, atomic writes, integrity, compatibility, the ``last_checkpoint`` pointer."""
from .atomic_write import AtomicLocalBackend, atomic_write_bytes, remove_stale_temporary_files
from .compatibility import CheckpointMismatchError, check_checkpoint_fits, drop_mismatched_classifiers
from .install import install
from .integrity import checkpoint_problem, list_step_checkpoints, newest_intact_checkpoint
from .last_checkpoint import LAST_CHECKPOINT_FILE, read_last_checkpoint, require_last_checkpoint
from .safe_loading import CheckpointLoadError, safe_torch_load

__all__ = [
    'AtomicLocalBackend', 'CheckpointLoadError', 'CheckpointMismatchError', 'LAST_CHECKPOINT_FILE',
    'atomic_write_bytes', 'check_checkpoint_fits', 'checkpoint_problem', 'drop_mismatched_classifiers',
    'install', 'list_step_checkpoints', 'newest_intact_checkpoint', 'read_last_checkpoint',
    'remove_stale_temporary_files', 'require_last_checkpoint', 'safe_torch_load'
]
