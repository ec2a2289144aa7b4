"""``psp-plugin import DATA --out OUT [...]``: a folder of images and masks -> a prepared dataset.

See :func:`psp_plugin.data.import_dataset` and docs/your-data.md for the rules.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ['add_parser', 'run']


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
    parser.add_argument('--ignore-index', type=int, default=None, help='mask value that stays ignore')
    parser.add_argument(
        '--instances-as',
        choices=('foreground',),
        default=None,
        help='instance-id masks: every non-zero id becomes class 1',
    )
    parser.add_argument(
        '--num-classes', type=int, default=None, help='number of classes; mask values must then be below it'
    )
    parser.add_argument(
        '--axis',
        type=int,
        choices=(0, 1, 2),
        default=None,
        help='volumes: slicing axis (default: the one of largest voxel spacing)',
    )
    parser.add_argument('--tile-size', type=int, default=512, help='rasters: tile edge in pixels')
    parser.add_argument('--seed', type=int, default=0, help='seed of the split')
    parser.add_argument('--val-fraction', type=float, default=0.15)
    parser.add_argument('--test-fraction', type=float, default=0.15)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Import; print the classes, split sizes and notes. 0 on success, 2 on bad input."""
    from psp_plugin.data import DataImportError, import_dataset

    try:
        prepared = import_dataset(
            args.data,
            args.out,
            ignore_index=args.ignore_index,
            instances_as=args.instances_as,
            num_classes=args.num_classes,
            axis=args.axis,
            tile_size=args.tile_size,
            seed=args.seed,
            val_fraction=args.val_fraction,
            test_fraction=args.test_fraction,
        )
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
