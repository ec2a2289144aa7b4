"""Benchmark the plugin's PSPNet-R50-D8 against MMSeg's built-in one.

One command (9-9.8 min with --runtimes on a quiet 2-core CPU, docs/results.md)::

    .venv/bin/python benchmarks/bench_pspnet.py            # --device cuda on a GPU

Reports, for the same weights, interleaving the implementations so machine
noise hits both alike: the machine's features and measured rates; inference
latency at 512x1024 batch 1 (MMSeg fp32, plugin fp32, each plugin fast mode);
training step time at 512x512 batch 2 with the auxiliary head (plus with_cp
and autocast variants, and the with_cp gradient check); peak memory per model
in fresh processes; FLOPs and achieved rates; the accuracy of the fast modes
on a trained model; and every plugin/MMSeg ratio. A table, and JSON.
"""
import argparse
import copy
import json
import platform
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional, Tuple

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_accuracy import accuracy_report  # noqa: E402
from bench_memory import measure_in_subprocess  # noqa: E402
from bench_models import build_pair, build_segmentor, train_batch, train_step  # noqa: E402
from bench_report import derive, print_report  # noqa: E402
from bench_runtimes import agreement, runtime_steps  # noqa: E402
from hardware_rates import measure_rates  # noqa: E402
from timing import interleaved_seconds, summarize  # noqa: E402

from psp_plugin.deploy import optimize_for_inference, read_cpu_features  # noqa: E402
from psp_plugin.deploy.hardware import describe_device  # noqa: E402
from psp_plugin.engine.checkpoint import require_last_checkpoint  # noqa: E402
from psp_plugin.fit.main_job import DEFAULT_WORK_DIR, JOB_CONFIG_NAME  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]


def count_flops(step) -> float:
    """FLOPs (2 x multiply-adds of convs and matmuls) of one call of ``step``."""
    with FlopCounterMode(display=False) as counter:
        step()
    return float(counter.get_total_flops())


def inference_section(device: str, repeats: int, size: tuple, runtimes: bool = False) -> dict:
    mmseg_model, plugin_model = build_pair()
    fast_modes = ('fp32', 'bf16', 'int8') if device == 'cpu' else ('fp32', 'fp16')
    image = torch.randn(1, 3, *size, device=device)
    calibration = [torch.randn(1, 3, *size) for _ in range(4)]
    models = {'mmseg fp32': mmseg_model.to(device).eval(),
              'plugin fp32': plugin_model.to(device).eval()}
    for mode in fast_modes:
        models[f'plugin fast {mode}'] = optimize_for_inference(
            copy.deepcopy(plugin_model), precision=mode, num_calib_images=4,
            calib_images=calibration if mode == 'int8' else None)

    def forward(model):
        return lambda: model._forward(image)

    steps = {name: forward(m) for name, m in models.items()}
    block = {}
    if runtimes and device == 'cpu':  # same model, image, threads, calibration and rounds
        extra, block['runtimes'] = runtime_steps(mmseg_model, image, calibration,
                                                 torch.get_num_threads())
        steps.update(extra)
    outputs = {}
    with torch.no_grad():
        # The FLOP counts double as the two models' warm-up calls.
        flops = {model: count_flops(forward(models[f'{model} fp32'])) for model in ('plugin', 'mmseg')}
        seconds = interleaved_seconds(steps, repeats=repeats, device=device,
                                      warm=['plugin fp32', 'mmseg fp32'], last_results=outputs)
    if block.get('runtimes') and 'skipped' not in block['runtimes']:
        block['runtimes']['argmax_agreement_with_mmseg_fp32'] = {
            name: agreement(outputs[name], outputs['mmseg fp32']) for name in extra}
    return dict(flops=flops['plugin'], mmseg_flops=flops['mmseg'],
                times={name: dict(summarize(s), flops=flops[model_of(name)])
                       for name, s in seconds.items()}, **block)


def model_of(variant: str) -> str:
    """'plugin' for the plugin's variants, 'mmseg' for MMSeg's model in any runtime."""
    return 'plugin' if variant.startswith('plugin') else 'mmseg'


def _grad_difference(reference, candidate) -> float:
    return max((a.grad - b.grad).abs().max().item() for a, b in
               zip(reference.parameters(), candidate.parameters()) if a.grad is not None)


