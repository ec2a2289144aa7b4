"""Plugin modules built from a bare MMEngine registry of another project, by scoped name."""
from pathlib import Path

import torch
from mmengine import Config
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import Registry

CONFIG = Path(__file__).parents[2] / 'configs' / 'interop' / 'mmengine_registry_child.py'


def test_child_registry_builds_plugin_modules_by_scoped_name():
    cfg = Config.fromfile(str(CONFIG))
    my_models = Registry('model', parent=ROOT_MODELS, scope='my_project_interop_test')
    backbone = my_models.build(cfg.backbone).eval()
    head = my_models.build(cfg.decode_head).eval()

    from psp_plugin.models import DilatedResNet, PPMHead
    assert isinstance(backbone, DilatedResNet) and isinstance(head, PPMHead)
    with torch.no_grad():
        features = backbone(torch.rand(2, 3, 64, 64))
        logits = head(features)
    assert [tuple(f.shape) for f in features] == [
        (2, 64, 16, 16), (2, 128, 8, 8), (2, 256, 8, 8), (2, 512, 8, 8)]
    assert logits.shape == (2, 5, 8, 8) and torch.isfinite(logits).all()


def test_unscoped_name_is_not_found_in_the_child_scope():
    my_models = Registry('model', parent=ROOT_MODELS, scope='my_project_unscoped')
    assert my_models.get('DilatedResNet') is None
    assert my_models.get('mmseg.DilatedResNet') is not None
