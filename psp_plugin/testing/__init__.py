"""psp_plugin.testing: synthetic scenes, small models and the mim runner that tests and benchmarks share.

Importing it registers the synthetic datasets (``ToySceneDataset``, ``ContextScenesDataset``); configs
that use them list ``'psp_plugin.testing'`` in ``custom_imports``.
"""
from .context_scenes import ContextScenesDataset, generate_context_scenes
from .toy_scenes import ToySceneDataset, make_toy_scenes

__all__ = ['ContextScenesDataset', 'ToySceneDataset', 'generate_context_scenes', 'make_toy_scenes']
