"""Fixtures of the fast-inference tests: a small PSPNet trained on the toy scenes."""
import copy
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

import psp_plugin  # noqa: F401  (registers the plugin modules and datasets)

TOY_CONFIG = Path(__file__).parents[2] / 'configs' / 'pspnet_r18-d8_toy-scenes-64x64.py'


def small_toy_config(data_root: Path) -> Config:
    """The toy-scenes config with a 16-channel-wide R18 so training takes seconds."""
    cfg = Config.fromfile(str(TOY_CONFIG))
    cfg.model.backbone.update(base_channels=16, stem_channels=16, norm_cfg=dict(type='BN'))
    cfg.model.decode_head.update(in_channels=128, channels=32, norm_cfg=dict(type='BN'))
    cfg.model.auxiliary_head.update(in_channels=64, channels=16, norm_cfg=dict(type='BN'))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = str(data_root)
    return cfg


def build_small_segmentor(cfg: Config) -> torch.nn.Module:
    """An untrained segmentor from ``cfg``, as ``init_model`` builds it (with ``.cfg``)."""
    from mmseg.apis import init_model
    torch.manual_seed(0)
    return init_model(copy.deepcopy(cfg), checkpoint=None, device='cpu')


def preprocessed_images(segmentor: torch.nn.Module, cfg: Config, split: str) -> torch.Tensor:
    """All images of a toy split, preprocessed by the model: (N, 3, 64, 64)."""
    from mmseg.registry import DATASETS
    dataset_cfg = copy.deepcopy(cfg.val_dataloader.dataset)
    dataset_cfg.data_prefix = dict(img_path=f'img_dir/{split}', seg_map_path=f'ann_dir/{split}')
    dataset = DATASETS.build(dataset_cfg)
    batch = pseudo_collate([dataset[i] for i in range(len(dataset))])
    with torch.no_grad():
        return segmentor.data_preprocessor(batch, False)['inputs']


@pytest.fixture(autouse=True, scope='module')
def one_cpu_thread():
    """Run these tests on one thread: on a shared 2-core machine, 2 oneDNN threads contend."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='session')
def small_toy_cfg(toy_scenes_root: Path) -> Config:
    init_default_scope('mmseg')
    return small_toy_config(toy_scenes_root)


@pytest.fixture(scope='session')
def trained_state(small_toy_cfg: Config) -> dict:
    """State dict of the small PSPNet after 40 SGD steps on the toy training scenes."""
    from mmseg.registry import DATASETS
    segmentor = build_small_segmentor(small_toy_cfg).train()
    dataset = DATASETS.build(copy.deepcopy(small_toy_cfg.train_dataloader.dataset))
    batch = pseudo_collate([dataset[i] for i in range(len(dataset))])
    optimizer = torch.optim.SGD(segmentor.parameters(), lr=0.05, momentum=0.9)
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    for _ in range(40):
        losses = segmentor.loss(**segmentor.data_preprocessor(batch, True))
        total = sum(value for name, value in losses.items() if 'loss' in name)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
    torch.set_num_threads(threads)
    return copy.deepcopy(segmentor.state_dict())


@pytest.fixture
def trained_segmentor(small_toy_cfg: Config, trained_state: dict) -> torch.nn.Module:
    """A fresh copy of the trained small PSPNet, in eval mode."""
    segmentor = build_small_segmentor(small_toy_cfg)
    segmentor.load_state_dict(trained_state)
    return segmentor.eval()
