"""Catch configs that use psp_plugin types without importing psp_plugin.

``mim train``/``mim test`` run MMSeg's own tools in a fresh process; only a
config's ``custom_imports`` makes them import psp_plugin. Without it the run
dies with MMEngine's "DilatedResNet is not in the mmseg::model registry", which
does not say what to add. :func:`check_custom_imports` finds that mistake from
any process where psp_plugin is imported (our tools, tests, notebooks) and says
what to add.
"""
from __future__ import annotations

from typing import Any, Iterator

from mmengine.config import Config
from mmseg import registry as mmseg_registry

__all__ = ['ConfigCheckError', 'check_custom_imports', 'plugin_type_names']

CUSTOM_IMPORTS_LINE = "custom_imports = dict(imports=['psp_plugin'], allow_failed_imports=False)"
_REGISTRIES = ('MODELS', 'DATASETS', 'TRANSFORMS', 'HOOKS', 'RUNNERS', 'METRICS',
               'OPTIM_WRAPPERS', 'LOOPS')


class ConfigCheckError(ValueError):
    """A config cannot work as written; the message says what to change."""


def plugin_type_names() -> set[str]:
    """Return the type names psp_plugin registered in MMSeg's registries."""
    names = set()
    for registry_name in _REGISTRIES:
        registry = getattr(mmseg_registry, registry_name, None)
        for name, cls in getattr(registry, 'module_dict', {}).items():
            if getattr(cls, '__module__', '').startswith('psp_plugin'):
                names.add(name)
    return names


def _type_values(node: Any) -> Iterator[str]:
    """Yield every string ``type`` / ``runner_type`` value in a config tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ('type', 'runner_type') and isinstance(value, str):
                yield value.split('.')[-1]
            else:
                yield from _type_values(value)
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from _type_values(item)


def check_custom_imports(cfg: Config) -> None:
    """Raise if ``cfg`` uses psp_plugin types but does not import psp_plugin.

    Args:
        cfg (Config): A loaded config.

    Raises:
        ConfigCheckError: Naming the config, the types and the line to add.
    """
    used = sorted(set(_type_values(cfg.to_dict())) & plugin_type_names())
    imports = (cfg.get('custom_imports') or {}).get('imports') or []
    if isinstance(imports, str):
        imports = [imports]
    if not used or any(name == 'psp_plugin' or name.startswith('psp_plugin.') for name in imports):
        return
    raise ConfigCheckError(
        f'{cfg.filename or "The config"} uses psp_plugin types {used} but its custom_imports '
        f'({imports or "none"}) do not import psp_plugin, so `mim train`/`mim test` and MMSeg\'s '
        f'tools will fail with "{used[0]} is not in the mmseg::... registry". Fix: add '
        f'`{CUSTOM_IMPORTS_LINE}` to the config, or put psp_plugin\'s model base '
        "'configs/_base_/models/pspnet_r50-d8.py' in its _base_.")
