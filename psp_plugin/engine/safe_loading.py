"""Load MMEngine checkpoints with torch's safe ``weights_only=True`` unpickler.

torch >= 2.6 loads checkpoints with ``weights_only=True``, which refuses every
global it does not know. MMEngine 0.10.7 training checkpoints pickle more than
tensors: the message hub's :class:`~mmengine.logging.HistoryBuffer` objects,
numpy arrays, scalars and dtypes, bytes (through ``_codecs.encode``) and
``builtins.getattr`` (``HistoryBuffer`` keeps its statistics methods, such as
``HistoryBuffer.mean``, which protocol-2 pickles as
``getattr(HistoryBuffer, 'mean')``). Without help, ``mim test --checkpoint``,
``--resume`` and ``mmseg.apis.init_model`` fail on them.

Importing this module (``import psp_plugin`` does it, and so does a config's
``custom_imports``) fixes that without switching safe loading off:

* it allow-lists exactly those globals with
  :func:`torch.serialization.add_safe_globals`, where ``builtins.getattr`` is
  replaced by :func:`restricted_getattr`, which resolves only
  ``getattr(HistoryBuffer, <statistics method>)`` and refuses anything else;
* it registers :func:`load_local_checkpoint` as MMEngine's loader for local
  files, which loads with ``weights_only=True`` explicitly and turns torch's
  refusals and read errors into :class:`CheckpointLoadError` messages that name
  the file, the problem and the fix.
"""
from __future__ import annotations

import _codecs
import collections
import os
import pickle
import re
import zipfile
from typing import Any, Callable, Optional, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

__all__ = [
    'CheckpointLoadError', 'MMENGINE_CHECKPOINT_GLOBALS', 'load_local_checkpoint',
    'register_safe_globals', 'restricted_getattr', 'safe_torch_load'
]


class CheckpointLoadError(RuntimeError):
    """A checkpoint file could not be loaded; the message names file and fix."""


def _numpy_core() -> Any:
    """Return numpy's ``_core`` package (``core`` before numpy 2.0)."""
    return getattr(np, '_core', None) or np.core


def _getattr_allowed() -> dict[type, frozenset]:
    """Return, per class, the attribute names :func:`restricted_getattr` resolves."""
    statistics = set(getattr(HistoryBuffer, '_statistics_methods', {}))
    statistics |= {'min', 'max', 'mean', 'current'}
    return {HistoryBuffer: frozenset(statistics)}


def restricted_getattr(obj: Any, name: str) -> Any:
    """Stand-in for ``builtins.getattr`` during safe unpickling.

    Resolves only ``getattr(HistoryBuffer, name)`` for HistoryBuffer's
    statistics methods, which is what MMEngine checkpoints contain. Anything
    else (``getattr(os, 'system')``, say) is refused.

    Args:
        obj (Any): The object whose attribute the pickle asks for.
        name (str): The attribute name.

    Returns:
        Any: The attribute, when allowed.

    Raises:
        pickle.UnpicklingError: For any other object or attribute.
    """
    allowed = _getattr_allowed()
    if isinstance(obj, type) and name in allowed.get(obj, ()):
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'refused getattr({obj!r}, {name!r}) while loading a checkpoint: psp_plugin '
        'only resolves HistoryBuffer statistics methods through getattr.')


def _mmengine_checkpoint_globals() -> list[Union[Callable, tuple[Callable, str]]]:
    """Return the globals found in MMEngine 0.10.x checkpoints, with their pickled names."""
    core = _numpy_core()
    safe: list[Union[Callable, tuple[Callable, str]]] = [
        (_codecs.encode, '_codecs.encode'),
        (collections.OrderedDict, 'collections.OrderedDict'),
        (HistoryBuffer, 'mmengine.logging.history_buffer.HistoryBuffer'),
        (restricted_getattr, 'builtins.getattr'),
        (np.ndarray, 'numpy.ndarray'),
        (np.dtype, 'numpy.dtype'),
    ]
    # numpy >= 2 pickles as numpy._core.*, numpy 1.x as numpy.core.*: accept both.
    for package in ('numpy._core', 'numpy.core'):
        safe.append((core.multiarray._reconstruct, f'{package}.multiarray._reconstruct'))
        safe.append((core.multiarray.scalar, f'{package}.multiarray.scalar'))
    # numpy >= 1.25 may name the concrete dtype classes (numpy.dtypes.Float64DType, ...).
    dtypes_module = getattr(np, 'dtypes', None)
    if dtypes_module is not None:
        for name in dir(dtypes_module):
            cls = getattr(dtypes_module, name)
            if isinstance(cls, type) and issubclass(cls, np.dtype):
                safe.append((cls, f'numpy.dtypes.{name}'))
    return safe


