"""Every config in configs/ parses, builds the plugin's PSPNet and runs one step.

Each model is built as the config describes it (same depth, channels, heads,
inference mode), with three changes that keep the test offline and cheap:
SyncBN is reverted to BN (no process group on CPU), the backbone's pretrained
``init_cfg`` is dropped (no downloads), and the data preprocessor pads to the
tiny test input instead of the training crop size.
"""
import copy
import re
from functools import lru_cache
from pathlib import Path
from typing import List

import pytest
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from psp_plugin.engine.runner import PSP_DEFAULT_HOOKS

CONFIG_DIR = Path(__file__).resolve().parents[1] / 'configs'
# Every segmentor config; _base_ holds fragments and interop/ configs for
# other frameworks (MMDet, a bare MMEngine registry), tested by the interop tests.
NOT_SEGMENTOR_CONFIGS = {'_base_', 'interop'}
CONFIGS = sorted(path for path in CONFIG_DIR.rglob('*.py')
                 if not NOT_SEGMENTOR_CONFIGS & set(path.relative_to(CONFIG_DIR).parts))
INPUT_SIZE = (32, 32)
pytestmark = pytest.mark.usefixtures('single_thread')
PLUGIN_TYPES = {'backbone': 'DilatedResNet', 'decode_head': 'PPMHead',
                'auxiliary_head': 'AuxFCNHead'}


@lru_cache(maxsize=None)
def _parsed(config_path: Path) -> Config:
    return Config.fromfile(config_path)


def _load(config_path: Path) -> Config:
    """The parsed config (parsing resolves mmseg:: bases, ~1 s; done once per file)."""
    return copy.deepcopy(_parsed(config_path))


def _toy_batch(num_classes: int, *, batch_size: int = 2) -> dict:
    """A batch as a data loader gives it: uint8 images and label maps."""
    generator = torch.Generator().manual_seed(0)
    height, width = INPUT_SIZE
    inputs: List[torch.Tensor] = []
    data_samples: List[SegDataSample] = []
    for _ in range(batch_size):
        inputs.append(torch.randint(0, 256, (3, height, width), generator=generator,
                                    dtype=torch.uint8))
        sample = SegDataSample(metainfo=dict(img_shape=INPUT_SIZE, ori_shape=INPUT_SIZE,
                                             pad_shape=INPUT_SIZE))
        labels = torch.randint(0, num_classes, (1, height, width), generator=generator)
        sample.gt_sem_seg = PixelData(data=labels)
        data_samples.append(sample)
    return dict(inputs=inputs, data_samples=data_samples)


@pytest.mark.parametrize('config_path', CONFIGS,
                         ids=lambda path: str(path.relative_to(CONFIG_DIR)))
def test_config_builds_and_runs_one_step(config_path: Path) -> None:
    cfg = _load(config_path)
    assert 'psp_plugin' in cfg.custom_imports['imports']
    assert not cfg.custom_imports.get('allow_failed_imports', False)
    for part, type_name in PLUGIN_TYPES.items():
        assert cfg.model[part]['type'] == type_name, f'{part} is not the plugin\'s {type_name}'
    num_classes = cfg.model.decode_head.num_classes
    assert cfg.model.auxiliary_head.num_classes == num_classes

    init_default_scope('mmseg')
    cfg.model.backbone.init_cfg = None
    cfg.model.data_preprocessor.size = INPUT_SIZE
    model = revert_sync_batchnorm(MODELS.build(cfg.model))

    model.train()
    batch = model.data_preprocessor(_toy_batch(num_classes), training=True)
    losses = model.loss(batch['inputs'], batch['data_samples'])
    assert {'decode.loss_ce', 'aux.loss_ce'} <= set(losses)
    total = sum(value for key, value in losses.items() if key.startswith(('decode.loss',
                                                                          'aux.loss')))
    assert torch.isfinite(total) and total.item() > 0
    total.backward()
    assert model.decode_head.conv_seg.weight.grad is not None

    model.eval()
    batch = model.data_preprocessor(_toy_batch(num_classes), training=False)
    with torch.no_grad():
        results = model.predict(batch['inputs'], batch['data_samples'])
    for result in results:
        prediction = result.pred_sem_seg.data
        assert prediction.shape == (1, *INPUT_SIZE)
        assert 0 <= prediction.min() and prediction.max() < num_classes
        assert result.seg_logits.data.shape == (num_classes, *INPUT_SIZE)


# The toy-scenes config trains from scratch by design.
PUBLISHED_RECIPES = [p for p in sorted(CONFIG_DIR.glob('*.py')) if 'toy-scenes' not in p.name]


