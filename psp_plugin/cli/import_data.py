"""``psp-plugin import DATA --out OUT [...]``: a folder of images and masks -> a prepared dataset.

See :func:`psp_plugin.data.import_dataset` and docs/your-data.md for the rules.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ['add_import_arguments', 'add_parser', 'import_options', 'run']

#: The ``import_dataset`` keywords that ``add_import_arguments`` adds, by argparse ``dest``.
IMPORT_KEYWORDS = ('ignore_index', 'instances_as', 'num_classes', 'axis', 'tile_size', 'tile_images', 'seed',
                   'val_fraction', 'test_fraction')


def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the import options (shared by ``import``, ``fit`` and ``plan``); unset ones keep the defaults."""
    group = parser.add_argument_group('import options (how masks, volumes and large images are read)')
    group.add_argument('--ignore-index', type=int, default=None, help='mask value that stays ignore')
    group.add_argument('--instances-as', choices=('foreground',), default=None,
                       help='instance-id masks: every non-zero id becomes class 1')
    group.add_argument('--num-classes', type=int, default=None,
                       help='number of classes; mask values must then be below it')
    group.add_argument('--axis', type=int, choices=(0, 1, 2), default=None,
                       help='volumes: slicing axis (default: the one of largest voxel spacing)')
    group.add_argument('--tile-size', type=int, default=None,
                       help='rasters (and images with --tile): tile edge in pixels (default: 512)')
    group.add_argument('--tile', dest='tile_images', action='store_true', default=None,
                       help='cut plain images into --tile-size tiles too, split in bands of tiles '
                            '(one or a few large images, e.g. a microscopy slide)')
    group.add_argument('--seed', type=int, default=None, help='seed of the split (default: 0)')
    group.add_argument('--val-fraction', type=float, default=None, help='share for val (default: 0.15)')
    group.add_argument('--test-fraction', type=float, default=None, help='share for test (default: 0.15)')


def import_options(args: argparse.Namespace) -> dict:
    """The ``import_dataset`` keywords the command line set (unset ones are left to its defaults)."""
    return {key: getattr(args, key) for key in IMPORT_KEYWORDS if getattr(args, key, None) is not None}


def add_parser(subparsers) -> None:
    """Register the ``import`` sub-command."""
    parser = subparsers.add_parser(
        'import',
        help='import images and masks as a prepared dataset (checks everything first)',
        description='Check a folder of images and masks (images/ + masks/, MMSeg img_dir/ann_dir, '
        'nnU-Net imagesTr/labelsTr, GeoTIFF rasters, NIfTI volumes) and write a prepared '
        'dataset: .tif images, uint8 masks, dataset.json, splits.json, fingerprint.json.',
    )
    parser.add_argument('data', help='the dataset folder')
    parser.add_argument('--out', required=True, help='the prepared dataset folder to write')
    add_import_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Import; print the classes, split sizes and notes. 0 on success, 2 on bad input."""
    from psp_plugin.data import DataImportError, import_dataset

    try:
        prepared = import_dataset(args.data, args.out, **import_options(args))
    except DataImportError as error:
        print(f'psp-plugin import: error: {error}', file=sys.stderr)
        return 2
    sizes = ', '.join(f'{split} {len(names)}' for split, names in prepared.splits.items())
    print(
        f'prepared {prepared.kind} dataset in {prepared.root}: {prepared.num_classes} classes '
        f'{prepared.classes}, {prepared.channels} channel(s); samples: {sizes}'
    )
    for note in prepared.notes:
        print(f'  - {note}')
    return 0