MMENGINE_CHECKPOINT_GLOBALS = _mmengine_checkpoint_globals()


def register_safe_globals() -> None:
    """Allow-list :data:`MMENGINE_CHECKPOINT_GLOBALS` for ``weights_only`` loads.

    Idempotent; called when this module is imported.
    """
    torch.serialization.add_safe_globals(MMENGINE_CHECKPOINT_GLOBALS)


_UNSUPPORTED_GLOBAL = re.compile(r'GLOBAL ([\w.]+)')


def _refusal_message(filename: str, error: Exception) -> str:
    """Explain a ``weights_only`` refusal of ``filename``."""
    match = _UNSUPPORTED_GLOBAL.search(str(error))
    if match:
        what = f'the global `{match.group(1)}`'
    else:  # e.g. restricted_getattr's refusal; torch's own advice (weights_only=False) is left out
        lines = [line for line in str(error).splitlines() if 'refused' in line] or [type(error).__name__]
        what = 'an object it may not build (' + lines[0].strip() + ')'
    return (f'Refused to load checkpoint {filename}: its pickle refers to {what}, which is '
            'not among the globals MMEngine checkpoints contain, so loading it could run '
            'arbitrary code. psp_plugin loads checkpoints with torch.load(weights_only=True) '
            'and never turns that off. If you trust the file, load it once in a trusted '
            'session and save only its tensors: torch.save({"state_dict": '
            'ckpt["state_dict"]}, "clean.pth"); then use clean.pth.')


def _read_error_message(filename: str, error: Exception) -> str:
    """Explain why ``filename`` could not be read as a checkpoint."""
    size = os.path.getsize(filename) if os.path.exists(filename) else 0
    return (f'Checkpoint {filename} ({size} bytes) is corrupt or truncated and cannot be read '
            f'({type(error).__name__}: {error}). It was probably written by an interrupted '
            'save or an incomplete copy: use another checkpoint from the same work dir, or '
            'copy the file again.')


def safe_torch_load(filename: str, map_location: Optional[Any] = None) -> Any:
    """Load ``filename`` with ``torch.load(weights_only=True)`` and clear errors.

    Args:
        filename (str): Path to a local checkpoint file.
        map_location (Any, optional): As in :func:`torch.load`.

    Returns:
        Any: The unpickled checkpoint (usually a dict with ``state_dict``).

    Raises:
        FileNotFoundError: When the file does not exist.
        CheckpointLoadError: When the pickle asks for a global that is not
            allowed, or the file is corrupt or truncated.
    """
    filename = os.path.expanduser(str(filename))
    if not os.path.isfile(filename):
        raise FileNotFoundError(
            f'Checkpoint {filename} does not exist (current directory: {os.getcwd()}); '
            'check the path given to --checkpoint / load_from / init_model.')
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        if 'Weights only load failed' in str(error) or 'refused getattr' in str(error):
            raise CheckpointLoadError(_refusal_message(filename, error)) from error
        raise CheckpointLoadError(_read_error_message(filename, error)) from error
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError) as error:
        raise CheckpointLoadError(_read_error_message(filename, error)) from error


def load_local_checkpoint(filename: str, map_location: Optional[Any] = None) -> Any:
    """MMEngine ``CheckpointLoader`` scheme for local paths (prefix ``''``).

    Replaces MMEngine's own local loader so that ``load_from``, ``--resume``,
    ``mim test --checkpoint`` and ``mmseg.apis.init_model`` all go through
    :func:`safe_torch_load`.
    """
    return safe_torch_load(filename, map_location=map_location)


register_safe_globals()
CheckpointLoader.register_scheme(prefixes='', force=True)(load_local_checkpoint)