def training_section(device: str, repeats: int, size: tuple) -> dict:
    mmseg_model = build_segmentor('mmseg')
    state = mmseg_model.state_dict()
    autocast = torch.bfloat16 if device == 'cpu' else torch.float16
    amp_name = 'plugin amp-bf16' if device == 'cpu' else 'plugin amp-fp16'
    models = {'mmseg fp32': mmseg_model, 'plugin fp32': build_segmentor('plugin', state_dict=state),
              'plugin with_cp': build_segmentor('plugin', with_cp=True, state_dict=state),
              amp_name: build_segmentor('plugin', state_dict=state)}
    batch = train_batch(models['plugin fp32'], size=size)
    batch = dict(inputs=batch['inputs'].to(device),
                 data_samples=[sample.to(device) for sample in batch['data_samples']])
    steps = {}
    for name, model in models.items():
        model.to(device).train()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def step(model=model, optimizer=optimizer, name=name):
            torch.manual_seed(0)
            train_step(model, batch, optimizer, device=device,
                       autocast_dtype=autocast if 'amp' in name else None)
        steps[name] = step
    # The with_cp gradient check's two steps (one of them FLOP-counted) are also
    # their variants' warm-up calls: a 512x512 step costs ~15 s on 2 cores.
    flops = {'plugin': count_flops(steps['plugin fp32'])}
    steps['plugin with_cp']()
    gradient_difference = _grad_difference(models['plugin fp32'], models['plugin with_cp'])
    flops['mmseg'] = count_flops(steps['mmseg fp32'])  # also MMSeg's warm-up step
    seconds = interleaved_seconds(steps, repeats=repeats, device=device,
                                  warm=['plugin fp32', 'plugin with_cp', 'mmseg fp32'])
    return dict(flops=flops['plugin'], mmseg_flops=flops['mmseg'],
                with_cp_max_gradient_difference=gradient_difference,
                times={name: dict(summarize(s), flops=flops[model_of(name)])
                       for name, s in seconds.items()})


def memory_section(device: str, infer_size: tuple, train_size: tuple, jobs: int = 2) -> dict:
    """Peak memory of each model and task, each in a fresh process; ``jobs`` processes at a time
    (a process's own peak RSS does not depend on its neighbours; only the section's time does)."""
    fast = 'infer-int8' if device == 'cpu' else 'infer-fp16'
    runs = {'inference mmseg fp32': ('mmseg', 'infer-fp32'),
            'inference plugin fp32': ('plugin', 'infer-fp32'),
            'inference plugin fast fp32': ('plugin-fast', 'infer-fp32'),
            f'inference plugin fast {fast[6:]}': ('plugin-fast', fast),
            'train mmseg fp32': ('mmseg', 'train'), 'train plugin fp32': ('plugin', 'train'),
            'train plugin with_cp': ('plugin', 'train-cp')}
    threads = torch.get_num_threads()

    def run(item):
        which, task = item
        return measure_in_subprocess(which, task, device, threads=threads,
                                     size=train_size if task.startswith('train') else infer_size)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return dict(zip(runs, pool.map(run, runs.values())))


def _main_job_model() -> Optional[Tuple[Path, Path]]:
    """(config, checkpoint) the main job trained, or None when it has not run here."""
    work_dir = REPO_ROOT / DEFAULT_WORK_DIR
    config = work_dir / JOB_CONFIG_NAME
    try:
        checkpoint = Path(require_last_checkpoint(str(work_dir)))
    except FileNotFoundError:
        return None
    return (config, checkpoint) if config.is_file() else None


