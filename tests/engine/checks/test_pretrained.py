"""Tests for the pretrained-weights check that runs before training starts."""
import socket
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from psp_plugin.engine.checks.pretrained import (
    PretrainedWeightsUnavailableError,
    cached_download_path,
    check_pretrained_source,
    iter_pretrained_sources,
)
from psp_plugin.engine.runner import FailFastRunner

REPO_ROOT = Path(__file__).resolve().parents[3]
TOY_CONFIG = REPO_ROOT / 'configs' / 'pspnet_r18-d8_toy-scenes-64x64.py'
pytestmark = pytest.mark.usefixtures('single_thread')
RESNET50_URL = 'https://download.openmmlab.com/pretrain/third_party/resnet50_v1c-2cccc1ad.pth'


def _closed_port() -> int:
    """A local TCP port with nothing listening on it, so connections are refused."""
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


@pytest.fixture
def empty_hub_dir(tmp_path: Path):
    previous = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / 'hub'))
    yield tmp_path / 'hub'
    torch.hub.set_dir(previous)


def test_missing_local_file_names_path_and_both_remedies(tmp_path: Path) -> None:
    missing = tmp_path / 'resnet50_v1c.pth'
    with pytest.raises(PretrainedWeightsUnavailableError) as error:
        check_pretrained_source(str(missing))
    message = str(error.value)
    assert str(missing) in message
    assert '--cfg-options model.backbone.init_cfg.checkpoint=' in message
    assert '--cfg-options model.backbone.init_cfg=None' in message


def test_openmmlab_name_not_cached_and_downloads_off(empty_hub_dir: Path) -> None:
    with pytest.raises(PretrainedWeightsUnavailableError) as error:
        check_pretrained_source('open-mmlab://resnet50_v1c', allow_download=False)
    message = str(error.value)
    assert RESNET50_URL in message
    assert str(empty_hub_dir / 'checkpoints' / 'resnet50_v1c-2cccc1ad.pth') in message
    assert 'model.backbone.init_cfg=None' in message


def test_failed_download_is_reported_with_the_remedy(empty_hub_dir: Path) -> None:
    url = f'http://127.0.0.1:{_closed_port()}/weights/resnet18_v1c.pth'
    with pytest.raises(PretrainedWeightsUnavailableError, match='downloading it from') as error:
        check_pretrained_source(url, config_key='model.backbone.init_cfg')
    assert 'model.backbone.init_cfg=None' in str(error.value)


def test_cached_download_passes(empty_hub_dir: Path) -> None:
    cached = cached_download_path(RESNET50_URL)
    cached.parent.mkdir(parents=True)
    torch.save({'stem.0.weight': torch.zeros(1)}, cached)
    check_pretrained_source('open-mmlab://resnet50_v1c', allow_download=False)


def test_unknown_openmmlab_name() -> None:
    with pytest.raises(PretrainedWeightsUnavailableError, match='resnet50_v1c'):
        check_pretrained_source('open-mmlab://resnet50_v1x')


def _toy_runner_cfg(data_root: Path, work_dir: Path, checkpoint: str) -> Config:
    cfg = Config.fromfile(TOY_CONFIG)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = str(data_root)
    cfg.work_dir = str(work_dir)
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=checkpoint)
    cfg.default_hooks.pop('visualization')
    return cfg


def test_training_stops_before_the_first_iteration(toy_scenes_root: Path, tmp_path: Path) -> None:
    missing = tmp_path / 'not_here.pth'
    runner = FailFastRunner.from_cfg(_toy_runner_cfg(toy_scenes_root, tmp_path / 'work', str(missing)))
    with pytest.raises(PretrainedWeightsUnavailableError, match='model.backbone.init_cfg=None'):
        runner.train()
    assert runner.iter == 0
    assert not list((tmp_path / 'work').glob('*.pth'))


def test_testing_is_not_blocked(toy_scenes_root: Path, tmp_path: Path) -> None:
    missing = tmp_path / 'not_here.pth'
    runner = FailFastRunner.from_cfg(_toy_runner_cfg(toy_scenes_root, tmp_path / 'work', str(missing)))
    metrics = runner.test()  # random weights: testing never reads init_cfg
    assert 'mIoU' in metrics


def test_local_imagenet_v1c_file_initialises_the_backbone(tmp_path: Path) -> None:
    """A file laid out like open-mmlab://resnet18_v1c (stem.*, layer*.*, fc.*) loads."""
    init_default_scope('mmseg')
    reference = MODELS.build(dict(type='DilatedResNet', depth=18))
    generator = torch.Generator().manual_seed(0)
    imagenet_state = {key: torch.randn(value.shape, generator=generator).to(value.dtype)
                      if value.is_floating_point() else value.clone()
                      for key, value in reference.state_dict().items()}
    assert any(key.startswith('stem.') for key in imagenet_state)
    assert any(key.startswith('layer4.') for key in imagenet_state)
    imagenet_state['fc.weight'] = torch.randn(1000, 512, generator=generator)
    imagenet_state['fc.bias'] = torch.randn(1000, generator=generator)
    weights_file = tmp_path / 'resnet18_v1c.pth'
    torch.save(dict(state_dict=imagenet_state), weights_file)

    backbone = MODELS.build(dict(type='DilatedResNet', depth=18, init_cfg=dict(
        type='Pretrained', checkpoint=str(weights_file))))
    assert list(iter_pretrained_sources(backbone)) == [('', str(weights_file))]
    check_pretrained_source(str(weights_file))
    backbone.init_weights()
    loaded = backbone.state_dict()
    assert 'fc.weight' not in loaded
    for key, value in loaded.items():
        assert torch.equal(value, imagenet_state[key]), key
