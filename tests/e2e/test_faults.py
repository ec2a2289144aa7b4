"""Faults during training: killed saves, corrupt checkpoints, fallbacks on --resume."""
import shutil
from pathlib import Path

import pytest

from psp_plugin.engine.checkpoint.safe_loading import CheckpointLoadError
from psp_plugin.testing.reliability import (
    assert_bit_identical,
    reference_work_dir,
    resume_config,
    train_in_process,
)

from .test_resume import _mim_train

pytestmark = pytest.mark.e2e


def _log_text(work_dir: Path) -> str:
    """The text of every MMEngine log file under ``work_dir``."""
    return '\n'.join(path.read_text() for path in sorted(work_dir.glob('*/*.log')))


def _truncate(path: Path) -> None:
    """Cut ``path`` to half its size, as an interrupted plain write would."""
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def _copy_checkpoints(reference: Path, work_dir: Path, iterations: tuple) -> None:
    """Copy ``iter_N.pth`` files and point ``last_checkpoint`` at the last one."""
    work_dir.mkdir(parents=True, exist_ok=True)
    for iteration in iterations:
        shutil.copy(reference / f'iter_{iteration}.pth', work_dir / f'iter_{iteration}.pth')
    (work_dir / 'last_checkpoint').write_text(str(work_dir / f'iter_{iterations[-1]}.pth'))


def test_kill_during_checkpoint_write_leaves_no_truncated_checkpoint(
        toy_scenes_root: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    reference = reference_work_dir(tmp_path_factory, toy_scenes_root)
    work_dir = tmp_path / 'work'
    work_dir.mkdir()
    resume_config(work_dir=work_dir, data_root=toy_scenes_root,
                  extra_hooks=dict(interrupt=dict(type='KillDuringSaveHook', iteration=4)),
                  extra_imports=('psp_plugin.testing.reliability',)).dump(str(tmp_path / 'kill.py'))
    killed = _mim_train(tmp_path / 'kill.py', work_dir)

    assert killed.returncode != 0, 'the training process was not killed'
    assert not (work_dir / 'iter_4.pth').exists()
    leftovers = list(work_dir.glob('.iter_4.pth.tmp-*'))
    assert len(leftovers) == 1 and leftovers[0].stat().st_size > 0  # the half-written bytes
    # MMEngine re-saves a step checkpoint when validation at iteration 3 finds a new best.
    assert (work_dir / 'last_checkpoint').read_text().strip().endswith('iter_3.pth')

    cfg = resume_config(work_dir=work_dir, data_root=toy_scenes_root)
    cfg.resume = True
    train_in_process(cfg, name='reliability_after_killed_save')
    assert not list(work_dir.glob('.iter_4.pth.tmp-*'))
    assert 'left by an interrupted checkpoint save' in _log_text(work_dir)
    assert_bit_identical(reference / 'iter_6.pth', work_dir / 'iter_6.pth')


def test_resume_falls_back_to_newest_intact_checkpoint(
        toy_scenes_root: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    reference = reference_work_dir(tmp_path_factory, toy_scenes_root)
    _copy_checkpoints(reference, tmp_path, (2, 4))
    _truncate(tmp_path / 'iter_4.pth')

    cfg = resume_config(work_dir=tmp_path, data_root=toy_scenes_root)
    cfg.resume = True
    cfg.train_cfg.max_iters = 4
    train_in_process(cfg, name='reliability_fallback')

    log = _log_text(tmp_path)
    assert f'{tmp_path / "iter_4.pth"}' in log and 'is corrupt or truncated' in log
    assert f'Falling back to the newest intact checkpoint, {tmp_path / "iter_2.pth"}' in log
    assert 'resumed epoch: 0, iter: 2' in log
    assert_bit_identical(reference / 'iter_4.pth', tmp_path / 'iter_4.pth')


def test_resume_with_pointer_to_deleted_checkpoint_falls_back(
        toy_scenes_root: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    reference = reference_work_dir(tmp_path_factory, toy_scenes_root)
    _copy_checkpoints(reference, tmp_path, (2, 4))
    (tmp_path / 'iter_4.pth').unlink()  # max_keep_ckpts deletes before it saves
    cfg = resume_config(work_dir=tmp_path, data_root=toy_scenes_root)
    cfg.resume = True
    cfg.train_cfg.max_iters = 2  # resuming is what is tested; no iteration is left to run
    train_in_process(cfg, name='reliability_missing_target')
    log = _log_text(tmp_path)
    assert f'{tmp_path / "iter_4.pth"} does not exist' in log
    assert 'resumed epoch: 0, iter: 2' in log


def test_explicit_resume_from_corrupt_checkpoint_names_it_and_the_alternative(
        toy_scenes_root: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    reference = reference_work_dir(tmp_path_factory, toy_scenes_root)
    _copy_checkpoints(reference, tmp_path, (4, 6))
    _truncate(tmp_path / 'iter_6.pth')
    cfg = resume_config(work_dir=tmp_path, data_root=toy_scenes_root)
    cfg.resume = True
    cfg.load_from = str(tmp_path / 'iter_6.pth')
    with pytest.raises(CheckpointLoadError) as error:
        train_in_process(cfg, name='reliability_explicit_corrupt')
    message = str(error.value)
    assert f'Cannot resume from {tmp_path / "iter_6.pth"}' in message
    assert 'corrupt or truncated' in message
    assert f'{tmp_path / "iter_4.pth"}' in message


def test_load_from_corrupt_checkpoint_names_the_file(
        toy_scenes_root: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    reference = reference_work_dir(tmp_path_factory, toy_scenes_root)
    corrupt = tmp_path / 'weights.pth'
    shutil.copy(reference / 'iter_2.pth', corrupt)
    _truncate(corrupt)
    cfg = resume_config(work_dir=tmp_path / 'work', data_root=toy_scenes_root)
    cfg.load_from = str(corrupt)
    expected = f'Checkpoint {corrupt} .* is corrupt or truncated'
    with pytest.raises(CheckpointLoadError, match=expected):
        train_in_process(cfg, name='reliability_load_corrupt')
