"""The plugin's one import-time side effect on MMEngine and torch, made explicit.

:func:`install` is what ``import psp_plugin`` runs (and therefore every config's
``custom_imports=dict(imports=['psp_plugin'])``). It is idempotent and does three things:

1. on torch >= 2.6, allow-lists for ``torch.load(weights_only=True)`` exactly the globals that
   MMEngine training checkpoints contain (:func:`.safe_loading.register_safe_globals`); older
   torch is left untouched and the plugin's loader uses its restricted unpickler over the same
   allow-list (see ``docs/checkpoints.md``);
2. makes :func:`.safe_loading.load_local_checkpoint` MMEngine's loader for local paths, so
   ``load_from``, ``--resume``, ``mim test --checkpoint`` and ``init_model`` load with
   ``weights_only=True`` and explain refusals;
3. makes :class:`.atomic_write.AtomicLocalBackend` MMEngine's storage backend for local
   paths, so every checkpoint is written to a temporary file and renamed into place.
"""
from __future__ import annotations

from mmengine.runner.checkpoint import CheckpointLoader

from .atomic_write import install_atomic_local_backend
from .safe_loading import load_local_checkpoint, register_safe_globals

__all__ = ['install']


def install() -> None:
    """Install safe checkpoint loading and atomic checkpoint writing (idempotent)."""
    register_safe_globals()
    CheckpointLoader.register_scheme(prefixes='', force=True)(load_local_checkpoint)
    install_atomic_local_backend()
