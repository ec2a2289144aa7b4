"""Choosing the precision: hardware facts, 'auto' policy, fallbacks with clear messages."""
import json

import pytest
import torch

from psp_plugin.deploy import CpuFeatures, read_cpu_features, resolve_precision

CPU = torch.device('cpu')
AMX_CPU = CpuFeatures('AMX test CPU', frozenset({'amx_bf16', 'amx_int8', 'avx512_vnni'}),
                      frozenset({'x86', 'fbgemm'}), 2)
VNNI_CPU = CpuFeatures('VNNI test CPU', frozenset({'avx512_bf16', 'avx512_vnni'}),
                       frozenset({'x86', 'fbgemm'}), 2)
NO_INT8_ENGINE_CPU = CpuFeatures('qnnpack-only CPU', frozenset({'avx512_vnni'}),
                                 frozenset({'qnnpack'}), 2)


def test_cpuinfo_flags_are_read(tmp_path):
    cpuinfo = tmp_path / 'cpuinfo'
    cpuinfo.write_text('processor\t: 0\nmodel name\t: Test Xeon\n'
                       'flags\t\t: fpu sse avx2 avx512f avx512_vnni amx_bf16 amx_tile\n\n'
                       'processor\t: 1\nmodel name\t: Other\n')
    features = read_cpu_features(str(cpuinfo))
    assert features.model_name == 'Test Xeon'
    assert features.flags == {'avx2', 'avx512f', 'avx512_vnni', 'amx_bf16', 'amx_tile'}
    assert features.has_amx and features.has_vnni
    assert features.as_dict()['has_amx'] is True


@pytest.mark.parametrize('features, can_calibrate, expected', [
    (VNNI_CPU, True, 'int8'),
    (VNNI_CPU, False, 'fp32'),
    (NO_INT8_ENGINE_CPU, True, 'fp32'),
    (AMX_CPU, False, 'bf16'),
])
def test_auto_on_cpu_follows_the_hardware(features, can_calibrate, expected):
    choice = resolve_precision('auto', device=CPU, can_calibrate=can_calibrate,
                               cpu_features=features)
    assert choice.precision == expected


def test_auto_on_amx_measures_and_caches(tmp_path, monkeypatch):
    monkeypatch.setenv('PSP_PLUGIN_CACHE_DIR', str(tmp_path))
    calls = []

    def measure(candidates):
        calls.append(tuple(candidates))
        return {'bf16': 0.30, 'int8': 0.20}

    first = resolve_precision('auto', device=CPU, measure=measure, cache_key='net|64x64',
                              cpu_features=AMX_CPU)
    second = resolve_precision('auto', device=CPU, measure=measure, cache_key='net|64x64',
                               cpu_features=AMX_CPU)
    assert first.precision == second.precision == 'int8'
    assert calls == [('bf16', 'int8')]
    cached = json.loads((tmp_path / 'auto_precision.json').read_text())
    assert list(cached.values())[0]['precision'] == 'int8'


@pytest.mark.parametrize('requested, features, expected, message', [
    ('fp16', VNNI_CPU, 'fp32', "precision='fp16' is not supported here: fp16 convolutions"),
    ('int8', NO_INT8_ENGINE_CPU, 'fp32', "no 'x86' quantized engine"),
])
def test_unsupported_mode_warns_and_falls_back(requested, features, expected, message):
    with pytest.warns(UserWarning, match=message) as records:
        choice = resolve_precision(requested, device=CPU, cpu_features=features)
    assert choice.precision == expected
    assert f"Falling back to precision='{expected}'" in str(records[0].message)


def test_int8_on_cuda_falls_back_to_fp16():
    with pytest.warns(UserWarning, match="x86 int8 engine runs on CPUs only"):
        choice = resolve_precision('int8', device=torch.device('cuda'))
    assert choice.precision == 'fp16'


def test_unknown_mode_names_the_valid_ones():
    with pytest.raises(ValueError, match=r"precision='int4'.*'fp32', 'bf16', 'fp16', 'int8'"):
        resolve_precision('int4', device=CPU)


def test_auto_without_amx_or_calibration_measures_bf16_against_fp32(tmp_path, monkeypatch):
    monkeypatch.setenv('PSP_PLUGIN_CACHE_DIR', str(tmp_path))
    choice = resolve_precision('auto', device=CPU, can_calibrate=False, cache_key=None,
                               measure=lambda names: {'fp32': 0.9, 'bf16': 0.5},
                               cpu_features=VNNI_CPU)
    assert choice.precision == 'bf16'
    assert 'measured' in choice.reason
