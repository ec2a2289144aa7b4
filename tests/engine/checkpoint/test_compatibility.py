"""Checkpoints that do not fit the model are refused with the numbers and keys that differ."""
import copy
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS
from mmseg.utils import register_all_modules

from psp_plugin.engine import CheckpointMismatchError, FailFastRunner
from psp_plugin.engine.checkpoint.compatibility import check_checkpoint_fits

REPO_ROOT = Path(__file__).resolve().parents[3]
TOY_CONFIG = REPO_ROOT / 'configs' / 'pspnet_r18-d8_toy-scenes-64x64.py'
RUNTIME_FRAGMENT = REPO_ROOT / 'configs' / '_base_' / 'psp_runtime.py'


@pytest.fixture(scope='module')
def toy_cfg() -> Config:
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(str(TOY_CONFIG))
    cfg.merge_from_dict(Config.fromfile(str(RUNTIME_FRAGMENT)).to_dict())
    return cfg


def _build(toy_cfg: Config, **changes) -> torch.nn.Module:
    model_cfg = copy.deepcopy(toy_cfg.model)
    model_cfg.decode_head.num_classes = changes.get('num_classes', 4)
    model_cfg.auxiliary_head.num_classes = changes.get('num_classes', 4)
    if 'depth' in changes:
        model_cfg.backbone.depth = changes['depth']
        model_cfg.decode_head.in_channels = 2048
        model_cfg.auxiliary_head.in_channels = 1024
    return MODELS.build(model_cfg)


def test_same_model_fits(toy_cfg: Config) -> None:
    model = _build(toy_cfg)
    check_checkpoint_fits(model, model.state_dict())


def test_num_classes_mismatch_names_both_numbers_and_the_fix(toy_cfg: Config) -> None:
    with pytest.raises(CheckpointMismatchError) as error:
        check_checkpoint_fits(_build(toy_cfg), _build(toy_cfg, num_classes=150).state_dict())
    message = str(error.value)
    assert ("num_classes=4 in the config (model.decode_head.num_classes) but the checkpoint's "
            'classifier decode_head.conv_seg has 150 outputs') in message
    assert 'model.auxiliary_head.num_classes=150' in message
    assert 'allow_new_classifier=True' in message
    assert 'another architecture' not in message


def test_new_classifier_can_be_allowed_for_fine_tuning(toy_cfg: Config) -> None:
    check_checkpoint_fits(_build(toy_cfg), _build(toy_cfg, num_classes=150).state_dict(),
                          allow_new_classifier=True)


def test_other_architecture_is_summarised_by_module(toy_cfg: Config) -> None:
    with pytest.raises(CheckpointMismatchError) as error:
        check_checkpoint_fits(_build(toy_cfg), _build(toy_cfg, depth=50).state_dict())
    message = str(error.value)
    assert 'looks like another architecture: 0 of the model\'s' in message
    assert '198 of its keys are unexpected (backbone.layer3.* (84), ' in message
    assert ('backbone.layer1.0.conv1.weight: model (64, 64, 3, 3), '
            'checkpoint (64, 64, 1, 1)') in message
    assert 'tensors of the checkpoint have other shapes than the model\'s' in message


def test_module_prefix_of_wrapped_models_is_ignored(toy_cfg: Config) -> None:
    model = _build(toy_cfg)
    check_checkpoint_fits(model, {f'module.{k}': v for k, v in model.state_dict().items()})


@pytest.mark.parametrize('allow_new_classifier', [False, True])
def test_runner_load_checkpoint_is_checked(toy_cfg: Config, tmp_path: Path,
                                           allow_new_classifier: bool) -> None:
    checkpoint = tmp_path / 'ade20k_like.pth'
    foreign = _build(toy_cfg, num_classes=150)
    torch.save({'state_dict': foreign.state_dict()}, checkpoint)
    cfg = copy.deepcopy(toy_cfg)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.default_hooks.checkpoint_compat = dict(type='CheckpointCompatibilityHook',
                                               allow_new_classifier=allow_new_classifier)
    cfg.experiment_name = f'compat_{allow_new_classifier}'
    runner = FailFastRunner.from_cfg(cfg)
    own_classifier = runner.model.decode_head.conv_seg.weight.detach().clone()
    if not allow_new_classifier:
        with pytest.raises(CheckpointMismatchError, match='has 150 outputs'):
            runner.load_checkpoint(str(checkpoint))
        return
    runner.load_checkpoint(str(checkpoint))
    assert torch.equal(runner.model.decode_head.conv_seg.weight, own_classifier)
    assert torch.equal(runner.model.backbone.stem[0].weight, foreign.backbone.stem[0].weight)
