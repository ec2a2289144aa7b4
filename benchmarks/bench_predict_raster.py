"""Memory and speed of ``predict`` on large GeoTIFFs (issue 17's floors).

    .venv/bin/python benchmarks/bench_predict_raster.py                 # 4,096^2 and 16,384^2, tiny model
    .venv/bin/python benchmarks/bench_predict_raster.py --model r50 --sizes 2048 --precisions fp32 int8

For each size a 3-band uint8 tiled GeoTIFF (UTM, 0.5 m pixels; a squares scene
repeated, deflate-compressed) is written once, then ``predict_raster`` runs in
a fresh Python process per (size, precision), which reports its peak RSS
(``ru_maxrss``, imports and model included) and its time. Printed: peak RSS per
size and the largest/smallest ratio (floor: within 20 %, all under 1.5 GiB), and
megapixels/min per precision with int8/fp32 as a ratio measured in this run.

``--model tiny`` is psp_plugin.testing's tiny PSPNet-R18 (8..64 channels,
random weights with randomised BN statistics): memory is set by the block
buffers, not the model, and a 2-core CPU runs it in minutes. ``--model r50``
is configs/pspnet_r50.py (random weights) for realistic throughput.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GIB = 2 ** 30


def write_raster(path: Path, size: int) -> None:
    """A size x size 3-band GeoTIFF, tiled 512 x 512, filled block by block (never whole in memory)."""
    import numpy as np
    import rasterio
    from rasterio.crs import CRS
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    rng = np.random.default_rng(0)
    tile = np.full((512, 512, 3), 100, dtype=np.uint8)
    tile += rng.integers(0, 24, size=(512, 512, 1), dtype=np.uint8)
    for top, left, side in [(40, 60, 16), (200, 300, 14), (400, 100, 12), (300, 450, 5), (90, 380, 4)]:
        tile[top:top + side, left:left + side] = 200
    bands = np.ascontiguousarray(np.moveaxis(tile, -1, 0))
    profile = dict(driver='GTiff', width=size, height=size, count=3, dtype='uint8', tiled=True,
                   blockxsize=512, blockysize=512, compress='deflate', crs=CRS.from_epsg(32633),
                   transform=from_origin(500_000.0, 4_600_000.0, 0.5, 0.5))
    with rasterio.open(path, 'w', **profile) as dataset:
        for row in range(0, size, 512):
            for col in range(0, size, 512):
                dataset.write(bands, window=Window(col, row, 512, 512))


def model_files(kind: str, folder: Path) -> tuple[Path, Path]:
    """(config, checkpoint) of the benchmark model, random weights."""
    import torch
    from mmengine import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import psp_plugin  # noqa: F401
    from psp_plugin.testing.tiny_pspnet import randomize_bn_statistics, tiny_pspnet_config

    config = tiny_pspnet_config(num_classes=4) if kind == 'tiny' else \
        Config.fromfile(str(REPO / 'configs' / 'pspnet_r50.py'))
    config.model.pop('pretrained', None)
    config.model.backbone.pop('init_cfg', None)
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(config.model)
    randomize_bn_statistics(model)
    config_file, checkpoint_file = folder / f'{kind}.py', folder / f'{kind}.pth'
    config.dump(str(config_file))
    torch.save({'state_dict': model.state_dict()}, checkpoint_file)
    return config_file, checkpoint_file


def child(args: argparse.Namespace) -> None:
    """Run one prediction in this process and print a JSON line with time and peak RSS."""
    import resource

    import torch

    from psp_plugin.inference import Predictor
    from psp_plugin.inference.raster_prediction import predict_raster

    torch.set_num_threads(args.threads)
    predictor = Predictor.from_files(args.config, args.checkpoint, window=(args.window, args.window),
                                     overlap=args.overlap, batch_size=args.batch_size,
                                     precision=None if args.precision == 'none' else args.precision)
    start = time.perf_counter()
    if predictor.precision is not None:      # convert (int8: calibrate on real windows) before timing
        import rasterio
        from rasterio.windows import Window

        with rasterio.open(args.raster) as dataset:
            side = min(2 * args.window, dataset.width, dataset.height)
            sample = dataset.read(window=Window(0, 0, side, side)).transpose(1, 2, 0)[:, :, ::-1]
        predictor.prepare(predictor.inputs.to_tensor(sample, 'calibration sample'))
    convert_seconds = time.perf_counter() - start
    start = time.perf_counter()
    result = predict_raster(predictor, args.raster, args.out, show_progress=False)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    unique = len(predictor.grid(*_raster_shape(args.raster)))
    print(json.dumps(dict(seconds=seconds, convert_seconds=convert_seconds, peak_rss=peak,
                          windows=result.windows, unique_windows=unique)))


def _raster_shape(path: str) -> tuple[int, int]:
    import rasterio

    with rasterio.open(path) as dataset:
        return dataset.height, dataset.width


def run_child(raster: Path, precision: str, files: tuple[Path, Path], args, work: Path) -> dict:
    command = [sys.executable, __file__, '--child', '--raster', str(raster), '--out',
               str(work / f'{raster.stem}_{precision}_labels.tif'), '--config', str(files[0]),
               '--checkpoint', str(files[1]), '--precision', precision, '--window', str(args.window),
               '--overlap', str(args.overlap), '--batch-size', str(args.batch_size),
               '--threads', str(args.threads)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sizes', type=int, nargs='+', default=[4096, 16384])
    parser.add_argument('--precisions', nargs='+', default=['fp32', 'int8'])
    parser.add_argument('--model', choices=('tiny', 'r50'), default='tiny')
    parser.add_argument('--window', type=int, default=512)
    parser.add_argument('--overlap', type=float, default=0.25)
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--work-dir', default='work_dirs/bench_predict_raster')
    for name in ('--raster', '--out', '--config', '--checkpoint', '--precision'):
        parser.add_argument(name, help=argparse.SUPPRESS)
    parser.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    files = model_files(args.model, work)
    print(f'model {args.model}, window {args.window}, overlap {args.overlap}, batch {args.batch_size}, '
          f'{args.threads} threads')
    results = {}
    for size in args.sizes:
        raster = work / f'raster_{size}.tif'
        if not raster.exists():
            write_raster(raster, size)
        for precision in args.precisions:
            found = run_child(raster, precision, files, args, work)
            mpx_min = size * size / 1e6 / (found['seconds'] / 60)
            results[(size, precision)] = dict(found, mpx_per_min=mpx_min)
            print(f'{size:>6}^2 {precision:>5}: peak RSS {found["peak_rss"] / GIB:.3f} GiB, '
                  f'{found["seconds"]:.1f} s (+{found["convert_seconds"]:.1f} s conversion), '
                  f'{found["windows"]} windows run ({found["unique_windows"]} in the grid), '
                  f'{mpx_min:.1f} megapixels/min', flush=True)
    for precision in args.precisions:
        peaks = [results[(size, precision)]['peak_rss'] for size in args.sizes]
        print(f'{precision}: peak RSS largest/smallest = {max(peaks) / min(peaks):.3f} '
              f'(floor <= 1.20), max {max(peaks) / GIB:.3f} GiB (floor < 1.5)')
    if {'fp32', 'int8'} <= set(args.precisions):
        for size in args.sizes:
            ratio = results[(size, 'int8')]['mpx_per_min'] / results[(size, 'fp32')]['mpx_per_min']
            print(f'{size}^2: int8 / fp32 throughput = {ratio:.2f}')
    (work / 'results.json').write_text(json.dumps({f'{s}_{p}': v for (s, p), v in results.items()}, indent=1))


if __name__ == '__main__':
    main()
