"""Safe loading of MMEngine checkpoints on every torch >= 2.1 (psp_plugin.engine.checkpoint.safe_loading).

Both loaders run here on any torch: ``'torch'`` (``weights_only=True``, what torch >= 2.6 uses) and
``'psp_plugin'`` (the restricted unpickler, what torch 2.1-2.5 use).
"""
import collections
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner, load_checkpoint

from psp_plugin.engine.checkpoint import safe_loading
from psp_plugin.engine.checkpoint.restricted_unpickler import RefusedByAllowList
from psp_plugin.engine.checkpoint.safe_loading import CheckpointLoadError, restricted_getattr, safe_torch_load

NEEDS_TORCH_2_6 = pytest.mark.skipif(
    not safe_loading.TORCH_LOADS_NAMED_SAFE_GLOBALS,
    reason=f'torch {torch.__version__} < 2.6: torch.load(weights_only=True) cannot load MMEngine checkpoints '
           '(no (object, name) safe globals); psp_plugin loads them with its restricted unpickler there')
LOADERS = [pytest.param('torch', marks=NEEDS_TORCH_2_6), 'psp_plugin']


class TinyRegressor(BaseModel):
    """A linear model small enough to train in milliseconds."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(4, 1)

    def forward(self, inputs: torch.Tensor, targets: torch.Tensor, mode: str = 'tensor'):
        outputs = self.linear(inputs)
        if mode == 'loss':
            return {'loss': torch.nn.functional.mse_loss(outputs, targets)}
        return outputs


class RandomPairs(torch.utils.data.Dataset):
    """Eight fixed (inputs, targets) pairs."""

    def __init__(self) -> None:
        generator = torch.Generator().manual_seed(0)
        self.inputs = torch.randn(8, 4, generator=generator)
        self.targets = torch.randn(8, 1, generator=generator)

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, index: int) -> dict:
        return {'inputs': self.inputs[index], 'targets': self.targets[index]}


def make_runner(work_dir: Path, max_iters: int, **kwargs) -> Runner:
    """A real MMEngine Runner training TinyRegressor, checkpointing every iteration."""
    return Runner(
        model=TinyRegressor(),
        work_dir=str(work_dir),
        train_dataloader=dict(dataset=RandomPairs(), sampler=dict(type='DefaultSampler', shuffle=True),
                              batch_size=2, num_workers=0, collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False),
                           logger=dict(type='LoggerHook', interval=1)),
        randomness=dict(seed=0),
        default_scope='mmengine',
        **kwargs)


@pytest.fixture(scope='module')
def mmengine_checkpoint(tmp_path_factory) -> Path:
    """iter_2.pth written by a real two-iteration MMEngine training run."""
    work_dir = tmp_path_factory.mktemp('mmengine_run')
    make_runner(work_dir, max_iters=2).train()
    checkpoint = work_dir / 'iter_2.pth'
    assert checkpoint.is_file()
    return checkpoint


def test_mmengine_checkpoint_needs_allow_list_without_psp_plugin(mmengine_checkpoint):
    """Without psp_plugin, torch's safe loader refuses the same file (so the fix is real)."""
    code = ('import torch, sys\n'
            'try:\n'
            f'    torch.load({str(mmengine_checkpoint)!r}, weights_only=True)\n'
            'except Exception as error:\n'
            '    print(type(error).__name__, error)\n'
            '    sys.exit(3)\n')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert result.returncode == 3, result.stdout + result.stderr
    assert 'Weights only load failed' in result.stdout


@pytest.mark.parametrize('unpickler', LOADERS)
def test_mmengine_checkpoint_loads_safely_with_history_buffers(mmengine_checkpoint, unpickler):
    checkpoint = safe_torch_load(str(mmengine_checkpoint), map_location='cpu', unpickler=unpickler)
    assert checkpoint['meta']['iter'] == 2
    scalars = checkpoint['message_hub']['log_scalars']
    assert isinstance(scalars['train/loss'], HistoryBuffer)
    assert len(scalars['train/loss'].data[0]) == 2
    assert scalars['train/loss'].mean() == pytest.approx(float(scalars['train/loss'].data[0].mean()))
    assert set(checkpoint['state_dict']) == {'linear.weight', 'linear.bias'}


def test_mmengine_checkpoint_resumes_and_loads_as_weights(mmengine_checkpoint, tmp_path):
    saved = safe_torch_load(str(mmengine_checkpoint))['state_dict']
    runner = make_runner(tmp_path, max_iters=3, resume=True, load_from=str(mmengine_checkpoint))
    runner.train()
    assert runner.iter == 3
    assert (tmp_path / 'iter_3.pth').is_file()
    model = TinyRegressor()
    load_checkpoint(model, str(mmengine_checkpoint), map_location='cpu', strict=True)
    torch.testing.assert_close(model.linear.weight, saved['linear.weight'], rtol=0, atol=0)


