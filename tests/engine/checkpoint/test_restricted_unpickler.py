"""psp_plugin's restricted unpickler (the torch 2.1-2.5 loader) against hand-made malicious pickles.

Each malicious pickle is written opcode by opcode, so every restricted opcode is exercised on
whatever torch runs the suite, not only on the old torch versions that load through it.
"""
import collections
import io
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from psp_plugin.engine.checkpoint.restricted_unpickler import RefusedByAllowList, make_pickle_module
from psp_plugin.engine.checkpoint.safe_loading import allowed_globals

RESTRICTED = make_pickle_module(allowed_globals(), 'restricted_pickle_under_test')
PROTO2 = pickle.PROTO + b'\x02'
HISTORY_BUFFER = b'cmmengine.logging.history_buffer\nHistoryBuffer\n'
ORDERED_DICT = b'ccollections\nOrderedDict\n'


def text(value: str) -> bytes:
    """SHORT_BINUNICODE: push ``value``."""
    return pickle.SHORT_BINUNICODE + bytes([len(value)]) + value.encode()


def statistics_method() -> bytes:
    """Push getattr(HistoryBuffer, 'mean'), which the allow-list resolves (a function)."""
    return b'cbuiltins\ngetattr\n' + HISTORY_BUFFER + text('mean') + pickle.TUPLE2 + pickle.REDUCE


