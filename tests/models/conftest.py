"""Fixtures of the model tests."""
import pytest
from mmengine.registry import init_default_scope

import psp_plugin  # noqa: F401  (registers DilatedResNet, PPMHead, AuxFCNHead)


@pytest.fixture(autouse=True, scope='session')
def mmseg_default_scope() -> None:
    init_default_scope('mmseg')
