"""Derived figures (ratios, achieved rates) and the on-screen table of the benchmark."""
import json
import time
from pathlib import Path
from typing import Dict

#: Which measured rate bounds each precision (the model is convolution-bound).
RATE_OF = {'fp32': 'conv3x3_fp32', 'bf16': 'conv3x3_bf16', 'int8': 'conv3x3_int8',
           'fp16': 'matmul_fp16'}


def _precision_of(name: str) -> str:
    return next((p for p in ('int8', 'bf16', 'fp16') if p in name), 'fp32')


def _rate_for(rates: Dict[str, float], precision: str) -> float:
    key = RATE_OF[precision]
    if key not in rates:
        key = f'matmul_{precision}'
    return rates.get(key, float('nan'))


def derive(results: dict) -> dict:
    """Add achieved GFLOP/s, fraction of the measured rate and plugin/MMSeg ratios."""
    rates = results['rates_gflops']
    for section in ('inference', 'training'):
        if section not in results:
            continue
        block = results[section]
        reference = block['times']['mmseg fp32']['median_s']
        for name, timing in block['times'].items():
            precision = _precision_of(name)
            # each variant's own model: MMSeg's (in any runtime) does the pyramid fusion unfactorized
            timing['achieved_gflops'] = timing.get('flops', block['flops']) / timing['median_s'] / 1e9
            timing['fraction_of_rate'] = timing['achieved_gflops'] / _rate_for(rates, precision)
            timing['time_ratio_vs_mmseg_fp32'] = timing['median_s'] / reference
            timing['speedup_vs_mmseg_fp32'] = reference / timing['median_s']
    if 'memory' in results:
        memory = results['memory']
        for name, entry in memory.items():
            task = name.split()[0]
            reference = memory[f'{task} mmseg fp32']
            entry['peak_ratio_vs_mmseg'] = entry['peak_mb'] / reference['peak_mb']
            entry['rise_ratio_vs_mmseg'] = entry['rise_mb'] / reference['rise_mb']
        if 'train plugin with_cp' in memory:
            cut = 1 - memory['train plugin with_cp']['rise_mb'] / memory['train plugin fp32'][
                'rise_mb']
            memory['with_cp_training_memory_cut'] = dict(of_rise=cut, of_peak=1 - memory[
                'train plugin with_cp']['peak_mb'] / memory['train plugin fp32']['peak_mb'])
    return results


def _timing_rows(block: dict, title: str) -> None:
    counts = f'plugin {block["flops"] / 1e9:.0f}'
    if 'mmseg_flops' in block:
        counts += f', MMSeg {block["mmseg_flops"] / 1e9:.0f}'
    print(f'\n{title}  ({counts} GFLOP per call)')
    print(f'{"variant":<22}{"median s":>10}{"min-max s":>16}{"x MMSeg":>9}'
          f'{"GFLOP/s":>9}{"of rate":>9}')
    for name, t in block['times'].items():
        print(f'{name:<22}{t["median_s"]:>10.3f}{t["min_s"]:>8.2f}-{t["max_s"]:<7.2f}'
              f'{t["time_ratio_vs_mmseg_fp32"]:>9.2f}{t["achieved_gflops"]:>9.0f}'
              f'{t["fraction_of_rate"]:>9.0%}')


def print_report(results: dict) -> None:
    """Print the benchmark as tables (ratios are time or memory relative to MMSeg fp32)."""
    print(f'\nMachine: {results["machine"]}; torch {results["torch"]}; '
          f'{results["threads"]} threads')
    print('Measured rates (GFLOP/s; int8 GOP/s): ' + ', '.join(
        f'{name} {value:.0f}' for name, value in results['rates_gflops'].items()))
    if 'inference' in results:
        height, width = results['infer_size']
        _timing_rows(results['inference'],
                     f'Inference {height}x{width}, batch 1 (x MMSeg = time ratio)')
    if 'training' in results:
        height, width = results['train_size']
        _timing_rows(results['training'], f'Training step {height}x{width}, batch 2, with aux head')
        print('with_cp max |grad difference| vs plain: '
              f'{results["training"]["with_cp_max_gradient_difference"]:.2e}')
    if 'memory' in results:
        print(f'\n{"peak memory (fresh process)":<30}{"peak MB":>9}{"rise MB":>9}'
              f'{"peak x MMSeg":>13}{"rise x MMSeg":>13}')
        for name, m in results['memory'].items():
            if 'peak_mb' in m:
                print(f'{name:<30}{m["peak_mb"]:>9.0f}{m["rise_mb"]:>9.0f}'
                      f'{m["peak_ratio_vs_mmseg"]:>13.2f}{m["rise_ratio_vs_mmseg"]:>13.2f}')
        cut = results['memory'].get('with_cp_training_memory_cut')
        if cut:
            print(f'with_cp training memory cut: {cut["of_rise"]:.0%} of the step\'s rise, '
                  f'{cut["of_peak"]:.0%} of the process peak')
    if 'section_seconds' in results:
        print('\nWall time: ' + ', '.join(f'{name} {seconds:.0f} s' for name, seconds in
                                         results['section_seconds'].items()))
    if 'accuracy' in results:
        accuracy = results['accuracy']
        print(f'\nAccuracy on {accuracy["source"]}: fp32 mIoU {accuracy["fp32"]["mIoU"]:.2f}')
        for mode, entry in accuracy.items():
            if isinstance(entry, dict) and 'pixel_agreement' in entry:
                print(f'  {mode}: {entry["pixel_agreement"]:.2%} of pixels as fp32, mIoU '
                      f'{entry["mIoU"]:.2f} ({entry["mIoU_change"]:+.2f})')


def write_results(results: dict, path: str, started: float) -> Path:
    """Add the run's wall time (``seconds`` since ``started``) to ``results``, write them as JSON
    to ``path`` (folders made) and print where."""
    results['seconds'] = time.perf_counter() - started
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(f'\n{results["seconds"]:.0f} s; JSON: {out}')
    return out
