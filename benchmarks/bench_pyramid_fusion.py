"""The factorized pyramid fusion against the plain one, on PSPNet-R50-D8 (issue 18).

    .venv/bin/python benchmarks/bench_pyramid_fusion.py --threads 2

Builds the plugin's PSPNet-R50-D8 (BN, 19 classes) twice with the same weights,
``decode_head.factorized_fusion`` True and False, and times, interleaved
(the order reverses every round), medians over ``--repeats`` rounds:

* the decode head alone on (1, 2048, H/8, W/8) backbone features;
* the decode head's training step (forward + backward) on those features;
* the whole model (``_forward``) at H x W;
* with ``--fast``: ``optimize_for_inference`` fp32, int8, bf16 of each.

Prints each median, min-max, plain / factorized ratio and the largest
relative difference of the outputs; writes JSON.
"""
import argparse
import copy
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_models import build_segmentor  # noqa: E402
from bench_report import write_results  # noqa: E402
from timing import interleaved_seconds, summarize  # noqa: E402


def relative_difference(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """max |actual - expected| / max |expected|."""
    return ((actual.float() - expected.float()).abs().max() / expected.float().abs().max()).item()


def build_models() -> dict:
    """{'plain': segmentor, 'factorized': segmentor} with identical weights, eval mode."""
    factorized = build_segmentor('plugin')
    plain = build_segmentor('plugin')
    plain.decode_head.factorized_fusion = False
    plain.load_state_dict(factorized.state_dict(), strict=True)
    assert factorized.decode_head.factorized_fusion
    return {'plain': plain.eval(), 'factorized': factorized.eval()}


def compare(steps: dict, repeats: int) -> dict:
    """Time ``steps`` {'<variant> plain': f, '<variant> factorized': f} interleaved."""
    outputs = {name: step() for name, step in steps.items()}  # warm-up, outputs to compare
    seconds = interleaved_seconds(steps, repeats=repeats, warm=list(steps))
    times = {name: summarize(samples) for name, samples in seconds.items()}
    result = dict(times=times)
    for name in steps:
        if name.endswith(' plain'):
            variant = name[:-len(' plain')]
            partner = f'{variant} factorized'
            result[f'{variant} ratio plain/factorized'] = (
                times[name]['median_s'] / times[partner]['median_s'])
            if isinstance(outputs[name], torch.Tensor):
                result[f'{variant} max relative difference'] = relative_difference(
                    outputs[partner], outputs[name])
    return result


def head_steps(models: dict, features: tuple) -> dict:
    steps = {}
    for kind, model in models.items():
        steps[f'head {kind}'] = lambda head=model.decode_head: head(features)
    return steps


def head_train_steps(models: dict, features: tuple) -> dict:
    trainable = tuple(feature.detach().requires_grad_() for feature in features)

    def step(head):
        head.train()
        head.zero_grad(set_to_none=False)
        trainable[-1].grad = None
        torch.manual_seed(0)  # the same dropout mask for both variants
        logits = head(trainable)
        logits.square().mean().backward()
        head.eval()
        return trainable[-1].grad.clone()

    return {f'head train step {kind}': lambda head=model.decode_head: step(head)
            for kind, model in models.items()}


def fast_steps(models: dict, image: torch.Tensor, modes: tuple) -> dict:
    from psp_plugin.deploy import optimize_for_inference
    calibration = [torch.randn(1, *image.shape[1:], generator=torch.Generator().manual_seed(i))
                   for i in range(2)]
    steps = {}
    for mode in modes:
        for kind, model in models.items():
            fast = optimize_for_inference(copy.deepcopy(model), precision=mode, num_calib_images=2,
                                          calib_images=calibration if mode == 'int8' else None)
            steps[f'fast {mode} {kind}'] = lambda fast=fast: fast._forward(image)
    return steps


def print_block(title: str, block: dict) -> None:
    print(f'\n{title}')
    print(f'{"variant":<32}{"median s":>10}{"min-max s":>18}')
    for name, t in block['times'].items():
        print(f'{name:<32}{t["median_s"]:>10.3f}{t["min_s"]:>9.3f}-{t["max_s"]:<8.3f}')
    for key, value in block.items():
        if key != 'times':
            print(f'  {key}: {value:.3g}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--size', type=int, nargs=2, default=(512, 1024), metavar=('H', 'W'))
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=4)
    parser.add_argument('--skip-model', action='store_true', help='time the decode head only')
    parser.add_argument('--skip-train', action='store_true', help='no head training step')
    parser.add_argument('--fast', nargs='*', default=(), choices=('fp32', 'int8', 'bf16'),
                        help='also time optimize_for_inference in these precisions')
    parser.add_argument('--json', default='benchmarks/results/bench_pyramid_fusion.json')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    models = build_models()
    image = torch.randn(1, 3, *args.size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        features = models['plain'].extract_feat(image)
    results = dict(command=' '.join(sys.argv), torch=torch.__version__,
                   threads=torch.get_num_threads(), size=list(args.size),
                   feature_shape=list(features[-1].shape))
    blocks = {'decode head': lambda: head_steps(models, features)}
    if not args.skip_train:
        blocks['decode head training step'] = lambda: head_train_steps(models, features)
    if not args.skip_model:
        blocks['whole model'] = lambda: {f'model {kind}': lambda m=m: m._forward(image)
                                         for kind, m in models.items()}
    if args.fast:
        blocks['fast path'] = lambda: fast_steps(models, image, tuple(args.fast))
    for title, make_steps in blocks.items():
        grad_mode = torch.enable_grad() if 'training' in title else torch.no_grad()
        with grad_mode:
            results[title] = compare(make_steps(), args.repeats)
        print_block(f'{title} ({args.size[0]}x{args.size[1]} input, {args.threads} threads)',
                    results[title])
    write_results(results, args.json, started)


if __name__ == '__main__':
    main()
