"""The package itself: version and registration into MMSeg's registries."""
import re
from pathlib import Path

import pytest
import torch
from mmseg.registry import DATASETS, MODELS

import psp_plugin


def test_version_is_exposed_and_matches_version_file():
    text = (Path(psp_plugin.__file__).parent / 'version.py').read_text()
    assert re.search(r"__version__ = '(.+)'", text).group(1) == psp_plugin.__version__
    assert re.fullmatch(r'\d+\.\d+\.\d+', psp_plugin.__version__)


@pytest.mark.parametrize('name', ['DilatedResNet', 'PPMHead', 'AuxFCNHead'])
def test_models_are_registered_in_mmseg_scope(name):
    assert MODELS.scope == 'mmseg'
    module_class = MODELS.get(name)
    assert module_class is not None, f'{name} is not in mmseg.registry.MODELS'
    assert module_class.__module__.startswith('psp_plugin.models.')


def test_registered_modules_build_by_name_and_run():
    backbone = MODELS.build(dict(type='DilatedResNet', depth=18, output_stride=8)).eval()
    head_cfg = dict(in_channels=512, in_index=3, channels=16, num_classes=3,
                    norm_cfg=dict(type='BN'), align_corners=False)
    decode_head = MODELS.build(dict(type='PPMHead', pool_scales=(1, 2, 3, 6), **head_cfg)).eval()
    aux_head = MODELS.build(dict(type='AuxFCNHead', **dict(head_cfg, in_channels=256, in_index=2))).eval()
    with torch.no_grad():
        features = backbone(torch.rand(1, 3, 33, 47))
        assert [f.shape[1] for f in features] == [64, 128, 256, 512]
        assert features[3].shape[2:] == (5, 6)  # ceil(33 / 8), ceil(47 / 8)
        assert decode_head(features).shape == (1, 3, 5, 6)
        assert aux_head(features).shape == (1, 3, 5, 6)


@pytest.mark.parametrize('name', ['ToySceneDataset', 'MNI152TissueDataset'])
def test_datasets_are_registered_in_mmseg_scope(name):
    dataset_class = DATASETS.get(name)
    assert dataset_class is not None, f'{name} is not in mmseg.registry.DATASETS'
    assert dataset_class.__module__.startswith('psp_plugin.datasets.')
