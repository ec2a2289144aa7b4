"""``import_dataset``: from a user's folder of images and masks to a prepared dataset on disk.

Two passes over the data, one sample in memory at a time: the first reads
and checks everything and decides labels, classes and the split, raising a
:class:`~.errors.DataImportError` before anything is written; the second
writes images and masks into a hidden staging folder beside the output,
which replaces the output's ``images/`` and ``masks/`` only when complete,
with ``dataset.json``, ``splits.json`` and ``fingerprint.json`` (see
:mod:`.prepared_dataset` for the format).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from .class_names import check_every_class_present, name_classes, read_class_source
from .errors import import_error
from .fingerprint import fingerprint_json
from .label_rules import IGNORE, LabelRules, decide_label_rules
from .layouts import Layout, discover_layout
from .prepared_dataset import PreparedDataset, load_prepared
from .samples import SampleOptions
from .scanning import ScanResult, scan_samples
from .splits import SPLITS, SplitItem, SplitResult, make_splits
from .splits_file import SPLITS_FILE, read_kept_splits, splits_json
from .writing import prepare_out_dir, publish, staging_dir, write_samples

__all__ = ['import_dataset']


def _check_arguments(
    val_fraction: float,
    test_fraction: float,
    tile_size: int,
    ignore_index: Optional[int],
    num_classes: Optional[int],
) -> None:
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise import_error(
            'val_fraction/test_fraction',
            f'{val_fraction}/{test_fraction} leave no training data',
            'use fractions >= 0 whose sum is below 1 (e.g. 0.15 and 0.15)',
        )
    if tile_size < 16:
        raise import_error('tile_size', f'{tile_size} is too small', 'use a tile size of at least 16 pixels')
    if ignore_index is not None and ignore_index < 0:
        raise import_error(
            'ignore_index', f'{ignore_index} is negative', 'pass the mask value to ignore (>= 0)'
        )
    if num_classes is not None and not 1 <= num_classes <= 254:
        raise import_error('num_classes', f'{num_classes} is out of range', 'pass 1..254 classes')


def _check_tiling(layout: Layout, tile_images: bool) -> None:
    if tile_images and layout.kind == 'volumes':
        raise import_error(
            'tile_images',
            f'{layout.root} holds volumes, which are cut into slices, not tiles',
            'leave tile_images (--tile) unset for volumes; choose the slicing axis with axis (--axis)',
        )
    if tile_images and layout.kind == 'rasters':
        layout.notes.append('tile_images: the georeferenced rasters are tiled as always')


def _channel_note(channels: int, dtype: str) -> str:
    kind = {1: 'grayscale', 3: 'three-channel (RGB)'}.get(channels, f'{channels}-channel')
    return (
        f'images are {kind} {dtype}, stored with their values as .tif (all channels kept); one clip + '
        'z-score normalisation from the train split maps them for training, testing and predict'
    )


def _class_pixels(scan: ScanResult, rules: LabelRules) -> list[int]:
    pixels = [0] * rules.num_classes
    for value, count in scan.counts.items():
        target = rules.mapping.get(value, 1 if rules.instances else IGNORE)
        if target != IGNORE:
            pixels[target] += count
    return pixels


def _split(
    scan: ScanResult,
    rules: LabelRules,
    kind: str,
    out_dir: Path,
    seed: int,
    val_fraction: float,
    test_fraction: float,
) -> SplitResult:
    names = [s.name for s in scan.samples]
    groups = {s.name: s.group for s in scan.samples}
    kept = read_kept_splits(out_dir, names, groups)
    if kept is not None:
        return kept
    items = [
        SplitItem(
            s.name,
            s.group,
            s.position,
            frozenset(
                c
                for c in (rules.mapping.get(v, 1 if rules.instances else IGNORE) for v in s.values)
                if c != IGNORE
            ),
            s.preset,
        )
        for s in scan.samples
    ]
    return make_splits(items, kind=kind, seed=seed, val_fraction=val_fraction, test_fraction=test_fraction)


def _check_split_classes(
    result: SplitResult, scan: ScanResult, rules: LabelRules, classes: list[str], out_dir: Path
) -> None:
    placed = set(result.splits['train']) | set(result.splits['val']) | set(result.splits['test'])
    present = set()
    for sample in scan.samples:
        if sample.name in placed:
            present |= {rules.mapping.get(v, 1 if rules.instances else IGNORE) for v in sample.values}
    absent = [f'{i} ({classes[i]})' for i in range(len(classes)) if i not in present]
    if absent:
        raise import_error(
            out_dir / SPLITS_FILE,
            f'class {", ".join(absent)} is in no split: its samples were all left out',
            'move a sample holding it into a split in splits.json, or delete splits.json to draw a new split',
        )
    if not result.splits['train']:
        raise import_error(out_dir / SPLITS_FILE, 'the train split is empty', 'add samples to "train"')


def import_dataset(
    source: str | Path,
    out_dir: str | Path,
    *,
    ignore_index: Optional[int] = None,
    instances_as: Optional[str] = None,
    num_classes: Optional[int] = None,
    axis: Optional[int] = None,
    tile_size: int = 512,
    tile_images: bool = False,
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
) -> PreparedDataset:
    """Import a folder of images and masks as a prepared dataset.

    Args:
        source (str | Path): The user's dataset folder (see :mod:`.layouts` for the layouts).
        out_dir (str | Path): The prepared root to write (new, empty, or an earlier import).
        ignore_index (int | None): Mask value that stays ignore (stored as 255).
        instances_as (str | None): ``'foreground'``: non-zero instance ids become class 1.
        num_classes (int | None): K; mask values are then class indices below K.
        axis (int | None): Slicing axis of volumes; None follows the voxel spacing.
        tile_size (int): Tile edge for rasters (and images with ``tile_images``), pixels.
            Defaults to 512.
        tile_images (bool): Cut plain images into ``tile_size`` tiles too, split in bands of
            tiles like rasters (one or a few large images). Defaults to False.
        seed (int): Seed of the split and the sampling. Defaults to 0.
        val_fraction (float): Share of samples for val. Defaults to 0.15.
        test_fraction (float): Share of samples for test. Defaults to 0.15.

    Returns:
        PreparedDataset: The prepared dataset (as :func:`load_prepared` reads it).
    """
    _check_arguments(val_fraction, test_fraction, tile_size, ignore_index, num_classes)
    out = Path(out_dir).resolve()
    layout = discover_layout(source)
    _check_tiling(layout, tile_images)
    prepare_out_dir(out, layout.root)
    class_source = read_class_source(layout.root)
    options = SampleOptions(tile_size=tile_size, tile_images=tile_images, axis=axis)
    scan = scan_samples(layout, options)
    colour_table = class_source.colours if class_source is not None and scan.colour else None
    rules = decide_label_rules(
        scan.counts,
        scan.where,
        colour=bool(scan.colour),
        ignore_index=ignore_index,
        instances_as=instances_as,
        num_classes=num_classes,
        colour_table=colour_table,
    )
    classes, palette, names_from = name_classes(rules, class_source, scan.palette)
    if names_from == 'default names' and num_classes is not None:
        names_from = f'num_classes={num_classes}'
    check_every_class_present(_class_pixels(scan, rules), classes, names_from)
    split_kind = 'tiles' if tile_images and layout.kind == 'images' else layout.kind
    result = _split(scan, rules, split_kind, out, seed, val_fraction, test_fraction)
    _check_split_classes(result, scan, rules, classes, out)
    split_of = {name: split for split in SPLITS for name in result.splits[split]}
    staging = staging_dir(out)
    normalization, prints, percentiles = write_samples(
        layout, options, staging, split_of, rules, classes, scan.channels, scan.dtype, seed
    )
    notes = (
        [f'layout: {layout.description}']
        + layout.notes
        + [_channel_note(scan.channels, scan.dtype)]
        + sorted(scan.notes)
        + rules.notes
        + [f'class names from {names_from}']
        + result.notes
    )
    meta = {
        'classes': classes,
        'palette': palette,
        'ignore_index': IGNORE,
        'channels': scan.channels,
        'kind': layout.kind,
        'dtype': scan.dtype,
        'label_mapping': rules.label_mapping(),
        'normalization': normalization,
        'axis': options.axis_used,
        'spacing': options.spacing,
        'source': str(layout.root),
        'notes': notes,
    }
    fingerprint = fingerprint_json(prints, classes, normalization, percentiles)
    texts = {
        'dataset.json': json.dumps(meta, indent=1),
        SPLITS_FILE: splits_json(result, seed),
        'fingerprint.json': json.dumps(fingerprint, indent=1),
    }
    publish(staging, out, texts)
    return load_prepared(out)
