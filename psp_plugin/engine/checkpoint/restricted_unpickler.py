"""A pickle module for ``torch.load(pickle_module=...)`` that builds only allow-listed objects.

torch < 2.6 cannot load MMEngine checkpoints with ``weights_only=True`` and an allow-list:
torch 2.1-2.3 have no :func:`torch.serialization.add_safe_globals`, and in torch 2.4-2.5 an
allow-list entry matches only its object's own ``module.name``, so the ``builtins.getattr``
stand-in and both numpy spellings (``numpy.core``, ``numpy._core``) cannot be allowed (the
``(object, name)`` form came in torch 2.6).
:mod:`.safe_loading` therefore loads through :func:`make_pickle_module` there. Its unpickler
applies the rules of torch's own ``weights_only`` unpickler to the same allow-list:

* ``GLOBAL``/``STACK_GLOBAL`` look ``module.name`` up in the allow-list; nothing is imported;
* ``REDUCE`` calls, and ``NEWOBJ``/``NEWOBJ_EX`` instantiate, only allow-listed objects;
* ``BUILD`` sets state only on instances of allow-listed classes, never on a class;
* ``APPEND(S)`` only on lists, ``SETITEM(S)`` only on dicts, ``ADDITEMS`` only on sets;
* ``INST``, ``OBJ`` and the copyreg extension codes ``EXT1/2/4`` are refused.

Everything else (literals, containers, memo, frames) is Python's own pure-Python unpickler.
"""
from __future__ import annotations

import _compat_pickle
import io
import pickle
import types
from typing import Any, Callable, Mapping

__all__ = ['RefusedByAllowList', 'make_pickle_module']


class RefusedByAllowList(pickle.UnpicklingError):
    """The pickle asked for something outside the allow-list; nothing of it was run."""


def _describe(obj: Any) -> str:
    """Name ``obj`` for an error message without calling any of its methods."""
    if isinstance(obj, type) or callable(obj):
        return f'{getattr(obj, "__module__", "?")}.{getattr(obj, "__qualname__", type(obj).__name__)}'
    return f'an instance of {type(obj).__module__}.{type(obj).__qualname__}'


class _AllowListUnpickler(pickle._Unpickler):
    """Python's pure-Python unpickler with every opcode that runs code restricted.

    Subclasses made by :func:`make_pickle_module` set :attr:`allowed`.
    """

    allowed: Mapping[str, Any] = {}
    _allowed_ids: frozenset = frozenset()
    _allowed_types: tuple = ()
    dispatch = dict(pickle._Unpickler.dispatch)

    def find_class(self, module: str, name: str) -> Any:
        """Resolve ``module.name`` through the allow-list only (Python 2 names mapped as pickle does)."""
        if self.proto < 3 and self.fix_imports:
            module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
            module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        full_name = f'{module}.{name}'
        if full_name not in self.allowed:
            raise RefusedByAllowList(f'Unsupported global: GLOBAL {full_name} is not in the allow-list '
                                     '(refused by psp_plugin restricted unpickler)')
        return self.allowed[full_name]

    def _require_allowed(self, obj: Any, action: str) -> None:
        if id(obj) not in self._allowed_ids:
            raise RefusedByAllowList(f'refused to {action} {_describe(obj)}: not in the allow-list '
                                     '(psp_plugin restricted unpickler)')

    def _require_type(self, container: Any, kind: type, opcode: str) -> None:
        if not isinstance(container, kind):
            raise RefusedByAllowList(f'refused {opcode} on {_describe(container)}: only '
                                     f'{kind.__name__} objects accept it (psp_plugin restricted unpickler)')

    def load_reduce(self) -> None:
        args = self.stack.pop()
        func = self.stack[-1]
        self._require_allowed(func, 'call')
        self.stack[-1] = func(*args)

    def load_newobj(self) -> None:
        args = self.stack.pop()
        cls = self.stack.pop()
        self._require_allowed(cls, 'instantiate')
        self.append(cls.__new__(cls, *args))

    def load_newobj_ex(self) -> None:
        kwargs = self.stack.pop()
        args = self.stack.pop()
        cls = self.stack.pop()
        self._require_allowed(cls, 'instantiate')
        self.append(cls.__new__(cls, *args, **kwargs))

    def load_build(self) -> None:
        state = self.stack.pop()
        inst = self.stack[-1]
        if isinstance(inst, type) or not isinstance(inst, self._allowed_types):
            raise RefusedByAllowList(f'refused to set the state of {_describe(inst)}: only instances of '
                                     'allow-listed classes accept it (psp_plugin restricted unpickler)')
        if getattr(type(inst), '__setstate__', None) is not None:
            inst.__setstate__(state)
            return
        if not isinstance(state, dict) or not all(type(key) is str for key in state):
            raise RefusedByAllowList(f'refused a state for {_describe(inst)} that is not a dict of '
                                     'attribute names (psp_plugin restricted unpickler)')
        inst.__dict__.update(state)

    def load_append(self) -> None:
        value = self.stack.pop()
        self._require_type(self.stack[-1], list, 'APPEND')
        self.stack[-1].append(value)

    def load_appends(self) -> None:
        items = self.pop_mark()
        self._require_type(self.stack[-1], list, 'APPENDS')
        self.stack[-1].extend(items)

    def load_setitem(self) -> None:
        value = self.stack.pop()
        key = self.stack.pop()
        self._require_type(self.stack[-1], dict, 'SETITEM')
        self.stack[-1][key] = value

    def load_setitems(self) -> None:
        items = self.pop_mark()
        self._require_type(self.stack[-1], dict, 'SETITEMS')
        for index in range(0, len(items), 2):
            self.stack[-1][items[index]] = items[index + 1]

    def load_additems(self) -> None:
        items = self.pop_mark()
        self._require_type(self.stack[-1], set, 'ADDITEMS')
        self.stack[-1].update(items)

    def _refuse_opcode(self) -> None:
        raise RefusedByAllowList('refused a pickle opcode (INST, OBJ or EXT*) that instantiates or imports '
                                 'without the allow-list (psp_plugin restricted unpickler)')


