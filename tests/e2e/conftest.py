"""Shared end-to-end fixtures: one real `mim train` run on the toy scenes."""
from pathlib import Path

import pytest

from psp_plugin.testing.mim import TOY_CONFIG, run_mim

TOY_MAX_ITERS = 20


@pytest.fixture(scope='session')
def toy_train_run(toy_scenes_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Train the toy config for 20 iterations (val + checkpoint every 10) with mim."""
    work_dir = tmp_path_factory.mktemp('toy_train')
    output = run_mim(['train', 'mmsegmentation', str(TOY_CONFIG), '--gpus', '0',
                      '--work-dir', str(work_dir)], data_root=toy_scenes_root, cwd=work_dir).output
    return dict(work_dir=work_dir, output=output, data_root=toy_scenes_root)
