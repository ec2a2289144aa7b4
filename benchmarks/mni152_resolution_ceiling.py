"""How well can a segmentation at 1/OS resolution do on the MNI152 val slices?

For each output stride OS, the ground truth is average-pooled to 1/OS (the
smoothest "perfect" low-resolution score map), upsampled back bilinearly
(as MMSeg upsamples logits) and arg-maxed; the mIoU against the full
resolution ground truth is the ceiling a decoder without skip connections
gets at that stride. It is why the main job trains on upsampled slices
(OS8 on a 2x slice = OS4 on the original).

The val masks are those of the main job's source folder (``masks/val``), which
:func:`psp_plugin.fit.mni152_source.write_mni152_source` writes when it is not
complete yet (a few seconds).

    python benchmarks/mni152_resolution_ceiling.py [--source data/mni152_source]
"""
import argparse
import glob
import os.path as osp
from typing import List

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from psp_plugin.fit.main_job import DEFAULT_SOURCE
from psp_plugin.fit.mni152_source import write_mni152_source

NUM_CLASSES = 3


def ceiling_iou(labels: List[np.ndarray], output_stride: int) -> np.ndarray:
    """Per-class IoU (%) of pooled-then-upsampled ground truth, (3,)."""
    intersect = np.zeros(NUM_CLASSES)
    union = np.zeros(NUM_CLASSES)
    for label in labels:
        height, width = label.shape
        one_hot = F.one_hot(torch.from_numpy(label.astype(np.int64)),
                            NUM_CLASSES).permute(2, 0, 1)[None].float()
        rows, cols = -(-height // output_stride), -(-width // output_stride)
        one_hot = F.pad(one_hot, (0, cols * output_stride - width, 0,
                                  rows * output_stride - height))
        scores = F.interpolate(
            F.avg_pool2d(one_hot, output_stride),
            size=one_hot.shape[2:], mode='bilinear', align_corners=False)
        pred = scores[0, :, :height, :width].argmax(0).numpy()
        for c in range(NUM_CLASSES):
            intersect[c] += ((pred == c) & (label == c)).sum()
            union[c] += ((pred == c) | (label == c)).sum()
    return 100 * intersect / union


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--source', default=str(DEFAULT_SOURCE),
                        help='the main job\'s source folder (written if not complete)')
    args = parser.parse_args()
    write_mni152_source(args.source)
    paths = sorted(glob.glob(osp.join(args.source, 'masks', 'val', '*.png')))
    if not paths:
        raise FileNotFoundError(f'No val masks in {args.source}/masks/val; delete the folder and '
                                'run again to rewrite it.')
    labels = [np.asarray(Image.open(p)) for p in paths]
    print(f'{len(labels)} val slices; ceiling IoU (%) per output stride')
    print('| OS | background | grey_matter | white_matter | mIoU |')
    print('|---:|---:|---:|---:|---:|')
    for output_stride in (2, 4, 8, 16):
        iou = ceiling_iou(labels, output_stride)
        cells = ' | '.join(f'{v:.1f}' for v in iou)
        print(f'| {output_stride} | {cells} | {iou.mean():.1f} |')


if __name__ == '__main__':
    main()
