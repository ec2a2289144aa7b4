"""psp_plugin: PSPNet (Zhao et al., CVPR 2017) as MMSegmentation 1.x plugin modules.

Importing this package (what a config's ``custom_imports=dict(imports=['psp_plugin'])`` does)

* registers the models, datasets, transforms, hooks and the runner into MMSeg's registries
  (scope ``mmseg``), and
* calls :func:`install` once: safe ``weights_only`` checkpoint loading and atomic checkpoint
  writes for MMEngine (see :mod:`psp_plugin.engine.checkpoint.install`). It is idempotent.
"""
from .engine.checkpoint import install
from .version import __version__

install()

from . import data, deploy, engine, inference, models  # noqa: E402  (registration side effects)

__all__ = ['__version__', 'data', 'deploy', 'engine', 'inference', 'install', 'models']
