"""benchmarks/bench_pspnet.py, the README's benchmark command, run end to end at toy sizes.

The full-size run takes minutes and is not a test; this one checks that every
section runs against the installed MMSeg, that the JSON holds what the README
says it does, and that the derived figures follow from the measured ones.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / 'benchmarks' / 'bench_pspnet.py'
TIMED = {'inference': ('mmseg fp32', 'plugin fp32', 'plugin fast fp32', 'plugin fast bf16',
                       'plugin fast int8'),
         'training': ('mmseg fp32', 'plugin fp32', 'plugin with_cp', 'plugin amp-bf16')}


def _run(*args: str, env: dict = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope='module')
def toy_run(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    out = tmp_path_factory.mktemp('bench') / 'bench.json'
    finished = _run('--repeats', '2', '--train-repeats', '1', '--infer-size', '64', '128',
                    '--train-size', '128', '128', '--accuracy-toy', '--accuracy-iterations', '2',
                    '--json', str(out))
    assert finished.returncode == 0, finished.stderr[-3000:]
    return json.loads(out.read_text()), finished.stdout


@pytest.mark.e2e
def test_every_section_is_measured_and_the_ratios_follow(toy_run) -> None:
    results, _ = toy_run
    assert results['infer_size'] == [64, 128] and results['train_size'] == [128, 128]
    assert set(results['rates_gflops']) >= {'matmul_fp32', 'conv3x3_fp32', 'conv3x3_int8'}
    for section, variants in TIMED.items():
        block = results[section]
        assert tuple(block['times']) == variants
        assert block['flops'] > 0
        reference = block['times']['mmseg fp32']['median_s']
        for name, timing in block['times'].items():
            assert timing['runs'] == (2 if section == 'inference' else 1)
            assert timing['min_s'] <= timing['median_s'] <= timing['max_s']
            assert timing['time_ratio_vs_mmseg_fp32'] == pytest.approx(
                timing['median_s'] / reference)
            own = block['flops'] if name.startswith('plugin') else block['mmseg_flops']
            assert timing['flops'] == own
            assert timing['achieved_gflops'] == pytest.approx(own / timing['median_s'] / 1e9)
        # MMSeg's fusion conv reads the upsampled pyramid; the plugin's factorizes it away.
        assert block['mmseg_flops'] > block['flops']
    # with_cp recomputes activations; its gradients must equal the plain step's.
    assert results['training']['with_cp_max_gradient_difference'] <= 1e-6


@pytest.mark.e2e
def test_memory_is_measured_per_process_and_with_cp_saves(toy_run) -> None:
    memory = toy_run[0]['memory']
    for name in ('inference mmseg fp32', 'inference plugin fp32', 'inference plugin fast int8',
                 'train mmseg fp32', 'train plugin fp32', 'train plugin with_cp'):
        assert memory[name]['peak_mb'] > memory[name]['rise_mb'] >= 0
    assert memory['train mmseg fp32']['peak_ratio_vs_mmseg'] == 1.0
    # At 128x128, batch 2 the step's activations are ~330 MB; with_cp keeps ~1/4 fewer.
    assert memory['train plugin with_cp']['rise_mb'] < 0.9 * memory['train plugin fp32']['rise_mb']


@pytest.mark.e2e
def test_accuracy_section_and_screen_report(toy_run) -> None:
    results, stdout = toy_run
    accuracy = results['accuracy']
    assert 'toy scenes' in accuracy['source']
    for mode in ('int8', 'bf16'):
        assert 0.0 <= accuracy[mode]['pixel_agreement'] <= 1.0
        assert accuracy[mode]['mIoU_change'] == pytest.approx(
            accuracy[mode]['mIoU'] - accuracy['fp32']['mIoU'])
    assert set(results['section_seconds']) == {'rates', 'inference', 'training', 'memory',
                                               'accuracy', 'total'}
    assert 'Inference 64x128, batch 1' in stdout and 'with_cp training memory cut' in stdout


def test_config_without_checkpoint_is_refused_with_the_fix() -> None:
    finished = _run('--accuracy-config', 'configs/pspnet_r50.py', '--skip', 'inference',
                    'training', 'memory', 'accuracy')
    assert finished.returncode != 0
    assert '--accuracy-config and --accuracy-checkpoint go together' in finished.stderr


def test_cuda_without_a_gpu_is_refused_with_the_fix() -> None:
    no_gpu = dict(os.environ, CUDA_VISIBLE_DEVICES='')  # the same on a GPU machine
    finished = _run('--device', 'cuda', '--skip', 'inference', 'training', 'memory', 'accuracy',
                    env=no_gpu)
    assert finished.returncode != 0
    assert 'sees no CUDA device' in finished.stderr and 'Run without --device' in finished.stderr
