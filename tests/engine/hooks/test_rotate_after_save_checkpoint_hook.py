"""Old checkpoints are removed only after the new one is on disk (max_keep_ckpts, save_best)."""
from pathlib import Path
from typing import Callable, List

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from psp_plugin.engine import FailFastRunner, RotateAfterSaveCheckpointHook
from psp_plugin.engine.checkpoint.safe_loading import safe_torch_load
from psp_plugin.testing.reliability import toy_runtime_config

pytestmark = pytest.mark.usefixtures('single_thread')


def _config(work_dir: Path, data_root: Path, *, iters: int, fail_at: int = 0) -> Config:
    cfg = toy_runtime_config(data_root=data_root, work_dir=work_dir)
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = 2
    cfg.train_dataloader.batch_size = 2
    cfg.param_scheduler[0].end = iters
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False, interval=1,
                                        max_keep_ckpts=1, save_best='mIoU', rule='greater')
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.startup_checks = None
    return cfg


def _failing_save(runner: Runner, should_fail: Callable[[str], bool]) -> None:
    """Make ``runner.save_checkpoint`` raise ENOSPC for the file names ``should_fail`` picks."""
    save = runner.save_checkpoint

    def save_or_fail(out_dir, filename, *args, **kwargs):
        if should_fail(filename):
            raise OSError(28, 'No space left on device', filename)
        return save(out_dir, filename, *args, **kwargs)

    runner.save_checkpoint = save_or_fail


def _train(runner_class, cfg: Config, name: str, fail: Callable[[str], bool] = None) -> Runner:
    cfg.experiment_name = name
    runner = runner_class.from_cfg(cfg)
    if fail is not None:
        _failing_save(runner, fail)
    try:
        runner.train()
    finally:
        torch.use_deterministic_algorithms(False)
    return runner


def _checkpoints(work_dir: Path) -> List[str]:
    return sorted(path.name for path in work_dir.glob('*.pth'))


def test_fail_fast_runner_runs_checkpoint_hook_as_rotate_after_save(
        toy_scenes_root: Path, tmp_path: Path) -> None:
    runner = _train(FailFastRunner, _config(tmp_path, toy_scenes_root, iters=3), 'rotate_kind')
    kinds = [type(hook) for hook in runner.hooks]
    assert RotateAfterSaveCheckpointHook in kinds
    # Rotation still keeps max_keep_ckpts periodic checkpoints, plus one best.
    names = _checkpoints(tmp_path)
    assert [name for name in names if name.startswith('iter_')] == ['iter_3.pth']
    assert len([name for name in names if name.startswith('best_mIoU_iter_')]) == 1
    assert (tmp_path / 'last_checkpoint').read_text().strip() == str(tmp_path / 'iter_3.pth')


def test_failed_save_keeps_the_previous_checkpoint(toy_scenes_root: Path,
                                                   tmp_path: Path) -> None:
    cfg = _config(tmp_path, toy_scenes_root, iters=3)
    with pytest.raises(OSError, match='No space left'):
        _train(FailFastRunner, cfg, 'rotate_fail', fail=lambda name: name == 'iter_3.pth')
    assert 'iter_2.pth' in _checkpoints(tmp_path)
    kept = safe_torch_load(str(tmp_path / 'iter_2.pth'), map_location='cpu')
    assert kept['meta']['iter'] == 2


def test_mmengine_checkpoint_hook_deletes_before_saving(toy_scenes_root: Path,
                                                        tmp_path: Path) -> None:
    # Why the plugin replaces it: the same failure with MMEngine's own hook
    # leaves no periodic checkpoint to resume from.
    cfg = _config(tmp_path, toy_scenes_root, iters=3)
    for name in [name for name, hook in cfg.default_hooks.items() if hook is None]:
        cfg.default_hooks.pop(name)  # MMEngine's Runner takes None only for its own six
    with pytest.raises(OSError, match='No space left'):
        _train(Runner, cfg, 'rotate_mmengine', fail=lambda name: name == 'iter_3.pth')
    assert [name for name in _checkpoints(tmp_path) if name.startswith('iter_')] == []


def test_previous_best_survives_a_failed_best_save(toy_scenes_root: Path,
                                                   tmp_path: Path) -> None:
    runner = _train(FailFastRunner, _config(tmp_path, toy_scenes_root, iters=2), 'rotate_best')
    hook = next(h for h in runner.hooks if isinstance(h, RotateAfterSaveCheckpointHook))
    assert _checkpoints(tmp_path) == ['best_mIoU_iter_2.pth', 'iter_2.pth']
    save = runner.save_checkpoint
    _failing_save(runner, lambda name: name.startswith('best_'))
    runner.train_loop._iter = 3
    with pytest.raises(OSError):
        hook._save_best_checkpoint(runner, {'mIoU': 1000.0})
    assert 'best_mIoU_iter_2.pth' in _checkpoints(tmp_path)
    # A later successful save writes the new best and the periodic checkpoint,
    # then removes what rotation dropped (iter_2.pth).
    runner.save_checkpoint = save
    runner.train_loop._iter = 4
    hook._save_best_checkpoint(runner, {'mIoU': 2000.0})
    names = _checkpoints(tmp_path)
    assert {'best_mIoU_iter_4.pth', 'iter_4.pth'} <= set(names) and 'iter_2.pth' not in names


def test_best_saved_again_at_the_same_step_is_kept(toy_scenes_root: Path,
                                                   tmp_path: Path) -> None:
    # MMEngine removes the old best, then writes the new one under the same
    # name; the postponed removal must not delete the file just written.
    runner = _train(FailFastRunner, _config(tmp_path, toy_scenes_root, iters=2), 'rotate_same')
    hook = next(h for h in runner.hooks if isinstance(h, RotateAfterSaveCheckpointHook))
    hook._save_best_checkpoint(runner, {'mIoU': 1000.0})
    assert _checkpoints(tmp_path) == ['best_mIoU_iter_2.pth', 'iter_2.pth']
    best = safe_torch_load(str(tmp_path / 'best_mIoU_iter_2.pth'), map_location='cpu')
    assert best['state_dict'].keys() == runner.model.state_dict().keys()