class RunsShellCommand:
    """Pickles to os.system(<command>): the classic malicious checkpoint."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


class ResolvesForbiddenAttribute:
    """Pickles to getattr(OrderedDict, 'fromkeys'): getattr on something not allowed."""

    def __reduce__(self):
        return getattr, (collections.OrderedDict, 'fromkeys')


@pytest.mark.parametrize('legacy_format', [False, True], ids=['zip', 'legacy'])
@pytest.mark.parametrize('unpickler', ['torch', 'psp_plugin'])
def test_malicious_checkpoint_is_refused_and_code_does_not_run(tmp_path, unpickler, legacy_format):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'w': torch.zeros(1)}, 'meta': RunsShellCommand(f'touch {marker}')}, path,
               _use_new_zipfile_serialization=not legacy_format)
    with pytest.raises(CheckpointLoadError, match=r'Refused to load checkpoint .*evil\.pth.*system'):
        safe_torch_load(str(path), unpickler=unpickler)
    with pytest.raises(CheckpointLoadError, match='allow-list'):
        load_checkpoint(torch.nn.Module(), str(path), map_location='cpu')
    assert not marker.exists()


@pytest.mark.parametrize('unpickler', ['torch', 'psp_plugin'])
def test_legacy_format_checkpoint_loads(tmp_path, unpickler):
    path = tmp_path / 'legacy.pth'
    state = {'state_dict': collections.OrderedDict(w=torch.arange(6.).reshape(2, 3)), 'meta': {'iter': 5}}
    torch.save(state, path, _use_new_zipfile_serialization=False)
    loaded = safe_torch_load(str(path), unpickler=unpickler)
    assert loaded['meta'] == {'iter': 5}
    torch.testing.assert_close(loaded['state_dict']['w'], state['state_dict']['w'], rtol=0, atol=0)


@pytest.mark.parametrize('unpickler', LOADERS)
def test_getattr_is_restricted_to_history_buffer_statistics(tmp_path, unpickler):
    assert restricted_getattr(HistoryBuffer, 'mean') is HistoryBuffer.mean
    with pytest.raises(Exception, match='refused getattr'):
        restricted_getattr(os, 'system')
    path = tmp_path / 'getattr.pth'
    torch.save({'meta': ResolvesForbiddenAttribute()}, path)
    with pytest.raises(CheckpointLoadError, match=r'getattr\.pth.*refused getattr'):
        safe_torch_load(str(path), unpickler=unpickler)


@pytest.mark.parametrize('unpickler', ['torch', 'psp_plugin'])
def test_truncated_and_missing_checkpoints_get_clear_errors(mmengine_checkpoint, tmp_path, unpickler):
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(mmengine_checkpoint.read_bytes()[:1000])
    with pytest.raises(CheckpointLoadError, match=r'truncated\.pth \(1000 bytes\) is corrupt or truncated'):
        safe_torch_load(str(truncated), unpickler=unpickler)
    with pytest.raises(FileNotFoundError, match=r'missing\.pth does not exist'):
        safe_torch_load(str(tmp_path / 'missing.pth'), unpickler=unpickler)
    with pytest.raises(ValueError, match="unpickler must be 'auto', 'torch' or 'psp_plugin'"):
        safe_torch_load(str(truncated), unpickler='pickle')


def test_auto_uses_torch_from_2_6_and_the_restricted_unpickler_before(tmp_path, monkeypatch):
    """The version switch itself, exercised both ways on whatever torch runs the suite."""
    major, minor = (int(part) for part in torch.__version__.split('.')[:2])
    assert safe_loading.TORCH_LOADS_NAMED_SAFE_GLOBALS == ((major, minor) >= (2, 6))
    path = tmp_path / 'evil.pth'
    torch.save({'meta': RunsShellCommand('true')}, path)
    for older_torch, forced, restricted in [(True, '0', True), (True, '1', False), (False, '0', False)]:
        monkeypatch.setattr(safe_loading, 'TORCH_LOADS_NAMED_SAFE_GLOBALS', not older_torch)
        monkeypatch.setenv('TORCH_FORCE_WEIGHTS_ONLY_LOAD', forced)
        with pytest.raises(CheckpointLoadError) as refused:
            safe_torch_load(str(path))
        assert isinstance(refused.value.__cause__, RefusedByAllowList) == restricted


@NEEDS_TORCH_2_6
def test_safe_globals_are_registered_with_torch_only_from_2_6(monkeypatch):
    registered = list(torch.serialization.get_safe_globals())
    try:
        torch.serialization.clear_safe_globals()
        monkeypatch.setattr(safe_loading, 'TORCH_LOADS_NAMED_SAFE_GLOBALS', False)
        safe_loading.register_safe_globals()
        assert list(torch.serialization.get_safe_globals()) == []
        monkeypatch.setattr(safe_loading, 'TORCH_LOADS_NAMED_SAFE_GLOBALS', True)
        safe_loading.register_safe_globals()
        assert (restricted_getattr, 'builtins.getattr') in torch.serialization.get_safe_globals()
    finally:
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(registered)
