"""Benchmark: import a folder of generated 512x512 PNG images and masks; time and peak memory.

Each size runs in its own process, so its peak resident memory (``ru_maxrss``)
is its own. CPU seconds are printed beside wall seconds, since a shared machine
stretches the wall time. The ratio of the peaks at 1,000 and at 250 images shows whether
memory grows with the number of images (it should stay near 1).

    .venv/bin/python benchmarks/bench_import.py [--sizes 250 1000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def make_folder(root: Path, count: int, size: int = 512) -> Path:
    """Write ``count`` RGB images (smooth scenes with noise) and 4-class index masks."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:size, 0:size]
    for index in range(count):
        mask = np.zeros((size, size), np.uint8)
        for cls in (1, 2, 3):
            cy, cx, r = rng.integers(0, size, 2).tolist() + [int(rng.integers(20, 120))]
            mask[(y - cy) ** 2 + (x - cx) ** 2 < r * r] = cls
        base = np.stack([mask * 50 + 20, (x // 4 % 256), (y // 4 % 256)], axis=-1)
        image = np.clip(base + rng.integers(0, 24, (size, size, 3)), 0, 255).astype(np.uint8)
        (root / 'images').mkdir(parents=True, exist_ok=True)
        (root / 'masks').mkdir(exist_ok=True)
        Image.fromarray(image).save(root / 'images' / f'im{index:05d}.png', compress_level=1)
        Image.fromarray(mask).save(root / 'masks' / f'im{index:05d}.png', compress_level=1)
    return root


def child(count: int, work: Path) -> None:
    """Generate, then import; print one JSON line with the import time and peak RSS."""
    from psp_plugin.data import import_dataset

    source = make_folder(work / f'src{count}', count)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, cpu_started = time.perf_counter(), time.process_time()
    prepared = import_dataset(source, work / f'out{count}')
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                'images': count,
                'import_s': seconds,
                'import_cpu_s': cpu_seconds,
                'peak_rss_mib': peak / 1024,
                'rss_before_import_mib': before / 1024,
                'splits': {k: len(v) for k, v in prepared.splits.items()},
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes', type=int, nargs='+', default=[250, 1000])
    parser.add_argument('--keep', type=Path, default=None, help='work folder to keep (default: temporary)')
    parser.add_argument('--child', type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument('--work', type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.work)
        return
    with tempfile.TemporaryDirectory() as temporary:
        work = args.keep or Path(temporary)
        work.mkdir(parents=True, exist_ok=True)
        results = []
        for count in args.sizes:
            line = (
                subprocess.run(
                    [sys.executable, __file__, '--child', str(count), '--work', str(work)],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            results.append(json.loads(line))
            print(
                f'{count:5d} images: import {results[-1]["import_s"]:.1f} s wall, '
                f'{results[-1]["import_cpu_s"]:.1f} s CPU '
                f'({1000 * results[-1]["import_s"] / count:.1f} ms/image), peak RSS '
                f'{results[-1]["peak_rss_mib"]:.0f} MiB '
                f'(before import {results[-1]["rss_before_import_mib"]:.0f})'
            )
        base, last = results[0], results[-1]
        print(
            f'ratio {last["images"]}/{base["images"]} images: '
            f'time x{last["import_s"] / base["import_s"]:.2f}, '
            f'peak RSS x{last["peak_rss_mib"] / base["peak_rss_mib"]:.2f}'
        )


if __name__ == '__main__':
    main()
