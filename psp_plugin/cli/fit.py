"""``psp-plugin fit DATA --out WORK_DIR [--time-budget 15m] [--device cpu|cuda] [--gpus N] [--resume]``
and ``psp-plugin plan DATA --out WORK_DIR [...]`` (the plan alone: config.py + plan.json).

Both accept the import options of ``psp-plugin import`` (``--instances-as``, ``--tile``, ``--tile-size``,
``--axis``, ``--ignore-index`` ...), added by the same function.
"""
from __future__ import annotations

import argparse

from .import_data import add_import_arguments, import_options

__all__ = ['add_parser', 'run', 'run_plan']


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('data', help='a folder of images and masks, or a prepared dataset')
    parser.add_argument('--out', required=True, help='work dir: config, checkpoints, report')
    parser.add_argument('--time-budget', default='15m',
                        help='wall time of the whole run, e.g. 15m, 300s, 2h (default: 15m)')
    parser.add_argument('--device', choices=('cpu', 'cuda'), default='cpu')
    parser.add_argument('--gpus', type=int, default=1, help='GPUs to train on (--device cuda)')
    parser.add_argument('--width', type=int, default=None,
                        help='force the backbone base width instead of planning it (e.g. 16)')
    parser.add_argument('--batch-size', type=int, default=None, help='force the images per step')
    add_import_arguments(parser)


def add_parser(subparsers) -> None:
    """Register the ``fit`` and ``plan`` sub-commands."""
    fit = subparsers.add_parser(
        'fit', help='import, plan, train, test and report PSPNet on your images and masks',
        description='Import DATA, plan a PSPNet for this machine and the time budget, train it, '
                    'choose the test scale on val and report on the untouched test split.')
    _common(fit)
    fit.add_argument('--resume', action='store_true', help='continue the training planned in --out')
    fit.add_argument('--num-overlays', type=int, default=6, help='test images drawn in the report')
    fit.set_defaults(func=run)
    plan = subparsers.add_parser('plan', help='import and plan only: write WORK_DIR/config.py',
                                 description='Import DATA and write the planned config, printing '
                                             'the reason for every choice.')
    _common(plan)
    plan.set_defaults(func=run_plan)


def run(args: argparse.Namespace) -> int:
    """Run ``fit``; 0 on success."""
    from psp_plugin.fit import fit

    fit(args.data, args.out, time_budget=args.time_budget, device=args.device, gpus=args.gpus,
        resume=args.resume, num_overlays=args.num_overlays,
        plan_options=dict(width=args.width, batch_size=args.batch_size), import_options=import_options(args))
    return 0


def run_plan(args: argparse.Namespace) -> int:
    """Import and plan; 0 on success."""
    import time

    from psp_plugin.fit import format_plan, make_plan, parse_duration
    from psp_plugin.fit.fit import prepare_or_import

    started = time.perf_counter()
    root = prepare_or_import(args.data, args.out, **import_options(args))
    plan = make_plan(root, args.out, time_budget_s=parse_duration(args.time_budget), device=args.device,
                     gpus=args.gpus, spent_s=time.perf_counter() - started, width=args.width,
                     batch_size=args.batch_size)
    print(format_plan(plan))
    return 0
