"""Atomic checkpoint writes for every MMEngine save path to local disk.

MMEngine 0.10.7 saves a checkpoint by serialising it into memory and handing
the bytes to the file backend of the target path, whose ``put`` opens the
final file with ``'wb'`` and writes into it. A process killed during that write
(SIGKILL, OOM killer, pre-emption, a full disk) leaves a truncated
``iter_N.pth`` under the final name.

Importing this module (``import psp_plugin`` does it) registers
:class:`AtomicLocalBackend` as MMEngine's backend for local paths. It writes
into a temporary file in the same directory, flushes and ``fsync`` s it, and
only then renames it over the final name with :func:`os.replace`, which is
atomic within one file system. A reader therefore sees either the previous
file or the complete new one, never a partial one. An interrupted write leaves
at most a hidden ``.<name>.tmp-*`` file, which
:func:`remove_stale_temporary_files` deletes.
"""
from __future__ import annotations

import glob
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Union

import mmengine.fileio.io as mmengine_io
from mmengine.fileio import LocalBackend, register_backend

__all__ = [
    'AtomicLocalBackend', 'atomic_write_bytes', 'install_atomic_local_backend',
    'remove_stale_temporary_files'
]

_TEMP_MARKER = '.tmp-'


def _read_umask() -> int:
    """Return the process umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def _write_and_sync(handle: int, data: bytes) -> None:
    """Write all of ``data`` to the open file descriptor and ``fsync`` it."""
    view = memoryview(data)
    while view:
        written = os.write(handle, view)
        view = view[written:]
    os.fsync(handle)


def _sync_directory(directory: str) -> None:
    """``fsync`` a directory so that a rename inside it survives a power cut."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def atomic_write_bytes(data: bytes, filepath: Union[str, Path]) -> None:
    """Write ``data`` to ``filepath`` so that readers never see a partial file.

    The bytes go to a temporary file in the same directory, which is synced
    and renamed over ``filepath``. On any error the temporary file is removed
    and ``filepath`` keeps its previous content.

    Args:
        data (bytes): The complete file content.
        filepath (str | Path): Destination; its directory is created if
            missing.
    """
    filepath = osp.abspath(os.fspath(filepath))
    directory, name = osp.split(filepath)
    os.makedirs(directory, exist_ok=True)
    handle, temp_path = tempfile.mkstemp(prefix=f'.{name}{_TEMP_MARKER}', dir=directory)
    try:
        try:
            _write_and_sync(handle, data)
        finally:
            os.close(handle)
        os.chmod(temp_path, 0o666 & ~_UMASK)
        os.replace(temp_path, filepath)
    except BaseException:
        if osp.exists(temp_path):
            os.remove(temp_path)
        raise
    _sync_directory(directory)


def remove_stale_temporary_files(directory: Union[str, Path]) -> list[str]:
    """Delete the temporary files that interrupted atomic writes left behind.

    Args:
        directory (str | Path): A work dir or checkpoint dir.

    Returns:
        list[str]: The paths removed.
    """
    pattern = osp.join(os.fspath(directory), f'.*{_TEMP_MARKER}*')
    removed = []
    for path in glob.glob(pattern):
        if osp.isfile(path):
            os.remove(path)
            removed.append(path)
    return removed


class AtomicLocalBackend(LocalBackend):
    """MMEngine's local storage backend with atomic ``put`` and ``put_text``.

    Every checkpoint MMEngine saves to a local path (``CheckpointHook``,
    ``save_best``, ``Runner.save_checkpoint``, ``mmengine.runner.
    save_checkpoint``) goes through :meth:`put`.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write ``obj`` to ``filepath`` atomically (temp file + rename)."""
        atomic_write_bytes(obj, filepath)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        """Write the text ``obj`` to ``filepath`` atomically."""
        atomic_write_bytes(obj.encode(encoding), filepath)


def install_atomic_local_backend() -> None:
    """Make :class:`AtomicLocalBackend` MMEngine's backend for local paths.

    Idempotent; called by :func:`psp_plugin.engine.checkpoint.install`. Cached plain
    ``LocalBackend`` instances are dropped so that later look-ups build the
    atomic one.
    """
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    for key, backend in list(mmengine_io.backend_instances.items()):
        if type(backend) is LocalBackend:
            del mmengine_io.backend_instances[key]

