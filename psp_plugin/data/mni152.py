"""MNI152TissueDataset: brain-MRI slices labelled background / GM / WM.

The data is written by :func:`psp_plugin.data.mni152_prepare.
prepare_mni152` (or ``psp-plugin prepare-mni152``) from the
MNI ICBM152 template that ships inside ``nilearn``.
"""
import json
import os.path as osp
from typing import List

import numpy as np
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS
from PIL import Image

from .mni152_prepare import NUM_CLASSES, SPLITS, SUMMARY_FILE

PREPARE_HINT = ('prepare it with `psp-plugin prepare-mni152 '
                '--out-dir {root}` (the main job, `psp-plugin main-job`, '
                'does this itself)')


def check_mni152_root(data_root: str) -> dict:
    """Check that a prepared MNI152 dataset is complete; return its summary.

    Args:
        data_root (str): the folder ``prepare_mni152`` wrote.

    Returns:
        dict: the content of ``prepare_summary.json``.

    Raises:
        FileNotFoundError: the summary or any listed image/label is missing.
        ValueError: a split lists no slices.
    """
    hint = PREPARE_HINT.format(root=data_root)
    summary_path = osp.join(data_root, SUMMARY_FILE)
    if not osp.isfile(summary_path):
        raise FileNotFoundError(
            f'{summary_path} does not exist, so {data_root} is not a '
            f'(complete) MNI152 dataset; {hint}.')
    with open(summary_path) as f:
        summary = json.load(f)
    for split in SPLITS:
        names = summary.get('files', {}).get(split, [])
        if not names:
            raise ValueError(
                f'{summary_path} lists no {split} slices; {hint}.')
        for sub in ('img_dir', 'ann_dir'):
            folder = osp.join(data_root, sub, split)
            missing = [
                n for n in names
                if not osp.isfile(osp.join(folder, f'{n}.png'))
            ]
            if missing:
                raise FileNotFoundError(
                    f'{len(missing)} of {len(names)} {split} files are '
                    f'missing from {folder} (first: '
                    f'{missing[0]}.png); the dataset is incomplete, {hint}.')
    return summary


@DATASETS.register_module()
class MNI152TissueDataset(BaseSegDataset):
    """Brain tissue slices of the MNI ICBM152 2009 template (nilearn).

    Classes: 0 ``background`` (incl. CSF), 1 ``grey_matter``,
    2 ``white_matter``. Images and labels are ``<axis>_<index>.png`` in
    ``img_dir/<split>`` and ``ann_dir/<split>``; labels are used as they are
    (``reduce_zero_label=False``).

    Args:
        check_labels (bool): read every label map once at start and raise if
            a value is outside ``0..2`` (and not ``ignore_index``), instead of
            training on it silently. Default: True.
        **kwargs: passed on to :class:`mmseg.datasets.BaseSegDataset`, e.g.
            ``data_root``, ``data_prefix``, ``pipeline``.

    Example:
        >>> from psp_plugin.data.mni152 import MNI152TissueDataset
        >>> dataset = MNI152TissueDataset(
        ...     data_root='data/mni152',
        ...     data_prefix=dict(img_path='img_dir/val',
        ...                      seg_map_path='ann_dir/val'))
        >>> len(dataset), dataset.metainfo['classes']  # doctest: +SKIP
        (81, ('background', 'grey_matter', 'white_matter'))
    """
    METAINFO = dict(
        classes=('background', 'grey_matter', 'white_matter'),
        palette=[[0, 0, 0], [230, 159, 0], [86, 180, 233]])

    def __init__(self, *, check_labels: bool = True, img_suffix: str = '.png',
                 seg_map_suffix: str = '.png', reduce_zero_label: bool = False,
                 **kwargs) -> None:
        self.check_labels = check_labels
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, **kwargs)

    def load_data_list(self) -> List[dict]:
        """List the slices; raise clear errors for missing/empty/bad data."""
        img_dir = self.data_prefix.get('img_path', '')
        ann_dir = self.data_prefix.get('seg_map_path', '')
        hint = PREPARE_HINT.format(root=self.data_root or '<data_root>')
        for kind, folder in (('image', img_dir), ('label', ann_dir)):
            if not osp.isdir(folder):
                raise FileNotFoundError(
                    f'MNI152 {kind} folder {folder} does not exist; {hint}.')
        data_list = super().load_data_list()
        if not data_list:
            raise ValueError(
                f'The MNI152 dataset in {img_dir} is empty (no '
                f'*{self.img_suffix} images); {hint}.')
        missing = [d['seg_map_path'] for d in data_list
                   if not osp.isfile(d['seg_map_path'])]
        if missing:
            raise FileNotFoundError(
                f'{len(missing)} label maps are missing (first: '
                f'{missing[0]}); the dataset is incomplete, {hint}.')
        if self.check_labels:
            for info in data_list:
                self._check_label_values(info['seg_map_path'])
        return data_list

    def _check_label_values(self, path: str) -> None:
        values = np.unique(np.asarray(Image.open(path)))
        bad = [int(v) for v in values
               if v >= NUM_CLASSES and v != self.ignore_index]
        if bad:
            raise ValueError(
                f'{path} holds label values {bad}, but MNI152TissueDataset '
                f'has {NUM_CLASSES} classes (0 background, 1 grey_matter, 2 '
                f'white_matter; {self.ignore_index} = ignore). Re-create the '
                'labels with `psp-plugin prepare-mni152`, or '
                'set check_labels=False if the extra values are intended.')
