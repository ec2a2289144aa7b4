"""The brain-MRI main job's data: MNI152 slices written as a plain images/ + masks/ folder for ``fit``.

Slices along all three axes of the MNI ICBM152 template inside ``nilearn`` (labels and intensity
scaling as :mod:`psp_plugin.data.mni152_template` defines them; exact mirror duplicates kept once)
are written as ``images/<split>/<axis>_<index>.png`` and ``masks/<split>/<axis>_<index>.png``.
The split is the preparation's, and the import keeps a split that the layout holds: along each
axis the kept slices form blocks of ``block_size``; in every ``cycle`` blocks one is val and one is
test, the rest train, and training slices within ``gap`` slices of a val or test slice of the same
axis are dropped, so train never neighbours val or test. (Slices of different axes still cross
along one line of voxels: one brain cut three ways.)
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image

from psp_plugin.data.mni152_template import (
    collect_slices,
    intensity_to_uint8,
    load_mni152_volumes,
    tissue_labels,
)

__all__ = ['assign_slice_blocks', 'write_mni152_source', 'SOURCE_SUMMARY']

SOURCE_SUMMARY = 'mni152_source.json'
CLASSES = ['background', 'grey_matter', 'white_matter']


def assign_slice_blocks(num_slices: int, *, block_size: int = 10, cycle: int = 8,
                        gap: int = 3) -> list[Optional[str]]:
    """The split of each of ``num_slices`` contiguous slices: 'train', 'val', 'test' or None (gap).

    Block ``b`` is val when ``b % cycle == cycle // 3``, test when ``b % cycle == cycle // 3 + cycle // 2``.
    """
    if block_size < 1 or cycle < 3 or gap < 1:
        raise ValueError(f'block_size={block_size}, cycle={cycle}, gap={gap}: need block_size >= 1, '
                         'cycle >= 3 (train, val and test blocks) and gap >= 1.')
    block = np.arange(num_slices) // block_size % cycle
    test_block = cycle // 3 + cycle // 2
    split = np.where(block == cycle // 3, 'val',
                     np.where(block == test_block, 'test', 'train')).astype(object)
    held_out = np.flatnonzero(split != 'train')
    for i in np.flatnonzero(split == 'train'):
        if held_out.size and np.abs(held_out - i).min() <= gap:
            split[i] = None
    return list(split)


def write_mni152_source(out_dir: str | Path, *, block_size: int = 10, cycle: int = 8, gap: int = 3,
                        min_tissue_pixels: int = 100) -> dict:
    """Write the folder (see the module docstring) unless a complete one is there; its summary.

    Returns:
        dict: Settings, ``counts`` per split and ``classes``; also in ``out_dir/mni152_source.json``.
    """
    out_dir = Path(out_dir)
    settings = dict(block_size=block_size, cycle=cycle, gap=gap, min_tissue_pixels=min_tissue_pixels)
    summary_path = out_dir / SOURCE_SUMMARY
    if summary_path.is_file():
        summary = json.loads(summary_path.read_text())
        if summary.get('settings') == settings and all(
                len(list((out_dir / part / split).glob('*.png'))) == count
                for split, count in summary['counts'].items() for part in ('images', 'masks')):
            return summary
    for part in ('images', 'masks'):
        shutil.rmtree(out_dir / part, ignore_errors=True)
    t1, gm, wm = load_mni152_volumes()
    kept = collect_slices(intensity_to_uint8(t1), tissue_labels(gm, wm),
                          min_tissue_pixels=min_tissue_pixels)
    counts = dict(train=0, val=0, test=0)
    for slices in kept.values():
        for item, split in zip(slices, assign_slice_blocks(len(slices), block_size=block_size,
                                                           cycle=cycle, gap=gap)):
            if split is None:
                continue
            for part, array in (('images', item['img']), ('masks', item['label'])):
                folder = out_dir / part / split
                folder.mkdir(parents=True, exist_ok=True)
                Image.fromarray(np.ascontiguousarray(array)).save(folder / f'{item["name"]}.png')
            counts[split] += 1
    (out_dir / 'classes.txt').write_text('\n'.join(CLASSES) + '\n')
    summary = dict(source='nilearn MNI ICBM152 2009 (sym) 1 mm: T1, GM and WM maps', settings=settings,
                   counts=counts, classes=CLASSES)
    summary_path.write_text(json.dumps(summary, indent=1))
    return summary
