"""Stop a training run before it starts when its pretrained weights cannot be read.

The published PSPNet recipes initialise the backbone from ImageNet weights
(``init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')``).
MMEngine reads them only inside ``Runner.train()``, after the data loaders,
optimizer and schedulers are built, and without internet it fails deep inside
``torch.hub`` with a bare ``URLError``. :class:`~psp_plugin.engine.hooks.PretrainedWeightsCheckHook`
runs at ``before_run``, which ``Runner.train()`` calls just before it
initialises the weights, and turns every unreadable source into one error that
says how to continue: a local file, or training from scratch.
"""
import os
import socket
from pathlib import Path
from typing import Iterator, List, Optional, Tuple
from urllib.parse import urlparse

import torch
import torch.nn as nn
from mmengine.model import is_model_wrapper
from mmengine.runner.checkpoint import CheckpointLoader, get_external_models

__all__ = [
    'PretrainedWeightsUnavailableError', 'check_model_pretrained_sources', 'check_pretrained_source',
    'iter_pretrained_sources', 'resolve_download_url'
]

_OPENMMLAB_PREFIXES = ('open-mmlab://', 'openmmlab://')
_TORCHVISION_PREFIXES = ('torchvision://', 'modelzoo://')
_HTTP_PREFIXES = ('http://', 'https://')


class PretrainedWeightsUnavailableError(FileNotFoundError):
    """Pretrained weights named in an ``init_cfg`` cannot be read."""


def _config_key(module_name: str) -> str:
    return 'model.' + module_name + '.init_cfg' if module_name else 'model.init_cfg'


def iter_pretrained_sources(model: nn.Module) -> Iterator[Tuple[str, str]]:
    """Yield ``(module name, checkpoint)`` for every ``Pretrained`` init_cfg.

    Args:
        model (nn.Module): The model, possibly wrapped (e.g. in DDP).

    Yields:
        tuple[str, str]: The module's name inside the model ('' for the
        model itself) and the checkpoint its ``init_cfg`` names.
    """
    if is_model_wrapper(model):
        model = model.module
    for name, module in model.named_modules():
        init_cfgs = getattr(module, 'init_cfg', None)
        if init_cfgs is None:
            continue
        for init_cfg in init_cfgs if isinstance(init_cfgs, list) else [init_cfgs]:
            if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
                yield name, str(init_cfg.get('checkpoint'))


def resolve_download_url(checkpoint: str) -> Optional[str]:
    """The http(s) URL MMEngine would fetch ``checkpoint`` from, or None for a local path.

    Raises:
        PretrainedWeightsUnavailableError: For an ``open-mmlab://`` or
            ``torchvision://`` name that MMEngine does not know.
    """
    if checkpoint.startswith(_HTTP_PREFIXES):
        return checkpoint
    if checkpoint.startswith(_OPENMMLAB_PREFIXES):
        name = checkpoint.split('://', 1)[1]
        urls = get_external_models()
        if name not in urls:
            raise PretrainedWeightsUnavailableError(
                f'{checkpoint!r} is not a model MMEngine knows (see mmengine/hub/openmmlab.json); '
                'check the spelling, e.g. open-mmlab://resnet50_v1c')
        url = urls[name]
        return url if url.startswith(_HTTP_PREFIXES) else None
    if checkpoint.startswith(_TORCHVISION_PREFIXES):
        try:
            from mmengine.runner.checkpoint import get_torchvision_models
            urls = get_torchvision_models()
        except ImportError as error:
            raise PretrainedWeightsUnavailableError(
                f'{checkpoint!r} needs torchvision to look up its URL, which is not installed; '
                'install torchvision or point init_cfg.checkpoint at a local file') from error
        name = checkpoint.split('://', 1)[1]
        if name not in urls:
            raise PretrainedWeightsUnavailableError(
                f'{checkpoint!r} is not a torchvision model name; check the spelling')
        return urls[name]
    return None


def cached_download_path(url: str) -> Path:
    """Where ``torch.hub`` (and so MMEngine) keeps a downloaded ``url``."""
    return Path(torch.hub.get_dir()) / 'checkpoints' / os.path.basename(urlparse(url).path)


def _remedy(config_key: str) -> str:
    return (f'To continue, either point the config at a local copy of these weights: '
            f'--cfg-options {config_key}.checkpoint=/path/to/weights.pth ; or train from '
            f'scratch (expect lower accuracy than the published recipe): '
            f'--cfg-options {config_key}=None')


def check_pretrained_source(checkpoint: str, *, config_key: str = 'model.backbone.init_cfg',
                            allow_download: bool = True, timeout_s: float = 30.0) -> None:
    """Make sure ``checkpoint`` can be read now, downloading it if allowed.

    Args:
        checkpoint (str): A local path or an ``open-mmlab://``,
            ``torchvision://`` or ``http(s)://`` address.
        config_key (str): The config key that names it, for the message.
        allow_download (bool): Try to fetch a missing URL into the
            ``torch.hub`` cache. Defaults to True.
        timeout_s (float): Socket timeout of that download attempt.

    Raises:
        PretrainedWeightsUnavailableError: The weights are neither on disk
            nor downloadable; the message says how to continue.
    """
    url = resolve_download_url(checkpoint)
    if url is None:
        if checkpoint.startswith(_OPENMMLAB_PREFIXES):
            return  # mapped to a file under MMEngine's home by the user; MMEngine reads it
        local = Path(checkpoint).expanduser()
        if not local.is_file():
            raise PretrainedWeightsUnavailableError(
                f'{config_key} names pretrained weights {checkpoint!r}, but no file exists at '
                f'{local.resolve()}. ' + _remedy(config_key))
        return
    cached = cached_download_path(url)
    if cached.is_file():
        return
    if allow_download:
        previous_timeout = socket.getdefaulttimeout()
        socket.setdefaulttimeout(timeout_s)
        try:
            CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
            return
        except OSError as error:
            reason = f'downloading it from {url} failed ({error})'
        finally:
            socket.setdefaulttimeout(previous_timeout)
    else:
        reason = 'downloads are switched off (allow_download=False)'
    raise PretrainedWeightsUnavailableError(
        f'{config_key} names pretrained weights {checkpoint!r}, which are not in the local '
        f'cache {cached} and {reason}. Copy the file from {url} to {cached} on this machine, '
        f'or: ' + _remedy(config_key))


def check_model_pretrained_sources(model: nn.Module, *, allow_download: bool = True) -> List[str]:
    """Check every ``Pretrained`` init_cfg in ``model``; return the checkpoints checked."""
    checked = []
    for module_name, checkpoint in iter_pretrained_sources(model):
        check_pretrained_source(checkpoint, config_key=_config_key(module_name),
                                allow_download=allow_download)
        checked.append(checkpoint)
    return checked
