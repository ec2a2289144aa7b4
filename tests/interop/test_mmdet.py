"""An MMDetection detector whose backbone is the plugin's DilatedResNet, by scoped name."""
from pathlib import Path

import pytest
import torch

CONFIG = Path(__file__).parents[2] / 'configs' / 'interop' / 'mmdet_retinanet_dilated-r18.py'


@pytest.fixture(scope='module')
def detector():
    from mmdet.registry import MODELS
    from mmengine import Config
    from mmengine.registry import init_default_scope

    cfg = Config.fromfile(str(CONFIG))
    assert cfg.model.backbone.type == 'mmseg.DilatedResNet'
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    torch.manual_seed(0)
    return MODELS.build(cfg.model).eval()


def test_backbone_comes_from_the_plugin(detector):
    from psp_plugin.models import DilatedResNet

    assert type(detector).__name__ == 'RetinaNet'
    assert isinstance(detector.backbone, DilatedResNet)


def test_forward_gives_one_map_per_fpn_level(detector):
    with torch.no_grad():
        cls_scores, bbox_preds = detector(torch.rand(2, 3, 128, 160), mode='tensor')
    num_anchors, num_classes = 9, 80
    sizes = [(16, 20), (8, 10), (4, 5), (2, 3), (1, 2)]
    assert [tuple(s.shape) for s in cls_scores] == [
        (2, num_anchors * num_classes, *hw) for hw in sizes]
    assert [tuple(b.shape) for b in bbox_preds] == [(2, num_anchors * 4, *hw) for hw in sizes]
    assert all(torch.isfinite(s).all() for s in cls_scores)


def test_predict_returns_boxes_through_mmdet_data_samples(detector):
    from mmdet.structures import DetDataSample

    sample = DetDataSample(metainfo=dict(img_shape=(128, 160), ori_shape=(128, 160),
                                         scale_factor=(1.0, 1.0), pad_shape=(128, 160)))
    with torch.no_grad():
        result = detector.predict(torch.rand(1, 3, 128, 160), [sample])[0]
    boxes = result.pred_instances.bboxes
    assert boxes.ndim == 2 and boxes.shape[1] == 4
    assert (boxes[:, 2] >= boxes[:, 0]).all() and (boxes[:, 2] <= 160).all()
