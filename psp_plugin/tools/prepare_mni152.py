"""Command line: ``python -m psp_plugin.tools.prepare_mni152 [--out-dir D]``.

Writes the MNI152 brain-tissue dataset (slices of the template inside nilearn,
see :mod:`psp_plugin.datasets.mni152_prepare` for the rules) and prints counts.
"""
import argparse
import os.path as osp
from typing import List, Optional

from psp_plugin.datasets.mni152_prepare import prepare_mni152


def main(argv: Optional[List[str]] = None) -> dict:
    """Parse the arguments, prepare the dataset, return its summary."""
    parser = argparse.ArgumentParser(
        description='Prepare the MNI152 brain-tissue dataset for MMSeg.')
    parser.add_argument('--out-dir', default=osp.join('data', 'mni152'))
    parser.add_argument('--block-size', type=int, default=10,
                        help='contiguous slices per train/val block')
    parser.add_argument('--val-every', type=int, default=5,
                        help='one block in this many is validation')
    parser.add_argument('--gap', type=int, default=3,
                        help='slices dropped between train and val blocks')
    parser.add_argument('--min-tissue-pixels', type=int, default=100,
                        help='GM/WM pixels a slice needs to be kept')
    args = parser.parse_args(argv)
    return prepare_mni152(args.out_dir, block_size=args.block_size,
                          val_every=args.val_every, gap=args.gap,
                          min_tissue_pixels=args.min_tissue_pixels)


if __name__ == '__main__':
    main()
