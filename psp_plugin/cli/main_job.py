"""``psp-plugin main-job``: PSPNet on real brain-MRI slices through ``fit``, on a wall-time budget.

What ``bash scripts/main_job.sh`` runs; see :mod:`psp_plugin.fit.main_job`.
"""
from __future__ import annotations

import argparse

__all__ = ['add_parser', 'run']


def add_parser(subparsers) -> None:
    """Register the ``main-job`` sub-command."""
    from psp_plugin.fit.main_job import DEFAULT_BUDGET, DEFAULT_SOURCE, DEFAULT_WORK_DIR

    parser = subparsers.add_parser(
        'main-job', help='write MNI152 brain-MRI slices, then fit, test and report PSPNet on them',
        description='Write the MNI152 brain-tissue source folder (from nilearn) if needed, then run '
                    '`fit` on it: import, plan, train within the budget, test on the held-out split.')
    parser.add_argument('--source-dir', default=str(DEFAULT_SOURCE), help='where the slices are written')
    parser.add_argument('--work-dir', default=str(DEFAULT_WORK_DIR))
    parser.add_argument('--time-budget', default=DEFAULT_BUDGET, help='wall time of the fit, e.g. 13m')
    parser.add_argument('--device', choices=('cpu', 'cuda'), default='cpu')
    parser.add_argument('--resume', action='store_true', help='continue the training in --work-dir')
    parser.add_argument('--num-overlays', type=int, default=6)
    parser.add_argument('--prepare-only', action='store_true', help='only write the source folder')
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the job; 0 on success."""
    from psp_plugin.fit.main_job import run_main_job

    run_main_job(source_dir=args.source_dir, work_dir=args.work_dir, time_budget=args.time_budget,
                 device=args.device, resume=args.resume, num_overlays=args.num_overlays,
                 prepare_only=args.prepare_only)
    return 0
