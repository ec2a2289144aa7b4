"""Issue 11 end to end: `mim train` with one image per batch on CPU."""
from pathlib import Path

import pytest
import torch

from psp_plugin.engine.checkpoint.safe_loading import safe_torch_load
from psp_plugin.testing.mim import TOY_CONFIG, run_mim

pytestmark = pytest.mark.e2e


def test_mim_train_two_iterations_at_batch_size_one(toy_scenes_root: Path,
                                                    tmp_path: Path) -> None:
    work_dir = tmp_path / 'batch1'
    output = run_mim([
        'train', 'mmsegmentation', str(TOY_CONFIG), '--gpus', '0',
        '--work-dir', str(work_dir), '--cfg-options',
        'train_dataloader.batch_size=1', 'train_cfg.max_iters=2',
        'train_cfg.val_interval=1000', 'default_hooks.checkpoint.interval=2',
        'default_hooks.logger.interval=1'
    ], data_root=toy_scenes_root, cwd=tmp_path).output
    assert 'Iter(train) [2/2]' in output, output[-3000:]
    dumped_cfg = (work_dir / TOY_CONFIG.name).read_text()
    assert "batch_size=1" in dumped_cfg.split('train_dataloader')[1][:200]

    state = safe_torch_load(str(work_dir / 'iter_2.pth'), map_location='cpu')['state_dict']
    for key, value in state.items():
        if value.is_floating_point():
            assert torch.isfinite(value).all(), key
    # each step had one image: the 1x1 bin normalised with running statistics
    # (never updated), the 2x2 bin with batch statistics (updated twice)
    assert state['decode_head.psp_modules.0.1.bn.num_batches_tracked'] == 0
    assert state['decode_head.psp_modules.1.1.bn.num_batches_tracked'] == 2
