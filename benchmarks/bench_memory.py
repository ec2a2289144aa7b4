"""Peak memory of one model doing one thing, measured in a fresh process.

Run by bench_pspnet.py as ``python benchmarks/bench_memory.py WHICH TASK
--device DEV``; prints one JSON line. On CPU it reports the peak resident set
size (VmHWM) of the whole process and the rise during the measured call
(after a warm-up call -- for training, a step on a 64x64 crop that creates the
gradients and SGD momentum -- freed heap is returned with malloc_trim and the
high-water mark is reset through /proc/self/clear_refs); on CUDA,
``torch.cuda.max_memory_allocated``.
"""
import argparse
import ctypes
import json
import subprocess
import sys
from pathlib import Path
from typing import Dict

import torch

TASKS = ('infer-fp32', 'infer-int8', 'infer-bf16', 'infer-fp16', 'train', 'train-cp')


def _status_mb(field: str) -> float:
    for line in Path('/proc/self/status').read_text().splitlines():
        if line.startswith(field + ':'):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f'{field} not in /proc/self/status')


def _release_and_reset_peak() -> None:
    """Give freed heap memory back to the OS, then reset the peak-RSS mark to now."""
    ctypes.CDLL('libc.so.6').malloc_trim(0)
    Path('/proc/self/clear_refs').write_text('5')


#: Crop of the training warm-up step: it only has to create what persists between
#: steps (gradients, SGD momentum), and a 512x512 step costs ~15 s on 2 cores.
WARM_UP_TRAIN_SIZE = (64, 64)


def _prepare(which: str, task: str, device: str, size: tuple):
    """(warm-up call, measured call) of ``which`` doing ``task`` at ``size``."""
    from bench_models import build_segmentor, train_batch, train_step

    from psp_plugin.deploy import optimize_for_inference
    segmentor = build_segmentor(which, with_cp=task == 'train-cp').to(device)
    if task.startswith('train'):
        optimizer = torch.optim.SGD(segmentor.parameters(), lr=0.01, momentum=0.9)

        def step_at(crop: tuple):
            batch = train_batch(segmentor, size=crop)
            batch = dict(inputs=batch['inputs'].to(device), data_samples=[
                sample.to(device) for sample in batch['data_samples']])

            def run():
                segmentor.train()
                train_step(segmentor, batch, optimizer, device=device)
            return run
        return step_at(WARM_UP_TRAIN_SIZE), step_at(size)
    image = torch.randn(1, 3, *size, device=device)
    precision = task.split('-')[1]
    if which == 'plugin-fast':
        calibration = [torch.randn(1, 3, *size)] if precision == 'int8' else None
        optimize_for_inference(segmentor, precision=precision, calib_images=calibration,
                               num_calib_images=1)
    segmentor.eval()

    def run():
        with torch.no_grad():
            segmentor._forward(image)
    return run, run


def measure(which: str, task: str, device: str, size: tuple) -> Dict[str, float]:
    """Peak memory of ``which`` doing ``task`` once (after one warm-up call).

    The warm-up allocates what persists between calls (gradients and SGD
    momentum for training; oneDNN caches for inference), so the rise is the
    memory one call needs.
    """
    warm_up, run = _prepare(which, task, device, size)
    warm_up()
    if device == 'cuda':
        torch.cuda.synchronize()
        before = torch.cuda.memory_allocated() / 2 ** 20
        torch.cuda.reset_peak_memory_stats()
        run()
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() / 2 ** 20
        return dict(peak_mb=peak, rise_mb=peak - before)
    _release_and_reset_peak()
    before = _status_mb('VmRSS')
    run()
    return dict(peak_mb=_status_mb('VmHWM'), rise_mb=_status_mb('VmHWM') - before)


def measure_in_subprocess(which: str, task: str, device: str, *, size: tuple,
                          threads: int = 0) -> Dict[str, float]:
    """Run :func:`measure` in a fresh interpreter so earlier allocations do not count."""
    command = [sys.executable, str(Path(__file__).resolve()), which, task, '--device', device,
               '--size', *map(str, size), '--threads', str(threads or torch.get_num_threads())]
    finished = subprocess.run(command, capture_output=True, text=True, check=False,
                              cwd=Path(__file__).resolve().parent)
    if finished.returncode != 0:
        raise RuntimeError(f'{" ".join(command)} failed:\n{finished.stderr[-2000:]}')
    return json.loads(finished.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('which', choices=('mmseg', 'plugin', 'plugin-fast'))
    parser.add_argument('task', choices=TASKS)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--size', type=int, nargs=2, required=True, metavar=('H', 'W'))
    parser.add_argument('--threads', type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(json.dumps(measure(args.which, args.task, args.device, tuple(args.size))))


if __name__ == '__main__':
    main()