class RunsShellCommand:
    """Pickles to os.system(<command>)."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


@pytest.mark.parametrize('protocol', [0, 2, 4])
def test_os_system_is_never_resolved(tmp_path, protocol):
    marker = tmp_path / 'pwned'
    payload = pickle.dumps(RunsShellCommand(f'touch {marker}'), protocol=protocol)
    with pytest.raises(RefusedByAllowList, match=r'GLOBAL (posix|os|nt)\.system is not in the allow-list'):
        RESTRICTED.loads(payload)
    assert not marker.exists()


@pytest.mark.parametrize('payload, refusal', [
    # protocol 4 dotted name: HistoryBuffer is allowed, its attribute path is not
    (b'\x80\x04' + text('mmengine.logging.history_buffer') + text('HistoryBuffer.mean')
     + pickle.STACK_GLOBAL + pickle.STOP, r'GLOBAL mmengine\S+HistoryBuffer\.mean is not in the allow-list'),
    # calling an object that is not itself allow-listed (here: a function getattr returned)
    (PROTO2 + statistics_method() + pickle.EMPTY_TUPLE + pickle.REDUCE + pickle.STOP,
     r'refused to call mmengine\S+HistoryBuffer\.mean'),
    (PROTO2 + statistics_method() + pickle.EMPTY_TUPLE + pickle.NEWOBJ + pickle.STOP,
     r'refused to instantiate mmengine\S+HistoryBuffer\.mean'),
    # setting state on a class (would rewrite HistoryBuffer's class attributes)
    (PROTO2 + HISTORY_BUFFER + pickle.EMPTY_DICT + text('_statistics_methods') + pickle.EMPTY_DICT
     + pickle.SETITEM + pickle.BUILD + pickle.STOP, r'refused to set the state of mmengine\S+HistoryBuffer'),
    # state that is not a dict of attribute names (slot state would reach setattr)
    (PROTO2 + ORDERED_DICT + pickle.EMPTY_TUPLE + pickle.REDUCE + pickle.NONE + pickle.EMPTY_DICT
     + pickle.TUPLE2 + pickle.BUILD + pickle.STOP, r'refused a state .* not a dict of attribute names'),
    # containers: only lists append, only dicts take items, only sets add
    (PROTO2 + ORDERED_DICT + pickle.EMPTY_TUPLE + pickle.REDUCE + b'K\x01' + pickle.APPEND + pickle.STOP,
     r'refused APPEND on an instance of collections\.OrderedDict'),
    (PROTO2 + ORDERED_DICT + pickle.EMPTY_TUPLE + pickle.REDUCE + pickle.MARK + b'K\x01'
     + pickle.APPENDS + pickle.STOP, r'refused APPENDS'),
    (PROTO2 + pickle.EMPTY_LIST + b'K\x00K\x01' + pickle.SETITEM + pickle.STOP, r'refused SETITEM on .*list'),
    (PROTO2 + pickle.EMPTY_LIST + pickle.MARK + b'K\x00K\x01' + pickle.SETITEMS + pickle.STOP,
     r'refused SETITEMS'),
    (b'\x80\x04' + pickle.EMPTY_LIST + pickle.MARK + b'K\x01' + pickle.ADDITEMS + pickle.STOP,
     r'refused ADDITEMS on .*list'),
    # opcodes that instantiate or import without the allow-list
    (b"(S'true'\nios\nsystem\n.", r'refused a pickle opcode \(INST, OBJ or EXT\*\)'),
    (b'(' + ORDERED_DICT + b'o.', r'refused a pickle opcode'),
    (PROTO2 + pickle.EXT1 + b'\x01' + pickle.STOP, r'refused a pickle opcode'),
], ids=['dotted-name', 'reduce', 'newobj', 'build-class', 'slot-state', 'append', 'appends', 'setitem',
        'setitems', 'additems', 'inst', 'obj', 'ext1'])
def test_malicious_opcodes_are_refused(payload, refusal):
    statistics_before = dict(HistoryBuffer._statistics_methods)
    with pytest.raises(RefusedByAllowList, match=refusal):
        RESTRICTED.loads(payload)
    assert HistoryBuffer._statistics_methods == statistics_before


@pytest.mark.parametrize('protocol', [2, 4])
def test_checkpoint_contents_round_trip_through_torch_load(protocol):
    """torch.save's protocol 2 (MMEngine's) with a HistoryBuffer; protocol 4 (dotted names) without."""
    state = {'state_dict': collections.OrderedDict(w=torch.arange(6.).reshape(2, 3)),
             'meta': {'iter': 3, 'hash': b'\x00\xff', 'seed': np.int64(7), 'steps': [1, (2, 3.5)],
                      'dtype': np.dtype('float32'), 'mask': np.array([[True, False]])}}
    if protocol == 2:
        state['loss'] = HistoryBuffer([0.5, 1.5], [1, 1])
    file = io.BytesIO()
    torch.save(state, file, pickle_protocol=protocol)
    file.seek(0)
    loaded = torch.load(file, weights_only=False, pickle_module=RESTRICTED)
    torch.testing.assert_close(loaded['state_dict']['w'], state['state_dict']['w'], rtol=0, atol=0)
    assert loaded['meta']['hash'] == b'\x00\xff' and loaded['meta']['seed'] == 7
    assert loaded['meta']['steps'] == [1, (2, 3.5)] and loaded['meta']['dtype'] == np.float32
    np.testing.assert_array_equal(loaded['meta']['mask'], state['meta']['mask'])
    if protocol == 2:
        assert isinstance(loaded['loss'], HistoryBuffer) and loaded['loss'].mean() == pytest.approx(1.0)


def test_pickled_tensor_outside_a_checkpoint_is_refused():
    """pickle.dumps(tensor) rebuilds through torch.storage._load_from_bytes, an unrestricted torch.load."""
    with pytest.raises(RefusedByAllowList, match='_load_from_bytes is not in the allow-list'):
        RESTRICTED.loads(pickle.dumps(torch.zeros(2), protocol=2))


@pytest.mark.parametrize('written_by', ['numpy.core', 'numpy._core'])
def test_arrays_pickled_by_numpy_1_and_numpy_2_both_load(written_by):
    """numpy 1.x names its array constructor numpy.core.multiarray, numpy 2 numpy._core.multiarray."""
    payload = pickle.dumps({'a': np.arange(4, dtype=np.int16), 'x': np.float64(2.5)}, protocol=2)
    for name in (b'cnumpy.core.multiarray\n', b'cnumpy._core.multiarray\n'):
        payload = payload.replace(name, b'c' + written_by.encode() + b'.multiarray\n')
    assert payload.count(b'c' + written_by.encode() + b'.multiarray\n') == 2
    loaded = RESTRICTED.loads(payload)
    np.testing.assert_array_equal(loaded['a'], np.arange(4, dtype=np.int16))
    assert loaded['x'] == 2.5


def test_quantized_tensors_dtypes_and_devices_load_as_under_torch_2_6():
    """torch 2.1's own weights_only list lacks these; the restricted list has torch 2.6's defaults."""
    weights = torch.quantize_per_tensor(torch.arange(4.), scale=0.5, zero_point=1, dtype=torch.qint8)
    file = io.BytesIO()
    torch.save({'w': weights, 'dtype': torch.bfloat16, 'device': torch.device('cpu')}, file)
    file.seek(0)
    loaded = torch.load(file, weights_only=False, pickle_module=RESTRICTED)
    assert torch.equal(loaded['w'].int_repr(), weights.int_repr())
    assert (loaded['w'].q_scale(), loaded['w'].q_zero_point()) == (0.5, 1)
    assert loaded['dtype'] is torch.bfloat16 and loaded['device'] == torch.device('cpu')
