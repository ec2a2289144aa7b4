"""Load MMEngine checkpoints through an allow-list, on every torch from 2.1 on.

MMEngine 0.10.7 training checkpoints pickle more than tensors: the message hub's
:class:`~mmengine.logging.HistoryBuffer` objects, numpy arrays, scalars and dtypes, bytes
(through ``_codecs.encode``) and ``builtins.getattr`` (``HistoryBuffer`` keeps its statistics
methods, such as ``HistoryBuffer.mean``, which protocol-2 pickles as
``getattr(HistoryBuffer, 'mean')``). torch's ``weights_only=True`` loader refuses them, and
``torch.load``'s default before torch 2.6 (``weights_only=False``) would run anything.

:func:`safe_torch_load` loads only :data:`MMENGINE_CHECKPOINT_GLOBALS` plus torch's own
``weights_only`` allow-list, where ``builtins.getattr`` is replaced by
:func:`restricted_getattr` (only ``getattr(HistoryBuffer, <statistics method>)``):

* torch >= 2.6: ``torch.load(weights_only=True)`` with the list registered through
  :func:`torch.serialization.add_safe_globals` (its ``(object, name)`` form, new in 2.6);
* torch 2.1-2.5: ``torch.load(pickle_module=...)`` with
  :mod:`.restricted_unpickler`, which applies torch's ``weights_only`` rules to the same list.

:func:`load_local_checkpoint` is MMEngine's loader for local files once
``psp_plugin.engine.checkpoint.install()`` ran (``import psp_plugin`` and every config's
``custom_imports`` run it); refusals and read errors become :class:`CheckpointLoadError`
messages that name the file, the problem and the fix.
"""
from __future__ import annotations

import _codecs
import collections
import functools
import importlib
import os
import pickle
import re
import zipfile
from typing import Any, Callable, Literal, Optional, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

from .restricted_unpickler import RefusedByAllowList, make_pickle_module
from .torch_allow_list import torch_weights_only_globals

__all__ = [
    'CheckpointLoadError', 'MMENGINE_CHECKPOINT_GLOBALS', 'TORCH_LOADS_NAMED_SAFE_GLOBALS',
    'allowed_globals', 'load_local_checkpoint', 'register_safe_globals', 'restricted_getattr',
    'safe_torch_load'
]

#: torch >= 2.6: ``add_safe_globals`` takes ``(object, pickled name)`` pairs and the
#: ``weights_only`` unpickler rebuilds allow-listed classes, so torch's own loader is used.
TORCH_LOADS_NAMED_SAFE_GLOBALS = tuple(int(part) for part in torch.__version__.split('.')[:2]) >= (2, 6)


class CheckpointLoadError(RuntimeError):
    """A checkpoint file could not be loaded; the message names file and fix."""


def _numpy_multiarray() -> Any:
    """Return ``numpy._core.multiarray`` (numpy >= 2) or ``numpy.core.multiarray`` (numpy 1.x)."""
    package = 'numpy._core' if int(np.__version__.split('.')[0]) >= 2 else 'numpy.core'
    return importlib.import_module(f'{package}.multiarray')


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
    multiarray = _numpy_multiarray()
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
        safe.append((multiarray._reconstruct, f'{package}.multiarray._reconstruct'))
        safe.append((multiarray.scalar, f'{package}.multiarray.scalar'))
    # Unpickled dtypes are instances of concrete dtype classes (numpy.dtypes.Float64DType, ...;
    # numpy < 1.25: numpy.dtype[float64]), which must be allowed to take their state.
    dtype_classes = {type(np.dtype(code)) for code in np.typecodes['All']}
    dtypes_module = getattr(np, 'dtypes', None)
    if dtypes_module is not None:
        dtype_classes |= {cls for cls in vars(dtypes_module).values()
                          if isinstance(cls, type) and issubclass(cls, np.dtype)}
    for cls in sorted(dtype_classes - {np.dtype}, key=lambda cls: cls.__qualname__):
        safe.append((cls, f'{cls.__module__}.{cls.__qualname__}'))
    return safe


MMENGINE_CHECKPOINT_GLOBALS = _mmengine_checkpoint_globals()


