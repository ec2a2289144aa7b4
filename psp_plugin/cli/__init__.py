"""psp_plugin.cli: thin argparse shells behind the ``psp-plugin`` console script."""
from .main import build_parser, main

__all__ = ['build_parser', 'main']
