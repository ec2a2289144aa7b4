"""Configs that use psp_plugin types must import psp_plugin; the error says how."""
from pathlib import Path

import pytest
from mmengine.config import Config

from psp_plugin.engine.checks.config import ConfigCheckError, check_custom_imports, plugin_type_names

REPO_ROOT = Path(__file__).resolve().parents[3]
TOY_CONFIG = REPO_ROOT / 'configs' / 'pspnet_r18-d8_toy-scenes-64x64.py'
CONFIG_WITHOUT_IMPORTS = """
default_scope = 'mmseg'
model = dict(type='EncoderDecoder',
             backbone=dict(type='DilatedResNet', depth=18),
             decode_head=dict(type='PPMHead', in_channels=512, channels=16, num_classes=4))
"""


def test_plugin_types_are_known() -> None:
    assert {'DilatedResNet', 'PPMHead', 'AuxFCNHead', 'ToySceneDataset',
            'StartupChecksHook', 'FailFastRunner'} <= plugin_type_names()


def test_config_without_custom_imports_is_named_with_the_line_to_add(tmp_path: Path) -> None:
    path = tmp_path / 'my_pspnet.py'
    path.write_text(CONFIG_WITHOUT_IMPORTS)
    with pytest.raises(ConfigCheckError) as error:
        check_custom_imports(Config.fromfile(str(path)))
    message = str(error.value)
    assert f'{path} uses psp_plugin types [\'DilatedResNet\', \'PPMHead\']' in message
    assert "custom_imports = dict(imports=['psp_plugin'], allow_failed_imports=False)" in message


def test_config_with_custom_imports_passes(tmp_path: Path) -> None:
    path = tmp_path / 'my_pspnet.py'
    path.write_text(CONFIG_WITHOUT_IMPORTS + "custom_imports = dict(imports=['psp_plugin'])\n")
    check_custom_imports(Config.fromfile(str(path)))


def test_shipped_toy_config_passes() -> None:
    check_custom_imports(Config.fromfile(str(TOY_CONFIG)))

