"""Fixtures shared across the test suite."""
from pathlib import Path

import pytest
import torch

from psp_plugin.testing.toy_scenes import make_toy_scenes


@pytest.fixture(scope='session')
def toy_scenes_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The toy-scenes dataset (8 train, 4 val, 64x64), generated once per session."""
    return make_toy_scenes(tmp_path_factory.mktemp('toy_scenes'))


@pytest.fixture
def single_thread():
    """Run a test with one intra-op thread, restoring the previous count after.

    For tests on tiny inputs, which gain nothing from more threads, while
    OpenMP threads spinning on a busy shared machine slow them down many times.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
