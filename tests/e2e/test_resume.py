"""An interrupted training run continued with ``--resume`` ends bit-identical.

Reference: 6 uninterrupted iterations (deterministic, CPU; dropout and random
flips consume the generators every iteration; validation at 3 and 6). The
interrupted runs are real ``mim train`` processes stopped by a signal right
after iteration 4's checkpoint and continued with ``mim train --resume``.
"""
import subprocess
from pathlib import Path

import pytest

from psp_plugin.testing.mim import run_mim
from psp_plugin.testing.reliability import assert_bit_identical, reference_work_dir, resume_config

pytestmark = pytest.mark.e2e


def _mim_train(config: Path, work_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    """Run ``mim train`` on CPU; the config imports the test hooks from psp_plugin.testing."""
    return run_mim(['train', 'mmsegmentation', str(config), '--gpus', '0', '--work-dir', str(work_dir),
                    *extra], cwd=work_dir.parent, check=False, threads=None)


def test_mim_resume_after_sigterm_matches_uninterrupted_run(
        toy_scenes_root: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    reference = reference_work_dir(tmp_path_factory, toy_scenes_root)
    work_dir = tmp_path / 'work'
    work_dir.mkdir()
    interrupted = resume_config(
        work_dir=work_dir, data_root=toy_scenes_root,
        extra_hooks=dict(interrupt=dict(type='SignalAtIterationHook', iteration=4,
                                        signal_name='SIGTERM')),
        extra_imports=('psp_plugin.testing.reliability',))
    interrupted.dump(str(tmp_path / 'interrupted.py'))
    killed = _mim_train(tmp_path / 'interrupted.py', work_dir)

    assert killed.returncode != 0, 'the training process was not interrupted'
    assert (work_dir / 'iter_4.pth').is_file()
    assert not (work_dir / 'iter_6.pth').exists()  # stopped mid-run
    assert (work_dir / 'last_checkpoint').read_text().strip().endswith('iter_4.pth')

    resume_config(work_dir=work_dir, data_root=toy_scenes_root).dump(str(tmp_path / 'plain.py'))
    resumed = _mim_train(tmp_path / 'plain.py', work_dir, '--resume')
    output = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, output[-6000:]
    assert 'resumed epoch: 0, iter: 4' in output
    assert_bit_identical(reference / 'iter_6.pth', work_dir / 'iter_6.pth')


def test_resume_without_random_states_is_not_exact(
        toy_scenes_root: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    """Control: plain MMEngine (no RandomStateHook) does not resume exactly here.

    This shows the reference run really depends on the generator states, so
    the test above cannot pass by accident.
    """
    from psp_plugin.testing.reliability import train_in_process

    reference = reference_work_dir(tmp_path_factory, toy_scenes_root)
    cfg = resume_config(work_dir=tmp_path, data_root=toy_scenes_root)
    cfg.default_hooks.random_state = None
    cfg.train_cfg.max_iters = 2
    train_in_process(cfg, name='reliability_plain_first_half')
    cfg = resume_config(work_dir=tmp_path, data_root=toy_scenes_root)
    cfg.default_hooks.random_state = None
    cfg.resume = True
    cfg.train_cfg.max_iters = 4
    train_in_process(cfg, name='reliability_plain_second_half')
    with pytest.raises(AssertionError, match='tensors differ'):
        assert_bit_identical(reference / 'iter_4.pth', tmp_path / 'iter_4.pth')
