"""Shared end-to-end fixtures: one real `mim train` run on the toy scenes."""
import os
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TOY_CONFIG = REPO_ROOT / 'configs' / 'pspnet_r18-d8_toy-scenes-64x64.py'
MIM = Path(sys.executable).with_name('mim')
TOY_MAX_ITERS = 20


def run_mim(args: List[str], *, data_root: Path, cwd: Path, timeout: int = 600) -> str:
    """Run ``mim ARGS`` on the toy data; return its stdout+stderr, failing loudly."""
    env = dict(os.environ, PSP_TOY_DATA_ROOT=str(data_root))
    # 64x64 images gain nothing from intra-op threads, and spinning OpenMP
    # threads slow a busy shared machine down many times over.
    env.setdefault('OMP_NUM_THREADS', '1')
    completed = subprocess.run([str(MIM), *args], cwd=cwd, env=env, capture_output=True,
                               text=True, timeout=timeout)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, f'mim {" ".join(args)} failed:\n{output[-6000:]}'
    return output


@pytest.fixture(scope='session')
def toy_train_run(toy_scenes_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Train the toy config for 20 iterations (val + checkpoint every 10) with mim."""
    work_dir = tmp_path_factory.mktemp('toy_train')
    output = run_mim(['train', 'mmsegmentation', str(TOY_CONFIG), '--gpus', '0',
                      '--work-dir', str(work_dir)], data_root=toy_scenes_root, cwd=work_dir)
    return dict(work_dir=work_dir, output=output, data_root=toy_scenes_root)
