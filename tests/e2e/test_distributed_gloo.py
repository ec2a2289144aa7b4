"""Distributed training on CPU: two gloo processes running the plugin through MMEngine's Runner.

MMEngine's ``pytorch`` launcher calls ``torch.cuda.set_device``, so on CPU the
process group is initialised here first (gloo, TCP rendezvous); the Runner is
then built with ``launcher='pytorch'``, sees an initialised group and skips
its own initialisation, and wraps the model in ``MMDistributedDataParallel``
without device ids (a CPU module). Everything after that — DDP gradient
averaging, the distributed samplers, metric gathering across ranks — is
MMEngine's ordinary code path.
"""
import os
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.config import Config

from psp_plugin.testing.mim import TOY_CONFIG

pytestmark = pytest.mark.e2e
WORLD_SIZE = 2
MAX_ITERS = 4


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def _train_on_rank(rank: int, config_file: str, port: int, out_dir: str) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(WORLD_SIZE),
                      MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                            world_size=WORLD_SIZE)
    try:
        from mmengine.runner import Runner

        import psp_plugin  # noqa: F401  (registers the plugin in this process)

        runner = Runner.from_cfg(Config.fromfile(config_file))
        runner.train()
        metrics = runner.val_loop.run()  # SyncBuffersHook averages BN statistics first
        torch.save(dict(world_size=dist.get_world_size(),
                        wrapper=type(runner.model).__name__,
                        metrics={key: float(value) for key, value in metrics.items()},
                        state_dict=runner.model.module.state_dict()),
                   Path(out_dir) / f'rank{rank}.pt')
    finally:
        dist.destroy_process_group()


def _toy_cfg(data_root: Path, work_dir: Path) -> Config:
    cfg = Config.fromfile(TOY_CONFIG)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = str(data_root)
    cfg.work_dir = str(work_dir)
    cfg.train_dataloader.batch_size = 2
    cfg.train_cfg.max_iters = MAX_ITERS
    cfg.train_cfg.val_interval = MAX_ITERS + 1  # validate once, explicitly, after training
    cfg.param_scheduler[0].end = MAX_ITERS
    cfg.default_hooks.checkpoint.interval = MAX_ITERS
    cfg.default_hooks.checkpoint.save_best = None
    cfg.default_hooks.pop('visualization')
    return cfg


def test_two_gloo_ranks_train_in_step_and_gather_metrics(toy_scenes_root: Path,
                                                         tmp_path: Path) -> None:
    cfg = _toy_cfg(toy_scenes_root, tmp_path / 'ddp')
    cfg.launcher = 'pytorch'
    cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None)
    # Plain BN keeps per-rank running statistics (SyncBN needs CUDA); MMEngine's
    # SyncBuffersHook averages them across ranks before validation.
    cfg.custom_hooks = [*cfg.get('custom_hooks', []), dict(type='SyncBuffersHook')]
    config_file = tmp_path / 'ddp_config.py'
    cfg.dump(str(config_file))

    mp.spawn(_train_on_rank, args=(str(config_file), _free_port(), str(tmp_path)),
             nprocs=WORLD_SIZE, join=True)

    ranks = [torch.load(tmp_path / f'rank{r}.pt', weights_only=True) for r in range(WORLD_SIZE)]
    assert all(r['world_size'] == WORLD_SIZE for r in ranks)
    assert all(r['wrapper'] == 'MMDistributedDataParallel' for r in ranks)
    # DDP averaged the gradients and SyncBuffersHook the BN statistics, so both
    # replicas hold the same weights and buffers.
    assert ranks[0]['state_dict'].keys() == ranks[1]['state_dict'].keys()
    for key, value in ranks[0]['state_dict'].items():
        assert torch.allclose(value.float(), ranks[1]['state_dict'][key].float()), key
    assert (tmp_path / 'ddp' / f'iter_{MAX_ITERS}.pth').is_file()  # rank 0 saved it
    # Each rank evaluated half of the 4 validation images; the gathered metrics
    # equal one process evaluating all of them with the same weights.
    assert ranks[0]['metrics'] == ranks[1]['metrics']

    from mmengine.runner import Runner
    weights = tmp_path / 'ddp_weights.pth'
    torch.save(dict(state_dict=ranks[0]['state_dict']), weights)
    single = _toy_cfg(toy_scenes_root, tmp_path / 'single')
    single.load_from = str(weights)
    single_metrics = Runner.from_cfg(single).test()
    assert ranks[0]['metrics']['mIoU'] == pytest.approx(float(single_metrics['mIoU']))
    assert ranks[0]['metrics']['aAcc'] == pytest.approx(float(single_metrics['aAcc']))
