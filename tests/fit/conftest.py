"""A tiny prepared dataset written by hand per /work/plan's PREPARED_DATASET contract.

3 classes on 2-channel uint16 images (48 x 48): background, a disc (class 1, bright in channel 0)
and a ring around it 10 px wide (class 2, bright in channel 1), plus a few ignored pixels; 8 train,
3 val and 3 test images. Learnable in a few iterations, and its sizes make the planner choose a
non-trivial input scale.
"""
import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

CLASSES = ['background', 'disc', 'ring']
PALETTE = [[0, 0, 0], [230, 159, 0], [86, 180, 233]]
SIZE = 48


def scene(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(48, 48, 2) uint16 image and (48, 48) uint8 mask of one scene."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    cy, cx = rng.integers(21, SIZE - 20, size=2)
    radius = rng.integers(9, 12)
    distance = np.hypot(yy - cy, xx - cx)
    mask = np.zeros((SIZE, SIZE), dtype=np.uint8)
    mask[distance < radius + 10] = 2
    mask[distance < radius] = 1
    image = rng.normal(1000, 150, size=(SIZE, SIZE, 2))
    image[..., 0] += 2500 * (mask == 1)
    image[..., 1] += 2500 * (mask == 2)
    mask[:2, :2] = 255  # ignored corner
    return np.clip(image, 0, 65535).astype(np.uint16), mask


def write_prepared(root: Path, counts=(('train', 8), ('val', 3), ('test', 3))) -> Path:
    """Write the prepared folder (images, masks, dataset.json, splits.json, fingerprint.json)."""
    splits = {}
    seed = 0
    for split, count in counts:
        (root / 'images' / split).mkdir(parents=True)
        (root / 'masks' / split).mkdir(parents=True)
        splits[split] = []
        for _ in range(count):
            image, mask = scene(seed)
            name = f'scene_{seed:02d}'
            tifffile.imwrite(root / 'images' / split / f'{name}.tif', image, planarconfig='contig',
                             photometric='minisblack')
            Image.fromarray(mask).save(root / 'masks' / split / f'{name}.png')
            splits[split].append(name)
            seed += 1
    train = np.stack([tifffile.imread(root / 'images' / 'train' / f'{n}.tif')
                      for n in splits['train']]).reshape(-1, 2).astype(np.float64)
    low, high = np.percentile(train, 0.5, axis=0), np.percentile(train, 99.5, axis=0)
    clipped = np.clip(train, low, high)
    normalization = dict(type='clip_zscore', low=low.tolist(), high=high.tolist(),
                         mean=clipped.mean(0).tolist(), std=clipped.std(0).tolist())
    (root / 'dataset.json').write_text(json.dumps(dict(
        classes=CLASSES, palette=PALETTE, ignore_index=255, channels=2, kind='images',
        label_mapping={'0': 0, '1': 1, '2': 2}, normalization=normalization, axis=None, spacing=None,
        source=str(root), notes=['written by tests/fit/conftest.py'])))
    (root / 'splits.json').write_text(json.dumps(dict(seed=0, groups={}, **splits)))
    (root / 'fingerprint.json').write_text(json.dumps({'train': {'num_images': len(splits['train'])}}))
    return root


@pytest.fixture(scope='session')
def prepared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny prepared dataset, written once per session."""
    return write_prepared(tmp_path_factory.mktemp('prepared'))
