"""Check that the folders a dataset config names exist and hold files, before MMEngine builds it.

MMEngine builds a dataset inside ``Runner.train()`` before any hook runs, so a
missing ``data_root`` surfaces as a bare ``FileNotFoundError`` from
``os.scandir`` and an empty image folder as ``ValueError: need at least one
array to concatenate``. :func:`check_dataset_folders` names the folder and the fix instead.
"""
from __future__ import annotations

import os
import os.path as osp

from .dataset import DatasetCheckError

__all__ = ['check_dataset_folders']


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
