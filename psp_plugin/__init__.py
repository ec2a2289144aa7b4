"""psp_plugin: PSPNet (Zhao et al., CVPR 2017) as MMSegmentation 1.x plugin modules.

Importing this package registers its modules into MMSeg's registries (scope
``mmseg``) and allow-lists, for ``torch.load(weights_only=True)``, exactly the
globals that MMEngine training checkpoints contain.
"""
from .version import __version__
from .engine import safe_loading  # noqa: F401  (registers safe globals first)
from . import datasets, deploy, engine, models  # noqa: F401  (registration side effects)

__all__ = ['__version__', 'datasets', 'deploy', 'engine', 'models']
