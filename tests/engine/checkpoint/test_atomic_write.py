"""Checkpoint files are replaced atomically: an interrupted write keeps the old file."""
import os
from pathlib import Path

import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.runner.checkpoint import save_checkpoint

import psp_plugin  # noqa: F401  (installs the atomic backend)
from psp_plugin.engine.checkpoint import atomic_write as atomic_checkpoint
from psp_plugin.engine.checkpoint.atomic_write import (
    AtomicLocalBackend,
    atomic_write_bytes,
    remove_stale_temporary_files,
)


def _interrupt_after_half(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    """Make the next atomic write put half of its bytes on disk, then fail."""

    def write_half(handle: int, data: bytes) -> None:
        os.write(handle, data[:len(data) // 2])
        raise error

    monkeypatch.setattr(atomic_checkpoint, '_write_and_sync', write_half)


@pytest.mark.parametrize('uri', ['/tmp/x/iter_1.pth', 'relative/iter_1.pth'])
def test_local_paths_use_the_atomic_backend(uri: str) -> None:
    assert isinstance(get_file_backend(uri), AtomicLocalBackend)
    assert isinstance(get_file_backend(uri, enable_singleton=True), AtomicLocalBackend)


def test_atomic_write_replaces_content_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / 'sub' / 'file.bin'
    atomic_write_bytes(b'first', target)
    atomic_write_bytes(b'second version', target)
    assert target.read_bytes() == b'second version'
    assert sorted(p.name for p in target.parent.iterdir()) == ['file.bin']
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~atomic_checkpoint._UMASK)


@pytest.mark.parametrize('error', [OSError(28, 'No space left on device'), KeyboardInterrupt()])
def test_interrupted_checkpoint_save_keeps_previous_checkpoint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    path = tmp_path / 'iter_2.pth'
    save_checkpoint({'state_dict': {'w': torch.zeros(3)}}, str(path))
    _interrupt_after_half(monkeypatch, error)
    with pytest.raises(type(error)):
        save_checkpoint({'state_dict': {'w': torch.ones(1000)}}, str(path))
    kept = torch.load(path, weights_only=True)
    assert torch.equal(kept['state_dict']['w'], torch.zeros(3))
    assert [p.name for p in tmp_path.iterdir()] == ['iter_2.pth']


def test_interrupted_first_save_leaves_no_file_under_the_final_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _interrupt_after_half(monkeypatch, OSError(5, 'Input/output error'))
    with pytest.raises(OSError):
        save_checkpoint({'state_dict': {'w': torch.ones(1000)}}, str(tmp_path / 'iter_4.pth'))
    assert list(tmp_path.iterdir()) == []


def test_put_text_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = get_file_backend(str(tmp_path))
    pointer = tmp_path / 'last_checkpoint'
    backend.put_text('/w/iter_2.pth', pointer)
    _interrupt_after_half(monkeypatch, OSError(28, 'No space left on device'))
    with pytest.raises(OSError):
        backend.put_text('/w/iter_4.pth', pointer)
    assert pointer.read_text() == '/w/iter_2.pth'


def test_remove_stale_temporary_files_removes_only_leftovers(tmp_path: Path) -> None:
    leftover = tmp_path / '.iter_6.pth.tmp-abc123'
    leftover.write_bytes(b'half')
    (tmp_path / 'iter_4.pth').write_bytes(b'ok')
    (tmp_path / '.hidden').write_bytes(b'user file')
    assert remove_stale_temporary_files(tmp_path) == [str(leftover)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ['.hidden', 'iter_4.pth']
