"""Fixtures of the fast-inference tests: a small PSPNet trained on the toy scenes."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import psp_plugin  # noqa: F401  (registers the plugin modules and datasets)
from psp_plugin.testing.small_toy_model import build_small_segmentor, small_toy_config, train_small_segmentor


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
    return train_small_segmentor(small_toy_cfg, steps=40)


@pytest.fixture
def trained_segmentor(small_toy_cfg: Config, trained_state: dict) -> torch.nn.Module:
    """A fresh copy of the trained small PSPNet, in eval mode."""
    segmentor = build_small_segmentor(small_toy_cfg)
    segmentor.load_state_dict(trained_state)
    return segmentor.eval()
