"""Load a segmentor from a config and a checkpoint, refusing ones that do not belong together.

``mmseg.apis.init_model`` loads checkpoints non-strictly: a checkpoint trained
with another number of classes or another backbone only logs a warning and
leaves those layers randomly initialised, so predictions are silently wrong.
:func:`load_segmentor` compares every tensor's name and shape first and stops
with an error that names both files and the first differing tensors.
"""
from __future__ import annotations

from pathlib import Path

import torch
from mmengine.config import Config
from torch import nn

__all__ = ['CheckpointMismatchError', 'load_segmentor']

#: Tensors a checkpoint may lack: heads used only for training.
OPTIONAL_PREFIXES = ('auxiliary_head.',)


class CheckpointMismatchError(ValueError):
    """The checkpoint's tensors do not fit the model the config builds."""


def _state_dict_of(checkpoint: dict, path: Path) -> dict:
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or not state:
        raise CheckpointMismatchError(
            f'{path} holds no state_dict; pass a checkpoint saved by MMEngine training (e.g. iter_N.pth)')
    return {key[len('module.'):] if key.startswith('module.') else key: value
            for key, value in state.items()}


def check_checkpoint_fits(model: nn.Module, state: dict, *, config: str, checkpoint: str) -> None:
    """Raise :class:`CheckpointMismatchError` unless ``state`` fits ``model`` tensor by tensor."""
    expected = model.state_dict()
    problems = []
    for key, tensor in expected.items():
        if key not in state:
            if not key.startswith(OPTIONAL_PREFIXES):
                problems.append(f'{key} is missing')
        elif tuple(state[key].shape) != tuple(tensor.shape):
            problems.append(f'{key} has shape {tuple(state[key].shape)} in the checkpoint but '
                            f'{tuple(tensor.shape)} in the model')
    unexpected = [key for key in state if key not in expected and not key.startswith(OPTIONAL_PREFIXES)]
    problems += [f'{key} is not in the model' for key in unexpected]
    if problems:
        shown = '; '.join(problems[:4]) + (f'; and {len(problems) - 4} more' if len(problems) > 4 else '')
        raise CheckpointMismatchError(
            f'checkpoint {checkpoint} does not match config {config}: {shown}. Pass the config the '
            'checkpoint was trained with (it is saved next to the checkpoint in the work_dir), or a '
            'checkpoint trained with this config')


def load_segmentor(config: str | Path | Config, checkpoint: str | Path, *,
                   device: str = 'cpu') -> nn.Module:
    """Build the config's segmentor and load ``checkpoint`` strictly (training-only heads excepted).

    Args:
        config (str | Path | Config): MMSeg config file or object.
        checkpoint (str | Path): ``.pth`` file written by MMEngine.
        device (str): Torch device. Defaults to 'cpu'.

    Returns:
        nn.Module: The segmentor in eval mode, with ``cfg`` and ``dataset_meta``
        (classes and palette from the checkpoint, else from ``cfg.psp_meta``).
    """
    from mmengine.model import revert_sync_batchnorm
    from mmengine.runner.checkpoint import _load_checkpoint
    from mmseg.apis import init_model

    import psp_plugin  # noqa: F401  (registers the plugin and the safe checkpoint loading)

    checkpoint_path = Path(checkpoint)
    if not checkpoint_path.is_file():
        raise FileNotFoundError(f'checkpoint {checkpoint_path} does not exist; pass --checkpoint PATH.pth')
    config_name = str(config.filename if isinstance(config, Config) else config)
    model = init_model(config if isinstance(config, Config) else str(config), None, device='cpu')
    loaded = _load_checkpoint(str(checkpoint_path), map_location='cpu')
    state = _state_dict_of(loaded, checkpoint_path)
    check_checkpoint_fits(model, state, config=config_name, checkpoint=str(checkpoint_path))
    model.load_state_dict(state, strict=False)
    meta = (loaded.get('meta') or {}).get('dataset_meta') if isinstance(loaded, dict) else None
    psp_meta = model.cfg.get('psp_meta') or {}
    if meta:
        model.dataset_meta = dict(meta)
    elif psp_meta.get('classes'):
        model.dataset_meta = dict(classes=list(psp_meta['classes']), palette=psp_meta.get('palette'))
    else:
        model.dataset_meta = {}
    if torch.device(device).type == 'cpu':
        model = revert_sync_batchnorm(model)
    return model.to(device).eval()
