"""Install psp_plugin, PSPNet modules for MMSegmentation 1.x.

The OpenMMLab stack is pinned where it forces a version: MMSegmentation 1.2.2
asserts ``mmcv < 2.2.0`` at import time, and the plugin's parity tests are run
against MMSeg 1.2.2 and MMEngine 0.10.7. ``mmcv`` must be the full build with
compiled ops (``mmcv._ext``); PyPI ships only its source, so
``scripts/bootstrap.sh`` builds it once (see README.md).
"""
from pathlib import Path

from setuptools import find_packages, setup


def read_version() -> str:
    """Return ``__version__`` from psp_plugin/version.py without importing it."""
    namespace: dict = {}
    exec(Path(__file__).with_name('psp_plugin').joinpath('version.py').read_text(), namespace)
    return namespace['__version__']


INSTALL_REQUIRES = [
    'torch>=2.1',
    'mmcv>=2.1.0,<2.2.0',
    'mmengine>=0.10.7,<0.11',
    'mmsegmentation>=1.2.2,<1.3',
    'numpy>=1.23',
    'ftfy>=6.0',
    'regex>=2023.0',
    'openmim>=0.3.9',
    'matplotlib>=3.7',
    'nilearn>=0.10',
]

setup(
    name='psp_plugin',
    version=read_version(),
    description='PSPNet (Pyramid Scene Parsing Network) as MMSegmentation 1.x plugin modules',
    long_description=Path(__file__).with_name('README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    python_requires='>=3.9',
    packages=find_packages(include=['psp_plugin', 'psp_plugin.*']),
    install_requires=INSTALL_REQUIRES,
    extras_require={'tests': ['pytest>=7.4']},
    license='Apache-2.0',
    classifiers=[
        'Programming Language :: Python :: 3',
        'Topic :: Scientific/Engineering :: Image Recognition',
    ],
)
