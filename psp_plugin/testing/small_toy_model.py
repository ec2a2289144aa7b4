"""A small PSPNet on the toy scenes (16-channel-wide R18) that trains in seconds: for tests and benchmarks."""
from __future__ import annotations

import copy
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from psp_plugin.config_files import config_path

__all__ = ['TOY_CONFIG', 'build_small_segmentor', 'preprocessed_images', 'small_toy_config',
           'train_small_segmentor']

TOY_CONFIG = config_path('pspnet_r18-d8_toy-scenes-64x64.py')


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


def train_small_segmentor(cfg: Config, *, steps: int = 40, lr: float = 0.05) -> dict:
    """State dict of the small PSPNet after ``steps`` full-batch SGD steps on the toy training scenes.

    Deterministic (seed 0, one thread during training).
    """
    from mmseg.registry import DATASETS
    segmentor = build_small_segmentor(cfg).train()
    dataset = DATASETS.build(copy.deepcopy(cfg.train_dataloader.dataset))
    batch = pseudo_collate([dataset[i] for i in range(len(dataset))])
    optimizer = torch.optim.SGD(segmentor.parameters(), lr=lr, momentum=0.9)
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _ in range(steps):
            losses = segmentor.loss(**segmentor.data_preprocessor(batch, True))
            total = sum(value for name, value in losses.items() if 'loss' in name)
            optimizer.zero_grad()
            total.backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)
    return copy.deepcopy(segmentor.state_dict())