def register_safe_globals() -> None:
    """Allow-list :data:`MMENGINE_CHECKPOINT_GLOBALS` for ``torch.load(weights_only=True)``.

    Only on torch >= 2.6 (:data:`TORCH_LOADS_NAMED_SAFE_GLOBALS`); older torch loads through
    the restricted unpickler and is left untouched. Idempotent; called by
    :func:`psp_plugin.engine.checkpoint.install`.
    """
    if TORCH_LOADS_NAMED_SAFE_GLOBALS:
        torch.serialization.add_safe_globals(MMENGINE_CHECKPOINT_GLOBALS)


def allowed_globals() -> dict[str, Any]:
    """Return the restricted unpickler's allow-list: torch's defaults plus MMEngine's (name -> object)."""
    allowed = torch_weights_only_globals()
    allowed.update((name, obj) for obj, name in MMENGINE_CHECKPOINT_GLOBALS)
    return allowed


@functools.lru_cache(maxsize=1)
def _restricted_pickle_module() -> Any:
    """The :mod:`.restricted_unpickler` module over :func:`allowed_globals` (built once)."""
    return make_pickle_module(allowed_globals(), 'psp_plugin_restricted_pickle')


_UNSUPPORTED_GLOBAL = re.compile(r"(?:GLOBAL|Unsupported class) ([\w.]+)")


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
            'arbitrary code. psp_plugin loads checkpoints only through an allow-list '
            '(torch.load(weights_only=True) on torch >= 2.6, its restricted unpickler on older '
            'torch) and never turns that off. If you trust the file, load it once in a trusted '
            'session and save only its tensors: torch.save({"state_dict": '
            'ckpt["state_dict"]}, "clean.pth"); then use clean.pth.')


def _read_error_message(filename: str, error: Exception) -> str:
    """Explain why ``filename`` could not be read as a checkpoint."""
    size = os.path.getsize(filename) if os.path.exists(filename) else 0
    return (f'Checkpoint {filename} ({size} bytes) is corrupt or truncated and cannot be read '
            f'({type(error).__name__}: {error}). It was probably written by an interrupted '
            'save or an incomplete copy: use another checkpoint from the same work dir, or '
            'copy the file again.')


UnpicklerChoice = Literal['auto', 'torch', 'psp_plugin']


def _torch_load(filename: str, map_location: Optional[Any], unpickler: UnpicklerChoice) -> Any:
    """Call ``torch.load`` with the unpickler chosen for this torch version."""
    forced = os.environ.get('TORCH_FORCE_WEIGHTS_ONLY_LOAD', '0').lower() in ('1', 'y', 'yes', 'true')
    if unpickler == 'auto':
        unpickler = 'torch' if TORCH_LOADS_NAMED_SAFE_GLOBALS or forced else 'psp_plugin'
    if unpickler == 'torch':
        return torch.load(filename, map_location=map_location, weights_only=True)
    return torch.load(filename, map_location=map_location, weights_only=False,
                      pickle_module=_restricted_pickle_module())


def safe_torch_load(filename: str, map_location: Optional[Any] = None,
                    unpickler: UnpicklerChoice = 'auto') -> Any:
    """Load ``filename`` through the allow-list, with clear errors.

    Args:
        filename (str): Path to a local checkpoint file.
        map_location (Any, optional): As in :func:`torch.load`.
        unpickler (str): ``'auto'`` (default): torch's ``weights_only=True`` loader on torch
            >= 2.6 (or when ``TORCH_FORCE_WEIGHTS_ONLY_LOAD`` is set), psp_plugin's restricted
            unpickler on older torch. ``'torch'`` or ``'psp_plugin'`` choose one explicitly.

    Returns:
        Any: The unpickled checkpoint (usually a dict with ``state_dict``).

    Raises:
        FileNotFoundError: When the file does not exist.
        CheckpointLoadError: When the pickle asks for a global that is not
            allowed, or the file is corrupt or truncated.
    """
    if unpickler not in ('auto', 'torch', 'psp_plugin'):
        raise ValueError(f"unpickler must be 'auto', 'torch' or 'psp_plugin', got {unpickler!r}")
    filename = os.path.expanduser(str(filename))
    if not os.path.isfile(filename):
        raise FileNotFoundError(
            f'Checkpoint {filename} does not exist (current directory: {os.getcwd()}); '
            'check the path given to --checkpoint / load_from / init_model.')
    try:
        return _torch_load(filename, map_location, unpickler)
    except RefusedByAllowList as error:
        raise CheckpointLoadError(_refusal_message(filename, error)) from error
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

