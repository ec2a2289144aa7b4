"""Generator states survive a checkpoint round trip and restore every stream."""
import io
import random

import numpy as np
import torch

import psp_plugin  # noqa: F401  (safe globals for weights_only loads)
from psp_plugin.engine.hooks.random_state_hook import (
    RandomStateHook,
    capture_random_states,
    restore_random_states,
)


def _draw() -> tuple:
    """One draw from each global generator (np.random.normal uses the Gaussian cache)."""
    return (random.random(), float(np.random.normal()), float(np.random.rand()),
            torch.rand(3).tolist())


def test_states_round_trip_through_a_weights_only_checkpoint() -> None:
    np.random.normal()  # leave a cached Gaussian in NumPy's state
    checkpoint = {'meta': {'iter': 2}}
    RandomStateHook().before_save_checkpoint(runner=None, checkpoint=checkpoint)
    expected = _draw()
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)
    _draw()
    restore_random_states(loaded['random_states'])
    assert _draw() == expected


def test_restore_is_exact_for_python_numpy_and_torch() -> None:
    states = capture_random_states()
    first = [_draw() for _ in range(3)]
    restore_random_states(states)
    assert [_draw() for _ in range(3)] == first
    assert set(states) >= {'python', 'numpy', 'torch'}


def test_validation_does_not_consume_training_random_streams() -> None:
    hook = RandomStateHook()
    states = capture_random_states()
    expected = _draw()
    restore_random_states(states)
    hook.before_val(runner=None)
    _draw()  # what a validation dataloader would consume
    checkpoint = {}
    hook.before_save_checkpoint(runner=None, checkpoint=checkpoint)  # save_best inside val
    hook.after_val(runner=None)
    assert _draw() == expected
    restore_random_states(checkpoint['random_states'])
    assert _draw() == expected