@pytest.mark.parametrize('config_path', PUBLISHED_RECIPES, ids=lambda path: path.name)
def test_recipes_start_from_imagenet_v1c_weights(config_path: Path) -> None:
    cfg = _load(config_path)
    backbone = cfg.model.backbone
    assert backbone.init_cfg == dict(type='Pretrained',
                                     checkpoint=f'open-mmlab://resnet{backbone.depth}_v1c')
    assert cfg.model.get('pretrained') is None  # one source of weights, not two
    # FailFastRunner's one table of default hooks adds the pretrained-weights check
    assert cfg.runner_type == 'FailFastRunner'
    assert PSP_DEFAULT_HOOKS['pretrained_check']['type'] == 'PretrainedWeightsCheckHook'
    assert cfg.default_hooks.checkpoint.save_best in ('mIoU', 'mDice')
    assert cfg.default_hooks.checkpoint.max_keep_ckpts >= 1
    assert set(cfg.val_evaluator.iou_metrics) == {'mIoU', 'mDice', 'mFscore'}
    assert cfg.env_cfg.cudnn_benchmark is True
    assert cfg.model.backbone.norm_cfg.type == 'SyncBN'
    assert 'tta_model' in cfg


SCHEDULE_IN_NAME = re.compile(r'-(\d+)k_')
SCHEDULED_RECIPES = [p for p in PUBLISHED_RECIPES if SCHEDULE_IN_NAME.search(p.name)]


@pytest.mark.parametrize('config_path', SCHEDULED_RECIPES, ids=lambda path: path.name)
def test_schedule_is_the_one_the_file_name_says(config_path: Path) -> None:
    # The longer schedules inherit their shorter sibling and override the
    # iteration counts: a missed override would train the wrong length.
    iterations = int(SCHEDULE_IN_NAME.search(config_path.name).group(1)) * 1000
    cfg = _load(config_path)
    assert (cfg.train_cfg.type, cfg.train_cfg.max_iters) == ('IterBasedTrainLoop', iterations)
    assert cfg.train_cfg.val_interval == iterations // 10
    assert cfg.default_hooks.checkpoint.interval == iterations // 10
    (poly,) = cfg.param_scheduler
    assert (poly.type, poly.begin, poly.end, poly.power, poly.eta_min, poly.by_epoch) == (
        'PolyLR', 0, iterations, 0.9, 1e-4, False)
    assert cfg.default_hooks.checkpoint.max_keep_ckpts == 3


def test_flagship_is_the_published_cityscapes_recipe() -> None:
    cfg = _load(CONFIG_DIR / 'pspnet_r50.py')
    model = cfg.model
    assert (model.backbone.depth, model.backbone.output_stride) == (50, 8)
    assert model.decode_head.channels == 512 and model.decode_head.dropout_ratio == 0.1
    assert tuple(model.decode_head.pool_scales) == (1, 2, 3, 6)
    assert (model.auxiliary_head.in_index, model.auxiliary_head.channels) == (2, 256)
    assert model.auxiliary_head.loss_decode.loss_weight == 0.4
    assert model.decode_head.num_classes == 19 and model.test_cfg.mode == 'whole'
    assert cfg.optim_wrapper.optimizer == dict(type='SGD', lr=0.01, momentum=0.9,
                                               weight_decay=0.0005)
    (poly,) = cfg.param_scheduler
    assert (poly.type, poly.power, poly.eta_min, poly.end) == ('PolyLR', 0.9, 1e-4, 40000)
    assert (cfg.train_cfg.max_iters, cfg.train_cfg.val_interval) == (40000, 4000)
    assert cfg.default_hooks.checkpoint.interval == 4000
    assert cfg.train_dataloader.batch_size == 2 and cfg.auto_scale_lr.base_batch_size == 8
    assert cfg.model.data_preprocessor.size == (512, 1024)


def test_amp_variant_uses_amp_optim_wrapper() -> None:
    cfg = _load(CONFIG_DIR / 'pspnet_r50-d8_4xb2-amp-40k_cityscapes-512x1024.py')
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.optimizer.lr == 0.01


def test_toy_config_data_root_follows_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    config_path = CONFIG_DIR / 'pspnet_r18-d8_toy-scenes-64x64.py'
    assert Config.fromfile(config_path).train_dataloader.dataset.data_root == 'data/toy_scenes'
    monkeypatch.setenv('PSP_TOY_DATA_ROOT', 'elsewhere/toy')
    cfg = Config.fromfile(config_path)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[loader].dataset.data_root == 'elsewhere/toy'
