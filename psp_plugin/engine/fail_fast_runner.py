"""A Runner that checks dataset folders before building the dataloaders.

MMEngine builds a dataset inside ``Runner.train()`` before any hook runs, so a
missing ``data_root`` surfaces as a bare ``FileNotFoundError`` from
``os.scandir`` and an empty image folder as ``ValueError: need at least one
array to concatenate`` from MMEngine's serialisation. :class:`FailFastRunner`
(selected by ``runner_type = 'FailFastRunner'``, which
``configs/_base_/psp_runtime.py`` sets) checks the folders named in the
dataset config first and raises :class:`~.dataset_checks.DatasetCheckError`
naming the folder and the fix. It also registers the plugin's reliability
hooks (:data:`PSP_DEFAULT_HOOKS`) as default hooks, the way MMEngine's
``Runner`` registers its own six: a config overrides one by name
(``default_hooks=dict(checkpoint_compat=dict(type='CheckpointCompatibilityHook',
allow_new_classifier=True))``) or switches it off with ``None``. They live here
rather than in a ``_base_`` file because MMEngine refuses sibling ``_base_``
files that both define ``default_hooks``, and MMSeg's schedules define it.
A ``CheckpointHook`` default hook is run as
:class:`~.rotate_after_save_hook.RotateAfterSaveCheckpointHook`, which removes
old checkpoints only after the new one is written. Everything else is
MMEngine's ``Runner``.
"""
from __future__ import annotations

import os
import os.path as osp
from typing import Optional, Union

from mmengine.hooks import CheckpointHook
from mmengine.runner import Runner
from torch.utils.data import DataLoader

from mmseg.registry import RUNNERS
from .dataset_checks import DatasetCheckError, check_not_empty

__all__ = ['FailFastRunner', 'PSP_DEFAULT_HOOKS', 'check_dataset_folders']


def _leaf_configs(dataset_cfg: dict) -> list[dict]:
    """Unwrap dataset-wrapper configs (``datasets=[...]`` / ``dataset=...``)."""
    if 'datasets' in dataset_cfg:
        return [leaf for inner in dataset_cfg['datasets'] for leaf in _leaf_configs(inner)]
    if isinstance(dataset_cfg.get('dataset'), dict):
        return _leaf_configs(dataset_cfg['dataset'])
    return [dataset_cfg]


def _has_files(directory: str) -> bool:
    """True if ``directory`` holds at least one file, at any depth."""
    return any(names for _, _, names in os.walk(directory))


def check_dataset_folders(dataset_cfg: dict) -> None:
    """Raise if ``data_root`` or the image folder is missing or holds no files.

    Args:
        dataset_cfg (dict): A ``*_dataloader.dataset`` config (wrappers allowed).
    """
    for leaf in _leaf_configs(dataset_cfg):
        data_root = leaf.get('data_root') or ''
        dataset_type = leaf.get('type', 'the dataset')
        if data_root and not osp.isdir(data_root):
            raise DatasetCheckError(
                f'data_root={data_root!r} of {dataset_type} does not exist (relative paths are '
                f'relative to the current directory, {os.getcwd()}). Fix: set data_root in '
                'the config (or --cfg-options train_dataloader.dataset.data_root=...) to the '
                'folder that holds the images and labels, or prepare the dataset there.')
        image_prefix = (leaf.get('data_prefix') or {}).get('img_path')
        if image_prefix is None or '://' in str(image_prefix):
            continue
        image_dir = osp.join(data_root, image_prefix)
        if not osp.isdir(image_dir):
            raise DatasetCheckError(
                f'The image folder {image_dir!r} of {dataset_type} does not exist. Fix: check '
                'data_prefix.img_path (relative to data_root) in the dataset config.')
        if not leaf.get('ann_file') and not _has_files(image_dir):
            raise DatasetCheckError(
                f'The image folder {image_dir!r} of {dataset_type} is empty. Fix: put the images '
                'there (prepare the dataset) or point data_root / data_prefix.img_path at '
                'the folder that holds them.')


_MMENGINE_DEFAULT_HOOKS = ('runtime_info', 'timer', 'sampler_seed', 'logger', 'param_scheduler',
                           'checkpoint')

_MMENGINE_CHECKPOINT_HOOK = ('CheckpointHook', 'mmengine.CheckpointHook', CheckpointHook)

PSP_DEFAULT_HOOKS = dict(
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
