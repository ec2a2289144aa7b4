"""The import's writing pass: prepared images, masks, normalisation and fingerprint.

Runs only after every check has passed. Images are stored as (H, W, C) TIFFs
with their original dtype (floats as float32); masks as uint8 PNGs of classes
0..K-1 with 255 for ignore pixels.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

from .errors import import_error
from .fingerprint import SplitFingerprint
from .label_rules import IGNORE, LabelRules
from .layouts import Layout
from .normalization import PixelSampler, compute_normalization
from .samples import SampleOptions, iter_samples
from .scanning import check_image_type, prepare_image
from .splits import SPLITS

__all__ = ['prepare_out_dir', 'publish', 'staging_dir', 'write_samples']

OUR_ENTRIES = ('images', 'masks', 'dataset.json', 'splits.json', 'fingerprint.json')


def prepare_out_dir(out_dir: Path, source: Path) -> None:
    """Check that ``out_dir`` may receive a prepared dataset (call before writing)."""
    if out_dir == source or source in out_dir.parents or out_dir in source.parents:
        raise import_error(
            out_dir,
            f'overlaps the source folder {source}',
            'choose an output folder outside the data (and not above it)',
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise import_error(out_dir, 'exists and is not a folder', 'choose another --out')
    if out_dir.is_dir():
        foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in OUR_ENTRIES)
        if foreign and not (out_dir / 'dataset.json').is_file():
            raise import_error(
                out_dir,
                f'is not empty and not a prepared dataset (holds {foreign[:5]})',
                'choose an empty or new output folder',
            )


def _write_tif(path: Path, image: np.ndarray) -> None:
    """Write (H, W, C) pixels; one channel is stored as (H, W), three as RGB, others channels-last."""
    if image.shape[2] == 1:
        tifffile.imwrite(path, image[:, :, 0], photometric='minisblack')
    else:
        tifffile.imwrite(
            path, image, planarconfig='contig', photometric='rgb' if image.shape[2] == 3 else 'minisblack'
        )


def staging_dir(out_dir: Path) -> Path:
    """The hidden sibling folder the writing pass fills before it replaces ``out_dir``'s files."""
    return out_dir.parent / f'.{out_dir.name}.importing'


def publish(staging: Path, out_dir: Path, texts: dict[str, str]) -> None:
    """Move the staged images and masks into ``out_dir`` and write its JSON files; remove ``staging``."""
    for name, text in texts.items():
        (staging / name).write_text(text, encoding='utf-8')
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ('images', 'masks'):
        if (out_dir / name).is_dir():
            shutil.rmtree(out_dir / name)
        (staging / name).rename(out_dir / name)
    for name in texts:
        os.replace(staging / name, out_dir / name)
    shutil.rmtree(staging)


def _fresh(staging: Path) -> None:
    if staging.exists():
        shutil.rmtree(staging)
    for split in SPLITS:
        (staging / 'images' / split).mkdir(parents=True, exist_ok=True)
        (staging / 'masks' / split).mkdir(parents=True, exist_ok=True)


def write_samples(
    layout: Layout,
    options: SampleOptions,
    staging: Path,
    split_of: dict[str, str],
    rules: LabelRules,
    classes: list[str],
    channels: int,
    dtype: str,
    seed: int,
) -> tuple[dict, dict[str, SplitFingerprint], dict]:
    """Write every sample of a split into ``staging`` and gather the train normalisation and fingerprint.

    On any error the staging folder is removed and the error raised: the prepared root is
    replaced only by :func:`publish`, after everything was written.

    Args:
        layout (Layout): The dataset (read a second time, one sample at a time).
        options (SampleOptions): Tile size and slicing axis, as in the first pass.
        staging (Path): Folder to write to (see :func:`staging_dir`).
        split_of (dict[str, str]): Split of each sample name (samples not listed are skipped).
        rules (LabelRules): Raw value -> class.
        classes (list[str]): K class names.
        channels (int): C.
        dtype (str): Pixel type of every image (as the first pass found it).
        seed (int): Seed of the pixel sampling.

    Returns:
        tuple: The normalisation dict, the fingerprint per split, and train intensity percentiles.
    """
    _fresh(staging)
    try:
        return _write_all(layout, options, staging, split_of, rules, len(classes), channels, dtype, seed)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _write_all(
    layout,
    options,
    staging: Path,
    split_of: dict[str, str],
    rules: LabelRules,
    num_classes: int,
    channels: int,
    dtype: str,
    seed: int,
) -> tuple[dict, dict[str, SplitFingerprint], dict]:
    sampler = PixelSampler(channels, seed=seed)
    expected = {split: sum(1 for s in split_of.values() if s == split) for split in SPLITS}
    prints = {split: SplitFingerprint(num_classes, channels, seed, expected[split]) for split in SPLITS}
    for sample in iter_samples(layout, options, set()):
        split = split_of.get(sample.name)
        if split is None:
            continue
        check_image_type(sample.header, sample.source, channels, dtype)
        image = prepare_image(sample.image)
        mask = rules.apply(sample.mask.values)
        if sample.invalid is not None:
            mask[sample.invalid] = IGNORE
        _write_tif(staging / 'images' / split / f'{sample.name}.tif', image)
        Image.fromarray(mask).save(staging / 'masks' / split / f'{sample.name}.png', compress_level=1)
        prints[split].add(image, mask, sample.invalid)
        if split == 'train':  # raster nodata pixels stay out of the normalisation
            sampler.add(image if sample.invalid is None else image[~sample.invalid][None])
    pixels = sampler.pixels
    normalization = compute_normalization(pixels)
    percentiles = {f'p{q}': np.percentile(pixels, q, axis=0).tolist() for q in (0.5, 1, 50, 99, 99.5)}
    return normalization, prints, percentiles
