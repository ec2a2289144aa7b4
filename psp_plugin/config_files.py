"""Where the plugin's config files are: the repository's ``configs/`` or the copy inside the wheel.

An editable install (``pip install -e .``, what ``scripts/bootstrap.sh`` does) uses the repository's
``configs/`` folder. A regular install (``pip install .``) has no repository, so setup.py copies
``configs/`` into the package as ``psp_plugin/.mim/configs`` (the place ``mim`` looks for a package's
configs, as MMSeg's own wheel does); :func:`configs_dir` finds whichever exists.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ['config_path', 'configs_dir']

_PACKAGE_DIR = Path(__file__).resolve().parent


def configs_dir() -> Path:
    """Return the folder holding the plugin's configs (``_base_/``, ``pspnet_*.py``, ...).

    Raises:
        FileNotFoundError: When neither the repository's nor the packaged copy exists.
    """
    for candidate in (_PACKAGE_DIR / '.mim' / 'configs', _PACKAGE_DIR.parent / 'configs'):
        if (candidate / '_base_').is_dir():
            return candidate
    raise FileNotFoundError(
        f'psp_plugin finds no configs folder next to {_PACKAGE_DIR} (looked for .mim/configs inside '
        'the package and configs/ beside it). Reinstall the plugin from its repository '
        '(pip install . or pip install -e .) so that the configs are installed with it.')


def config_path(name: str) -> Path:
    """Return the path of the plugin config ``name`` (relative to the configs folder).

    Args:
        name (str): e.g. ``'pspnet_r50.py'`` or ``'_base_/psp_runtime.py'``.
    """
    path = configs_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f'No config {name} in {configs_dir()}.')
    return path
