"""Telling intact checkpoints from broken ones, and picking the newest intact one."""
from pathlib import Path

import pytest
import torch

from psp_plugin.engine.checkpoint.integrity import (
    checkpoint_problem,
    list_step_checkpoints,
    newest_intact_checkpoint,
)


def _save(path: Path, iteration: int) -> Path:
    torch.save({'meta': {'iter': iteration}, 'state_dict': {'w': torch.full((64,), iteration)}},
               path)
    return path


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def test_intact_checkpoint_has_no_problem(tmp_path: Path) -> None:
    assert checkpoint_problem(str(_save(tmp_path / 'iter_2.pth', 2))) is None


@pytest.mark.parametrize('damage, expected', [
    (_truncate, 'is corrupt or truncated'),
    (lambda p: p.write_bytes(b''), 'is corrupt or truncated'),
    (lambda p: p.unlink(), 'does not exist'),
    (lambda p: torch.save({'state_dict': {}}, p), 'no `meta.iter`'),
    (lambda p: torch.save({'w': torch.ones(1)}, p), 'holds no `state_dict`'),
])
def test_broken_checkpoints_are_named_with_their_problem(tmp_path: Path, damage,
                                                         expected: str) -> None:
    path = _save(tmp_path / 'iter_4.pth', 4)
    damage(path)
    problem = checkpoint_problem(str(path))
    assert problem is not None and str(path) in problem and expected in problem


def test_step_checkpoints_are_listed_newest_first_by_number(tmp_path: Path) -> None:
    for name in ('iter_2.pth', 'iter_10.pth', 'iter_9.pth', 'best_mIoU_iter_9.pth', 'notes.txt'):
        (tmp_path / name).write_bytes(b'x')
    assert [Path(p).name for p in list_step_checkpoints(str(tmp_path))] == [
        'iter_10.pth', 'iter_9.pth', 'iter_2.pth']
    assert list_step_checkpoints(str(tmp_path / 'missing')) == []


def test_newest_intact_checkpoint_skips_broken_newer_ones(tmp_path: Path) -> None:
    for iteration in (2, 4, 6, 8):
        _save(tmp_path / f'iter_{iteration}.pth', iteration)
    _truncate(tmp_path / 'iter_6.pth')
    found, rejected = newest_intact_checkpoint(str(tmp_path), skip=(str(tmp_path / 'iter_8.pth'),))
    assert found == str(tmp_path / 'iter_4.pth')
    assert len(rejected) == 1 and 'iter_6.pth' in rejected[0]


def test_no_intact_checkpoint_reports_every_problem(tmp_path: Path) -> None:
    for iteration in (2, 4):
        _truncate(_save(tmp_path / f'iter_{iteration}.pth', iteration))
    found, rejected = newest_intact_checkpoint(str(tmp_path))
    assert found is None and len(rejected) == 2
