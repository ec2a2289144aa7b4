"""torch's own ``weights_only`` allow-list, brought up to torch 2.6's defaults on older torch.

The restricted unpickler (torch 2.1-2.5) starts from the list torch itself applies with
``weights_only=True`` on the installed version and adds what torch 2.6 allows by default and
the older version lacks: every dtype, the quantization schemes, all ``torch._utils._rebuild_*``
tensor rebuild functions (quantized, nested, wrapper-subclass tensors), ``torch.device`` and the
builtins ``bytearray``, ``set`` and ``complex``. Only objects that exist in the installed torch
are added; all of them rebuild tensors or plain values and run no code named by the pickle.
"""
from __future__ import annotations

from typing import Any

import torch

__all__ = ['torch_weights_only_globals']

_REBUILD_FUNCTIONS = ('_rebuild_parameter', '_rebuild_parameter_with_state', '_rebuild_qtensor',
                      '_rebuild_tensor', '_rebuild_tensor_v2', '_rebuild_tensor_v3',
                      '_rebuild_sparse_tensor', '_rebuild_meta_tensor_no_storage',
                      '_rebuild_nested_tensor', '_rebuild_wrapper_subclass')
_QSCHEMES = ('per_tensor_affine', 'per_tensor_symmetric', 'per_channel_affine',
             'per_channel_symmetric', 'per_channel_affine_float_qparams')


def torch_weights_only_globals() -> dict[str, Any]:
    """Return pickled name -> object for torch's ``weights_only`` defaults (at least torch 2.6's).

    Returns:
        dict[str, Any]: e.g. ``'torch._utils._rebuild_tensor_v2'`` -> that function,
        ``'torch.float32'`` -> ``torch.float32``.
    """
    from torch import _weights_only_unpickler
    allowed = dict(_weights_only_unpickler._get_allowed_globals())
    for name in _REBUILD_FUNCTIONS:
        if hasattr(torch._utils, name):
            allowed.setdefault(f'torch._utils.{name}', getattr(torch._utils, name))
    for value in vars(torch).values():
        if isinstance(value, torch.dtype):
            allowed.setdefault(str(value), value)
    for name in _QSCHEMES:
        if hasattr(torch, name):
            allowed.setdefault(str(getattr(torch, name)), getattr(torch, name))
    allowed.setdefault('torch.device', torch.device)
    allowed.setdefault('torch._tensor._rebuild_from_type_v2', torch._tensor._rebuild_from_type_v2)
    for builtin in (bytearray, set, complex):
        allowed.setdefault(f'builtins.{builtin.__name__}', builtin)
    return allowed
