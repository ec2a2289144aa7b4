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


@pytest.mark.parametrize('name, package', [('PreparedSegDataset', 'psp_plugin.data.'),
                                           ('ToySceneDataset', 'psp_plugin.testing.'),
                                           ('ContextScenesDataset', 'psp_plugin.testing.')])
def test_datasets_are_registered_in_mmseg_scope(name, package):
    import psp_plugin.testing  # noqa: F401  (the synthetic datasets register on import)

    dataset_class = DATASETS.get(name)
    assert dataset_class is not None, f'{name} is not in mmseg.registry.DATASETS'
    assert dataset_class.__module__.startswith(package)


def test_install_is_idempotent_and_keeps_safe_loading(tmp_path):
    from mmengine.fileio import get_file_backend
    from mmengine.runner.checkpoint import CheckpointLoader

    from psp_plugin.engine.checkpoint import AtomicLocalBackend, install
    from psp_plugin.engine.checkpoint.safe_loading import load_local_checkpoint

    install()
    install()
    assert CheckpointLoader._schemes[''] is load_local_checkpoint
    assert isinstance(get_file_backend(str(tmp_path / 'x.pth')), AtomicLocalBackend)


def test_every_package_declares_all():
    root = Path(psp_plugin.__file__).parent
    missing = [str(init.relative_to(root.parent)) for init in root.rglob('__init__.py')
               if '__all__' not in init.read_text()]
    assert not missing, f'packages without __all__: {missing}'


def test_no_module_is_longer_than_300_lines():
    root = Path(psp_plugin.__file__).parent
    long = {str(path.relative_to(root.parent)): n for path in root.rglob('*.py')
            if (n := len(path.read_text().splitlines())) > 300}
    assert not long, f'split these modules (over 300 lines): {long}'
