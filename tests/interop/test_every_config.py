"""Every plugin config feeds MMSeg's inference APIs; the toy config runs them end to end.

Building each config's model is tests/test_configs.py's job; here every
config's inference pipelines go through MMSeg's own ``inference_model`` data
preparation and ``MMSegInferencer`` pipeline, and one config (the toy scenes,
small enough for CPU) runs init_model -> inference_model, MMSegInferencer and
the demo command with a checkpoint.
"""
import copy
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine import Config
from mmengine.registry import init_default_scope

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted([*(ROOT / 'configs').glob('*.py'), *(ROOT / 'configs' / 'deploy').glob('*.py')])
TOY_CONFIG = ROOT / 'configs' / 'pspnet_r18-d8_toy-scenes-64x64.py'


def _image(height: int = 40, width: int = 60) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize('config_path', CONFIGS, ids=lambda path: path.name)
def test_config_pipelines_serve_the_inference_apis(config_path):
    from mmseg.apis import MMSegInferencer
    from mmseg.apis.utils import _preprare_data

    cfg = Config.fromfile(str(config_path))
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    assert 'test_pipeline' in cfg, 'inference_model reads the top-level test_pipeline'
    assert cfg.model.test_cfg.get('mode', 'whole') in ('whole', 'slide')
    assert cfg.visualizer.type == 'SegLocalVisualizer'

    data, is_batch = _preprare_data(_image(), SimpleNamespace(cfg=copy.deepcopy(cfg)))
    assert not is_batch and data['inputs'][0].dtype == torch.uint8
    assert data['data_samples'][0].ori_shape == (40, 60)

    inferencer_pipeline = MMSegInferencer._init_pipeline(object.__new__(MMSegInferencer),
                                                         copy.deepcopy(cfg))
    packed = inferencer_pipeline(_image())
    assert packed['inputs'].shape[0] == 3 and packed['data_samples'].ori_shape == (40, 60)


@pytest.fixture(scope='module')
def toy_checkpoint(tmp_path_factory):
    """The toy config's model with PyTorch-default weights, saved as MMEngine saves it."""
    from mmseg.registry import MODELS

    cfg = Config.fromfile(str(TOY_CONFIG))
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    classes = ('background', 'sky', 'road', 'tree')
    palette = [[0, 0, 0], [70, 130, 180], [128, 64, 128], [107, 142, 35]]
    path = tmp_path_factory.mktemp('toy') / 'toy.pth'
    torch.save({'state_dict': model.state_dict(),
                'meta': {'dataset_meta': {'classes': classes, 'palette': palette}}}, path)
    return path


def test_toy_config_through_every_inference_entry_point(toy_checkpoint, tmp_path):
    from mmseg.apis import MMSegInferencer, inference_model, init_model

    from psp_plugin.inference import images as demo

    image = _image(50, 70)
    model = init_model(str(TOY_CONFIG), str(toy_checkpoint), device='cpu')
    expected = inference_model(model, image).pred_sem_seg.data[0].numpy()
    assert expected.shape == (50, 70)

    inferencer = MMSegInferencer(model=str(TOY_CONFIG), weights=str(toy_checkpoint), device='cpu')
    np.testing.assert_array_equal(inferencer(image)['predictions'], expected)

    cv2.imwrite(str(tmp_path / 'scene.png'), image)
    demo.segment_images(tmp_path / 'scene.png', config=str(TOY_CONFIG), checkpoint=str(toy_checkpoint),
                        out=tmp_path / 'out')
    labels = cv2.imread(str(tmp_path / 'out' / 'labels' / 'scene.png'), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(labels, expected)
