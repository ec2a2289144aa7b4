"""``psp-plugin predict INPUT --config C --checkpoint K --out OUT``: labels for images, volumes, rasters."""
from __future__ import annotations

import argparse

__all__ = ['add_parser', 'run']


def add_parser(subparsers) -> None:
    """Register the ``predict`` sub-command."""
    parser = subparsers.add_parser(
        'predict', help='segment images, NIfTI/NRRD volumes or GeoTIFF rasters with blended sliding windows',
        description='Segment an image, NIfTI/NRRD volume or raster (or a folder of them). Images give label '
                    'and overlay PNGs, volumes a label NIfTI/NRRD with the input geometry plus a CSV of '
                    'class volumes, rasters a label GeoTIFF with the input CRS and transform, read and '
                    'written in windows. See docs/predict.md.')
    parser.add_argument('input', help='a file or a folder (searched recursively)')
    parser.add_argument('--config', required=True, help='MMSeg config the checkpoint was trained with')
    parser.add_argument('--checkpoint', required=True, help='checkpoint (.pth)')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--precision', choices=('auto', 'fp32', 'int8', 'bf16', 'fp16'), default=None,
                        help='convert with psp_plugin.deploy.optimize_for_inference first '
                             '(default: run the model as loaded)')
    parser.add_argument('--calib-images', default=None,
                        help='int8 calibration folder (default: windows of the first input)')
    parser.add_argument('--window', type=int, nargs=2, metavar=('H', 'W'), default=None,
                        help="window size (default: the config's test_cfg.crop_size, else 512 512)")
    parser.add_argument('--overlap', type=float, default=0.5,
                        help='fraction of a window shared with each neighbour (default 0.5)')
    parser.add_argument('--blend', choices=('gaussian', 'hann', 'constant'), default='gaussian',
                        help='window weight (default gaussian; constant = equal-weight averaging)')
    parser.add_argument('--batch-size', type=int, default=4, help='windows per forward pass (default 4)')
    parser.add_argument('--device', default='cpu', help="torch device, e.g. 'cpu' or 'cuda:0'")
    parser.add_argument('--axis', type=int, choices=(0, 1, 2), default=None,
                        help='volumes: slice axis when the config has no psp_meta.axis')
    parser.add_argument('--kind', choices=('image', 'raster', 'volume'), default=None,
                        help='treat every input as this kind (default: recognised per file)')
    parser.add_argument('--save-probs', action='store_true',
                        help='rasters: also write per-class probabilities (float32 GeoTIFF)')
    parser.add_argument('--strip-width', type=int, default=None,
                        help='rasters: column strip width in pixels (default: strips whose buffers take '
                             'about 256 MiB); smaller uses less memory, re-running windows at strip edges')
    parser.add_argument('--opacity', type=float, default=0.5, help='class colour weight in overlays')
    parser.add_argument('--no-progress', action='store_true', help='do not print progress lines')
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``predict``; 0 on success."""
    from psp_plugin.inference import Predictor, predict

    predictor = Predictor.from_files(
        args.config, args.checkpoint, device=args.device, window=args.window, overlap=args.overlap,
        weight=args.blend, batch_size=args.batch_size, precision=args.precision,
        calib_images=args.calib_images)
    predict(args.input, predictor, args.out, kind=args.kind, axis=args.axis, save_probs=args.save_probs,
            opacity=args.opacity, strip_width=args.strip_width, show_progress=not args.no_progress)
    return 0
