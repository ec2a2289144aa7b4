"""``psp-plugin prepare-mni152 [--out-dir D]``: brain-tissue slices of the MNI152 template in nilearn.

See :mod:`psp_plugin.data.mni152_prepare` for the rules.
"""
from __future__ import annotations

import argparse
import os.path as osp

__all__ = ['add_parser', 'run']


def add_parser(subparsers) -> None:
    """Register the ``prepare-mni152`` sub-command."""
    parser = subparsers.add_parser(
        'prepare-mni152', help='write the MNI152 brain-tissue dataset (needs nilearn)',
        description='Prepare the MNI152 brain-tissue dataset for MMSeg.')
    parser.add_argument('--out-dir', default=osp.join('data', 'mni152'))
    parser.add_argument('--block-size', type=int, default=10, help='contiguous slices per train/val block')
    parser.add_argument('--val-every', type=int, default=5, help='one block in this many is validation')
    parser.add_argument('--gap', type=int, default=3, help='slices dropped between train and val blocks')
    parser.add_argument('--min-tissue-pixels', type=int, default=100,
                        help='GM/WM pixels a slice needs to be kept')
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Prepare the dataset; 0 on success."""
    from psp_plugin.data.mni152_prepare import prepare_mni152

    prepare_mni152(args.out_dir, block_size=args.block_size, val_every=args.val_every, gap=args.gap,
                   min_tissue_pixels=args.min_tissue_pixels)
    return 0
