"""``psp-plugin export-onnx --config C --checkpoint K --input-size H W --out F [--verify]``."""
from __future__ import annotations

import argparse

__all__ = ['add_parser', 'run']


def add_parser(subparsers) -> None:
    """Register the ``export-onnx`` sub-command."""
    from psp_plugin.deploy.onnx.export import DEFAULT_OPSET, MIN_OPSET

    parser = subparsers.add_parser(
        'export-onnx', help='export a config + checkpoint to ONNX (dynamic batch size)',
        description='Export a PSPNet config + checkpoint to ONNX with a dynamic batch size.')
    parser.add_argument('--config', required=True, help='MMSeg config file')
    parser.add_argument('--checkpoint', help='checkpoint (.pth); without it the weights are random')
    parser.add_argument('--input-size', nargs=2, type=int, required=True, metavar=('H', 'W'),
                        help='fixed input height and width of the exported graph')
    parser.add_argument('--out', required=True, help='output .onnx file')
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET, help=f'ONNX opset (>= {MIN_OPSET})')
    parser.add_argument('--verify', action='store_true',
                        help='compare ONNX Runtime (CPU) with PyTorch on two random images')
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export; a bad size or opset exits with the library's message."""
    from psp_plugin.deploy.onnx.export import export_checkpoint

    height, width = args.input_size
    try:
        export_checkpoint(args.config, args.checkpoint, out_file=args.out, height=height, width=width,
                          opset=args.opset, verify=args.verify)
    except ValueError as error:
        raise SystemExit(f'error: {error}') from error
    return 0