_RESTRICTED = {
    pickle.REDUCE: _AllowListUnpickler.load_reduce,
    pickle.NEWOBJ: _AllowListUnpickler.load_newobj,
    pickle.NEWOBJ_EX: _AllowListUnpickler.load_newobj_ex,
    pickle.BUILD: _AllowListUnpickler.load_build,
    pickle.APPEND: _AllowListUnpickler.load_append,
    pickle.APPENDS: _AllowListUnpickler.load_appends,
    pickle.SETITEM: _AllowListUnpickler.load_setitem,
    pickle.SETITEMS: _AllowListUnpickler.load_setitems,
    pickle.ADDITEMS: _AllowListUnpickler.load_additems,
}
_REFUSED = (pickle.INST, pickle.OBJ, pickle.EXT1, pickle.EXT2, pickle.EXT4)
_AllowListUnpickler.dispatch.update({opcode[0]: method for opcode, method in _RESTRICTED.items()})
_AllowListUnpickler.dispatch.update({opcode[0]: _AllowListUnpickler._refuse_opcode for opcode in _REFUSED})


def make_pickle_module(allowed: Mapping[str, Callable], name: str) -> types.ModuleType:
    """Build a module usable as ``torch.load(..., pickle_module=module)``.

    Args:
        allowed (Mapping[str, Callable]): Allow-list, pickled name (``'module.qualname'``) to the
            object it resolves to. Only these may be called, instantiated or given state.
        name (str): The module's ``__name__`` (torch checks it is not ``dill``).

    Returns:
        types.ModuleType: A module with ``Unpickler``, ``load``, ``loads`` and ``UnpicklingError``.
    """
    allowed = dict(allowed)
    unpickler = type('Unpickler', (_AllowListUnpickler,), {
        'allowed': allowed,
        '_allowed_ids': frozenset(id(obj) for obj in allowed.values()),
        '_allowed_types': tuple({obj for obj in allowed.values() if isinstance(obj, type)}),
    })

    def load(file: Any, **kwargs: Any) -> Any:
        """Unpickle one object from the binary file ``file`` with the allow-list."""
        return unpickler(file, **kwargs).load()

    def loads(data: bytes, **kwargs: Any) -> Any:
        """Unpickle one object from ``data`` with the allow-list."""
        return load(io.BytesIO(data), **kwargs)

    module = types.ModuleType(name, 'Restricted pickle module (psp_plugin.engine.checkpoint).')
    module.Unpickler = unpickler
    module.load = load
    module.loads = loads
    module.UnpicklingError = pickle.UnpicklingError
    return module
