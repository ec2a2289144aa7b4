"""A Runner that checks dataset folders before building the dataloaders.

MMEngine builds a dataset inside ``Runner.train()`` before any hook runs, so a
missing ``data_root`` surfaces as a bare ``FileNotFoundError`` from
``os.scandir`` and an empty image folder as ``ValueError: need at least one
array to concatenate`` from MMEngine's serialisation. :class:`FailFastRunner`
(selected by ``runner_type = 'FailFastRunner'``, which
``configs/_base_/psp_runtime.py`` sets) checks the folders named in the
dataset config first and raises :class:`~.checks.dataset.DatasetCheckError`
naming the folder and the fix. It also registers the plugin's reliability
hooks (:data:`PSP_DEFAULT_HOOKS`) as default hooks, the way MMEngine's
``Runner`` registers its own six: a config overrides one by name
(``default_hooks=dict(checkpoint_compat=dict(type='CheckpointCompatibilityHook',
allow_new_classifier=True))``) or switches it off with ``None``. They live here
rather than in a ``_base_`` file because MMEngine refuses sibling ``_base_``
files that both define ``default_hooks``, and MMSeg's schedules define it.
A ``CheckpointHook`` default hook is run as
:class:`~.hooks.RotateAfterSaveCheckpointHook`, which removes
old checkpoints only after the new one is written. Everything else is
MMEngine's ``Runner``.
"""
from __future__ import annotations

from typing import Optional, Union

from mmengine.hooks import CheckpointHook
from mmengine.runner import Runner
from mmseg.registry import RUNNERS
from torch.utils.data import DataLoader

from .checks.dataset import DatasetCheckError, check_not_empty
from .checks.dataset_folders import check_dataset_folders

__all__ = ['FailFastRunner', 'PSP_DEFAULT_HOOKS']


_MMENGINE_DEFAULT_HOOKS = ('runtime_info', 'timer', 'sampler_seed', 'logger', 'param_scheduler',
                           'checkpoint')

_MMENGINE_CHECKPOINT_HOOK = ('CheckpointHook', 'mmengine.CheckpointHook', CheckpointHook)

PSP_DEFAULT_HOOKS = dict(
    pretrained_check=dict(type='PretrainedWeightsCheckHook'),
    startup_checks=dict(type='StartupChecksHook', num_samples=32),
    checkpoint_compat=dict(type='CheckpointCompatibilityHook', allow_new_classifier=False),
    resume_fallback=dict(type='ResumeFallbackHook'),
    non_finite_loss=dict(type='NonFiniteLossHook'),
    random_state=dict(type='RandomStateHook'))


@RUNNERS.register_module()
class FailFastRunner(Runner):
    """MMEngine ``Runner`` whose dataloader building fails early and clearly.

    It also lets a config switch off any named default hook with ``None``
    (``default_hooks=dict(startup_checks=None)``); MMEngine's ``Runner``
    allows that only for its own six default hooks.
    """

    def register_default_hooks(self, hooks: Optional[dict] = None) -> None:
        """Register MMEngine's and the plugin's default hooks, minus those set to ``None``.

        MMEngine's ``CheckpointHook`` becomes :class:`~.RotateAfterSaveCheckpointHook`
        (same arguments), which deletes old checkpoints after the new one is saved.
        """
        merged = {name: dict(hook) for name, hook in PSP_DEFAULT_HOOKS.items()}
        merged['checkpoint'] = dict(type='CheckpointHook', interval=1)  # MMEngine's default
        merged.update(hooks or {})
        checkpoint = merged['checkpoint']
        if isinstance(checkpoint, dict) and checkpoint.get('type') in _MMENGINE_CHECKPOINT_HOOK:
            merged['checkpoint'] = dict(checkpoint, type='RotateAfterSaveCheckpointHook')
        hooks = {name: hook for name, hook in merged.items()
                 if hook is not None or name in _MMENGINE_DEFAULT_HOOKS}
        super().register_default_hooks(hooks)

    @staticmethod
    def build_dataloader(dataloader: Union[DataLoader, dict], seed: Optional[int] = None,
                         diff_rank_seed: bool = False) -> DataLoader:
        """Check the dataset folders, build as MMEngine does, then reject empty sets."""
        if isinstance(dataloader, dict) and isinstance(dataloader.get('dataset'), dict):
            check_dataset_folders(dataloader['dataset'])
        try:
            built = Runner.build_dataloader(dataloader, seed=seed, diff_rank_seed=diff_rank_seed)
        except ValueError as error:
            if 'need at least one array to concatenate' not in str(error):
                raise
            dataset_cfg = dataloader.get('dataset', {}) if isinstance(dataloader, dict) else {}
            raise DatasetCheckError(
                f'The dataset {dataset_cfg.get("type", "")} (data_root='
                f'{dataset_cfg.get("data_root")!r}, data_prefix='
                f'{dataset_cfg.get("data_prefix")}) found no samples. Fix: check that the '
                'images there end with img_suffix and, with ann_file, that the listed names '
                'exist.') from error
        check_not_empty(built.dataset, config_key='the *_dataloader')
        return built
