"""Install psp_plugin, PSPNet modules for MMSegmentation 1.x.

The OpenMMLab stack is pinned where it forces a version: MMSegmentation 1.2.2
asserts ``mmcv < 2.2.0`` at import time, and the plugin's parity tests are run
against MMSeg 1.2.2 and MMEngine 0.10.7. ``mmcv`` must be the full build with
compiled ops (``mmcv._ext``); PyPI ships only its source, so
``scripts/bootstrap.sh`` builds it once (see README.md).

Field and tool dependencies are extras (``pip install .[medical,geo]``); ``[all]`` is what
the README's two commands install. The configs are shipped inside the package as
``psp_plugin/.mim/configs`` (where ``mim`` looks), so a regular install finds them too.
"""
import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def read_version() -> str:
    """Return ``__version__`` from psp_plugin/version.py without importing it."""
    namespace: dict = {}
    exec(HERE.joinpath('psp_plugin', 'version.py').read_text(), namespace)
    return namespace['__version__']


class BuildPyWithConfigs(build_py):
    """``build_py`` that also copies ``configs/`` into the built package as ``.mim/configs``."""

    def run(self) -> None:
        super().run()
        source = HERE / 'configs'
        if source.is_dir():
            target = Path(self.build_lib) / 'psp_plugin' / '.mim' / 'configs'
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(source, target, ignore=shutil.ignore_patterns('__pycache__'))


INSTALL_REQUIRES = [
    'torch>=2.1',
    'mmcv>=2.1.0,<2.2.0',
    'mmengine>=0.10.7,<0.11',
    'mmsegmentation>=1.2.2,<1.3',
    'numpy>=1.23',
    'ftfy>=6.0',          # mmseg imports it at start-up without declaring it
    'regex>=2023.0',      # likewise
    'Pillow>=9.0',
    'tifffile>=2023.1',   # prepared datasets keep 16-bit / float / multi-channel images as TIFF
]

EXTRAS = {
    'medical': ['nibabel>=5.0', 'nilearn>=0.10,<1', 'pynrrd>=1.0'],  # NIfTI, NRRD; MNI152 (main job)
    'geo': ['rasterio>=1.3'],                           # GeoTIFF and other rasters
    'export': ['onnx>=1.16,<2', 'onnxruntime>=1.18,<2', 'onnxscript>=0.3,<1'],
    'bench': ['onnxruntime>=1.18,<2', 'openvino>=2024.0', 'nncf>=2.10'],
    'report': ['matplotlib>=3.5'],                      # loss / mIoU curves in reports
    'mim': ['openmim>=0.3.9'],                          # `mim train` / `mim test`
    'tests': ['pytest>=7.4', 'ruff>=0.6', 'mmdet==3.3.0'],
}
EXTRAS['all'] = sorted({req for reqs in EXTRAS.values() for req in reqs})

setup(
    name='psp_plugin',
    version=read_version(),
    description='PSPNet (Pyramid Scene Parsing Network) as MMSegmentation 1.x plugin modules',
    long_description=HERE.joinpath('README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    python_requires='>=3.10',
    packages=find_packages(include=['psp_plugin', 'psp_plugin.*']),
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS,
    entry_points={'console_scripts': ['psp-plugin = psp_plugin.cli.main:main_exit']},
    cmdclass={'build_py': BuildPyWithConfigs},
    license='Apache-2.0',
    classifiers=[
        'Programming Language :: Python :: 3',
        'Topic :: Scientific/Engineering :: Image Recognition',
    ],
)