def _default_accuracy_model(args: argparse.Namespace) -> None:
    """Check the main job's trained model when it is there and no other was named."""
    if bool(args.accuracy_config) != bool(args.accuracy_checkpoint):
        raise SystemExit('--accuracy-config and --accuracy-checkpoint go together: give '
                         'both, or neither (then the main job\'s model, or a toy one)')
    if args.accuracy_toy or args.accuracy_config:
        return
    found = _main_job_model()
    if found:
        args.accuracy_config, args.accuracy_checkpoint = map(str, found)
        print(f'accuracy: the main job\'s model {found[1]}', flush=True)
    else:
        print(f'accuracy: no trained model in {DEFAULT_WORK_DIR} (scripts/main_job.sh makes one); '
              f'training a toy model for {args.accuracy_iterations} iterations instead',
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--device', default='cpu', choices=('cpu', 'cuda'))
    parser.add_argument('--repeats', type=int, default=4,
                        help='timed rounds of the inference variants')
    parser.add_argument('--train-repeats', type=int, default=2,
                        help='timed rounds of the training variants (a 512x512 step takes '
                             '~8-17 s on 2 cores; 2 rounds keep the whole run under 10 min)')
    parser.add_argument('--json', default='benchmarks/results/bench_pspnet_{device}.json')
    parser.add_argument('--accuracy-config', help='config of a trained model to check '
                        f'(default: the one scripts/main_job.sh trained into {DEFAULT_WORK_DIR})')
    parser.add_argument('--accuracy-checkpoint', help='its checkpoint')
    parser.add_argument('--accuracy-toy', action='store_true',
                        help='check a toy model trained in the benchmark even when the main '
                             'job\'s checkpoint exists')
    parser.add_argument('--accuracy-iterations', type=int, default=150,
                        help='training iterations of the toy model when no checkpoint is given')
    parser.add_argument('--infer-size', type=int, nargs=2, default=(512, 1024),
                        metavar=('H', 'W'), help='inference input size (batch 1)')
    parser.add_argument('--train-size', type=int, nargs=2, default=(512, 512),
                        metavar=('H', 'W'), help='training crop size (batch 2)')
    parser.add_argument('--threads', type=int, help='torch threads (default: torch\'s choice)')
    parser.add_argument('--runtimes', action='store_true',
                        help='also time ONNX Runtime fp32 and OpenVINO fp32/int8 (NNCF PTQ on the '
                        "same calibration images) on MMSeg's model, interleaved with the others "
                        "(CPU; the [bench] extra; adds minutes: export, NNCF, 3 more variants)")
    parser.add_argument('--memory-jobs', type=int, default=2,
                        help='fresh processes measuring peak memory at a time (each one\'s peak '
                             'RSS is its own; 1 for the old serial run)')
    parser.add_argument('--skip', nargs='*', default=(),
                        choices=('inference', 'training', 'memory', 'accuracy'))
    args = parser.parse_args()
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit(f'--device cuda: torch {torch.__version__} sees no CUDA device (a CPU '
                         'build, no driver, or CUDA_VISIBLE_DEVICES hides it). Run without '
                         '--device for the CPU benchmark, or install a CUDA build of torch.')
    _default_accuracy_model(args)
    import psp_plugin  # noqa: F401
    if args.threads:
        torch.set_num_threads(args.threads)
    infer_size, train_size = tuple(args.infer_size), tuple(args.train_size)
    started = time.perf_counter()
    device = torch.device(args.device)
    features = read_cpu_features()
    results = dict(
        command=' '.join(sys.argv), machine=describe_device(device, features),
        python=platform.python_version(), torch=torch.__version__,
        infer_size=infer_size, train_size=train_size, threads=torch.get_num_threads(),
        cpu=features.as_dict(), rates_gflops=measure_rates(args.device))
    sections = dict(inference=lambda: inference_section(args.device, args.repeats, infer_size,
                                                        runtimes=args.runtimes),
                    training=lambda: training_section(args.device, args.train_repeats, train_size),
                    memory=lambda: memory_section(args.device, infer_size, train_size,
                                                  args.memory_jobs),
                    accuracy=lambda: accuracy_report(config=args.accuracy_config,
                                                     checkpoint=args.accuracy_checkpoint,
                                                     iterations=args.accuracy_iterations,
                                                     device=args.device))
    out = Path(args.json.format(device=args.device))
    out.parent.mkdir(parents=True, exist_ok=True)
    results['section_seconds'] = {'rates': time.perf_counter() - started}
    for name, run in sections.items():
        if name not in args.skip:
            print(f'... {name}', flush=True)
            section_started = time.perf_counter()
            results[name] = run()
            results['section_seconds'][name] = time.perf_counter() - section_started
            out.write_text(json.dumps(results, indent=1))  # keep finished sections if a later one fails
    results['section_seconds']['total'] = time.perf_counter() - started
    derive(results)
    out.write_text(json.dumps(results, indent=1))
    print_report(results)
    if results.get('inference', {}).get('runtimes'):
        print(f"\nruntimes: {json.dumps(results['inference']['runtimes'])}")
    print(f'JSON: {out}')


if __name__ == '__main__':
    main()
