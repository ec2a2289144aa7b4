"""Eval-mode BatchNorms folded into the backbone convs, against calling them (eager fp32).

    .venv/bin/python benchmarks/bench_norm_folding.py --threads 2

Builds MMSeg's PSPNet-R50-D8 and the plugin's with the same weights (BatchNorm
statistics randomised so the fold is not an identity) and times
``_forward`` at H x W, batch 1, interleaved (the order reverses every round),
medians over ``--repeats`` rounds: the plugin with
``backbone.fold_eval_norms`` True and False (two models, same weights) and
MMSeg's. Prints each median, its ratio to MMSeg's and the largest relative
difference of the logits; writes JSON.
"""
import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_models import build_segmentor  # noqa: E402
from bench_pyramid_fusion import relative_difference  # noqa: E402
from bench_report import write_results  # noqa: E402
from timing import interleaved_seconds, summarize  # noqa: E402

from psp_plugin.testing.pspnet_builders import randomize_norm_layers  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--size', type=int, nargs=2, default=(512, 1024), metavar=('H', 'W'))
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--json', default='benchmarks/results/bench_norm_folding.json')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    mmseg = build_segmentor('mmseg')
    randomize_norm_layers(mmseg, seed=0)
    state = mmseg.state_dict()
    models = {'mmseg fp32': mmseg, 'plugin folded': build_segmentor('plugin', state_dict=state),
              'plugin as written': build_segmentor('plugin', state_dict=state)}
    models['plugin as written'].backbone.fold_eval_norms = False
    image = torch.randn(1, 3, *args.size, generator=torch.Generator().manual_seed(0))
    steps = {name: (lambda model=model.eval(): model._forward(image)) for name, model in models.items()}
    with torch.no_grad():
        outputs = {name: step() for name, step in steps.items()}  # warm-up
        seconds = interleaved_seconds(steps, repeats=args.repeats, warm=list(steps))
    times = {name: summarize(samples) for name, samples in seconds.items()}
    base = times['mmseg fp32']['median_s']
    results = dict(command=' '.join(sys.argv), torch=torch.__version__, threads=torch.get_num_threads(),
                   size=list(args.size), times=times,
                   ratio_to_mmseg={name: t['median_s'] / base for name, t in times.items()},
                   folded_vs_as_written_relative_difference=relative_difference(
                       outputs['plugin folded'], outputs['plugin as written']),
                   folded_vs_mmseg_relative_difference=relative_difference(
                       outputs['plugin folded'], outputs['mmseg fp32']))
    print(f'{"variant":<20}{"median s":>10}{"min-max s":>18}{"x MMSeg":>9}')
    for name, t in times.items():
        print(f'{name:<20}{t["median_s"]:>10.3f}{t["min_s"]:>9.3f}-{t["max_s"]:<8.3f}'
              f'{results["ratio_to_mmseg"][name]:>9.3f}')
    for key in ('folded_vs_as_written_relative_difference', 'folded_vs_mmseg_relative_difference'):
        print(f'  {key}: {results[key]:.2e}')
    write_results(results, args.json, started)


if __name__ == '__main__':
    main()
