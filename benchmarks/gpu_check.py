"""Device checks of the GPU check (``benchmarks/gpu_check.sh``): parity and the fp16 fast path.

Runs on ``--device cuda`` (the point) or ``--device cpu`` (to prove the script works anywhere)::

    python benchmarks/gpu_check.py --device cuda --json work_dirs/gpu_check/device_checks.json

* parity: the plugin's PSPNet-R18/R50-D8 against MMSeg's built-in one with the same (randomised)
  weights, on the device, in strict fp32 (TF32 off) and with torch's default TF32 setting;
* fast path: ``optimize_for_inference(precision='fp16')`` (on CPU it falls back to fp32 and says
  so) against the fp32 model: pixel agreement of the predictions and logit differences;
* peak device memory (``torch.cuda.max_memory_allocated``) of each step on CUDA.
"""
import argparse
import copy
import json
import sys
import time
from pathlib import Path

import torch
from mmengine.registry import init_default_scope

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from psp_plugin.deploy import optimize_for_inference  # noqa: E402
from psp_plugin.testing.pspnet_builders import (  # noqa: E402
    build_model,
    pspnet_cfg,
    randomize_norm_layers,
    relative_max_diff,
)

PARITY_TOLERANCE = 1e-4
FP16_MIN_AGREEMENT = 0.99


def set_tf32(enabled: bool) -> None:
    """Allow or forbid TF32 in cuDNN convolutions and CUDA matmuls."""
    torch.backends.cudnn.allow_tf32 = enabled
    torch.backends.cuda.matmul.allow_tf32 = enabled


def peak_memory_mb(device: torch.device) -> float | None:
    """Peak allocated CUDA memory since the last reset, in MiB (None on CPU)."""
    if device.type != 'cuda':
        return None
    torch.cuda.synchronize(device)
    return torch.cuda.max_memory_allocated(device) / 2**20


def reset_peak(device: torch.device) -> None:
    """Start a new peak-memory window on CUDA."""
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)


def parity(depth: int, device: torch.device, shape: tuple) -> dict:
    """Plugin vs MMSeg PSPNet-R{depth}-D8 logits on ``device`` (same weights), fp32 and TF32."""
    torch.manual_seed(depth)
    mmseg_model = build_model(pspnet_cfg(ours=False, depth=depth))
    randomize_norm_layers(mmseg_model, seed=depth)
    ours = build_model(pspnet_cfg(ours=True, depth=depth))
    ours.load_state_dict(mmseg_model.state_dict(), strict=True)
    mmseg_model, ours = mmseg_model.to(device).eval(), ours.to(device).eval()
    images = torch.randn(shape, generator=torch.Generator().manual_seed(1)).to(device)
    result = dict(depth=depth, shape=list(shape))
    for name, tf32 in (('fp32', False), ('tf32_default', True)):
        set_tf32(tf32)
        reset_peak(device)
        with torch.no_grad():
            reference = mmseg_model.decode_head(mmseg_model.extract_feat(images))
            logits = ours.decode_head(ours.extract_feat(images))
        result[f'{name}_relative_max_diff'] = relative_max_diff(logits, reference)
        result[f'{name}_peak_mb'] = peak_memory_mb(device)
    set_tf32(False)
    result['passed'] = result['fp32_relative_max_diff'] < PARITY_TOLERANCE
    return result


def fp16_fast_path(device: torch.device, shape: tuple) -> dict:
    """``optimize_for_inference(precision='fp16')`` against the fp32 plugin model on ``device``."""
    torch.manual_seed(0)
    model = build_model(pspnet_cfg(ours=True, depth=50, num_classes=19, channels=128, aux_channels=64))
    randomize_norm_layers(model, seed=0)
    model = model.to(device).eval()
    fast = optimize_for_inference(copy.deepcopy(model), precision='fp16')
    images = torch.randn(shape, generator=torch.Generator().manual_seed(2)).to(device)
    with torch.no_grad():
        reset_peak(device)
        reference = model._forward(images).float()
        fp32_peak = peak_memory_mb(device)
        reset_peak(device)
        logits = fast._forward(images).float()
        fast_peak = peak_memory_mb(device)
        seconds = {}
        for name, net in (('fp32', model), ('fast', fast)):
            for _ in range(2):  # warm-up (cuDNN autotuning, lazy init)
                net._forward(images)
            if device.type == 'cuda':
                torch.cuda.synchronize(device)
            started = time.perf_counter()
            for _ in range(5):
                net._forward(images)
            if device.type == 'cuda':
                torch.cuda.synchronize(device)
            seconds[name] = (time.perf_counter() - started) / 5
    agreement = (logits.argmax(1) == reference.argmax(1)).float().mean().item()
    return dict(precision_used=getattr(fast, 'inference_precision', None), shape=list(shape),
                pixel_agreement=agreement, relative_max_diff=relative_max_diff(logits, reference),
                fp32_seconds=seconds['fp32'], fast_seconds=seconds['fast'],
                speedup=seconds['fp32'] / seconds['fast'], fp32_peak_mb=fp32_peak,
                fast_peak_mb=fast_peak, passed=agreement >= FP16_MIN_AGREEMENT)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--device', default='cuda', choices=('cuda', 'cpu'))
    parser.add_argument('--parity-shape', type=int, nargs=4, default=(2, 3, 97, 131))
    parser.add_argument('--fast-shape', type=int, nargs=4,
                        help='default: 1 3 512 1024 on cuda, 1 3 128 256 on cpu')
    parser.add_argument('--json', default='work_dirs/gpu_check/device_checks.json')
    args = parser.parse_args()
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit(f'--device cuda: torch {torch.__version__} sees no CUDA device; use --device cpu '
                         'to check the script itself on a CPU machine.')
    init_default_scope('mmseg')
    device = torch.device(args.device)
    fast_shape = tuple(args.fast_shape or ((1, 3, 512, 1024) if device.type == 'cuda' else (1, 3, 128, 256)))
    results = dict(device=torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu',
                   torch=torch.__version__, cuda=torch.version.cuda)
    results['parity'] = [parity(depth, device, tuple(args.parity_shape)) for depth in (18, 50)]
    results['fp16_fast_path'] = fp16_fast_path(device, fast_shape)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    for check in results['parity']:
        print(f"parity R{check['depth']}: relative max diff fp32 {check['fp32_relative_max_diff']:.2e} "
              f"(tolerance {PARITY_TOLERANCE:.0e}), with TF32 {check['tf32_default_relative_max_diff']:.2e}"
              f" -> {'PASS' if check['passed'] else 'FAIL'}")
    fast = results['fp16_fast_path']
    print(f"fast path ({fast['precision_used']}): pixel agreement {fast['pixel_agreement']:.4%}, "
          f"relative max diff {fast['relative_max_diff']:.2e}, {fast['speedup']:.2f}x fp32 "
          f"({fast['fast_seconds'] * 1e3:.1f} vs {fast['fp32_seconds'] * 1e3:.1f} ms), peak "
          f"{fast['fast_peak_mb']} vs {fast['fp32_peak_mb']} MiB -> {'PASS' if fast['passed'] else 'FAIL'}")
    print(f'JSON: {out}')
    return 0 if all(c['passed'] for c in results['parity']) and fast['passed'] else 1


if __name__ == '__main__':
    sys.exit(main())
