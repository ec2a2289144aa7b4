"""tile_images: one large plain image cut into tiles, split in runs of tile lines with a gap."""

import json

import numpy as np
import pytest
import tifffile

from psp_plugin.data import import_dataset

from .test_import_errors import refused


def _slide(root, height=200, width=180, seed=0):
    """A 2-channel 16-bit image with round nuclei and its instance-id mask (ids 1..N)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:height, :width]
    ids = np.zeros((height, width), np.uint16)
    for index, (cy, cx) in enumerate(zip(range(6, height, 14), rng.integers(5, width - 5, 200)), 1):
        for dx in (0, width // 2):
            ids[np.hypot(yy - cy, xx - (cx + dx) % width) < 5] = index
    image = rng.integers(100, 400, (height, width, 2)).astype(np.uint16)
    image[ids > 0] += np.array([3000, 1500], np.uint16)
    (root / 'images').mkdir(parents=True)
    (root / 'masks').mkdir()
    tifffile.imwrite(root / 'images' / 'slide.tif', image, photometric='minisblack', planarconfig='contig')
    tifffile.imwrite(root / 'masks' / 'slide.tif', ids)
    return image, ids


def test_one_large_image_is_tiled_and_split_in_runs_of_tile_rows(tmp_path):
    image, ids = _slide(tmp_path / 'slide')
    prepared = import_dataset(
        tmp_path / 'slide', tmp_path / 'out', tile_images=True, tile_size=32, instances_as='foreground'
    )
    assert prepared.kind == 'images' and prepared.channels == 2 and prepared.classes == ['class_0', 'class_1']
    assert any('tiles of 32x32 pixels (tile_images' in n for n in prepared.notes)
    excluded = json.loads((prepared.root / 'splits.json').read_text())['excluded']
    assert len(sum(prepared.splits.values(), [])) + len(excluded) == 7 * 6  # 7 tile rows, 6 columns
    tile = tifffile.imread(prepared.image_path('train', prepared.splits['train'][0]))
    row, col = (int(part[1:]) for part in prepared.splits['train'][0].split('_')[1:])
    top, left = min(32 * row, 168), min(32 * col, 148)
    assert tile.dtype == np.uint16 and np.array_equal(tile, image[top : top + 32, left : left + 32])
    rows = {s: {int(n.split('_r')[1][:3]) for n in ns} for s, ns in prepared.splits.items()}
    assert all(rows.values()) and not (rows['train'] & (rows['val'] | rows['test']))
    for row in rows['train']:  # a tile row of gap between train and the held-out rows
        assert not ({row - 1, row + 1} & (rows['val'] | rows['test']))
    assert not ({r + d for r in rows['val'] for d in (-1, 1)} & rows['test'])
    fingerprint = json.loads((prepared.root / 'fingerprint.json').read_text())
    for split in ('val', 'test'):  # nuclei in both held-out splits
        assert fingerprint[split]['class_pixels']['class_1'] > 0


def test_tiling_is_refused_for_volumes(tmp_path):
    nibabel = pytest.importorskip('nibabel')
    for folder in ('images', 'labels'):
        (tmp_path / 'v' / folder).mkdir(parents=True)
        volume = np.zeros((8, 8, 8), np.uint8 if folder == 'labels' else np.float32)
        volume[2:5, 2:5, :] = 1
        nibabel.save(nibabel.Nifti1Image(volume, np.eye(4)), tmp_path / 'v' / folder / 'a.nii.gz')
    refused(tmp_path / 'v', tmp_path / 'out', r'tile_images: .* holds volumes', tile_images=True)
