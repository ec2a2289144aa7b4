"""The ``psp-plugin`` console script: one entry point, one sub-command per module of this package.

Every sub-command module defines ``add_parser(subparsers)`` (its arguments, with
``set_defaults(func=run)``) and ``run(args) -> int``, which only calls library code.
"""
from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

__all__ = ['SUBCOMMAND_MODULES', 'build_parser', 'main', 'main_exit']

#: The modules of ``psp_plugin.cli`` that provide sub-commands, in ``--help`` order.
SUBCOMMAND_MODULES = ('export_onnx', 'prepare_field_data', 'main_job', 'predict', 'import_data', 'fit')


def build_parser() -> argparse.ArgumentParser:
    """Return the parser with every sub-command registered."""
    from psp_plugin import __version__

    parser = argparse.ArgumentParser(
        prog='psp-plugin',
        description='PSPNet for MMSegmentation: train on your data, predict, export, reproduce.')
    parser.add_argument('--version', action='version', version=f'psp_plugin {__version__}')
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND')
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(f'psp_plugin.cli.{name}').add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen sub-command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, 'func', None) is None:
        parser.print_help()
        return 2
    return args.func(args)


def main_exit() -> None:
    """Entry point of the ``psp-plugin`` console script: exit with :func:`main`'s status."""
    raise SystemExit(main())
