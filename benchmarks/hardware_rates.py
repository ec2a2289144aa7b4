"""Measured arithmetic rates of this machine in fp32, bf16 and int8.

These are the ceilings the model timings are compared with: "achieved
GFLOP/s" of a model divided by the rate measured here, in the same precision
and in the same run (so machine load affects both alike).
"""
import time
import warnings
from typing import Callable, Dict

import torch
import torch.nn as nn


def _best_seconds(step: Callable[[], object], repeats: int) -> float:
    step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_rate(dtype: torch.dtype, *, size: int = 2048, device: str = 'cpu',
                repeats: int = 5) -> float:
    """GFLOP/s of a (size x size) @ (size x size) product in ``dtype``."""
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)

    def step():
        out = a @ b
        if device != 'cpu':
            torch.cuda.synchronize()
        return out

    return 2 * size ** 3 / _best_seconds(step, repeats) / 1e9


@torch.no_grad()
def conv3x3_rate(precision: str, *, channels: int = 256, size: int = 64,
                 repeats: int = 5) -> float:
    """GFLOP/s (GOP/s for int8) of a 3x3 conv, (1, C, S, S) -> (1, C, S, S), NHWC on CPU."""
    conv = nn.Conv2d(channels, channels, 3, padding=1).eval()
    image = torch.randn(1, channels, size, size).contiguous(memory_format=torch.channels_last)
    flops = 2 * channels * channels * 9 * size * size
    if precision == 'int8':
        from torch.ao.nn.quantized import Conv2d as QuantizedConv2d
        torch.backends.quantized.engine = 'x86'
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            conv.qconfig = torch.ao.quantization.get_default_qconfig('x86')
            observer = conv.qconfig.activation()
            observer(conv(image))
            conv.activation_post_process = observer
            quantized = QuantizedConv2d.from_float(conv)
            qimage = torch.quantize_per_tensor(image, 0.05, 64, torch.quint8)
        return flops / _best_seconds(lambda: quantized(qimage), repeats) / 1e9
    dtype = {'fp32': torch.float32, 'bf16': torch.bfloat16}[precision]
    conv = conv.to(dtype=dtype, memory_format=torch.channels_last)
    image = image.to(dtype)
    return flops / _best_seconds(lambda: conv(image), repeats) / 1e9


def measure_rates(device: str = 'cpu') -> Dict[str, float]:
    """Return GFLOP/s of matmul and 3x3 conv per precision on ``device``."""
    if device == 'cuda':
        return dict(matmul_fp32=matmul_rate(torch.float32, size=8192, device='cuda'),
                    matmul_fp16=matmul_rate(torch.float16, size=8192, device='cuda'),
                    matmul_bf16=matmul_rate(torch.bfloat16, size=8192, device='cuda'))
    return dict(matmul_fp32=matmul_rate(torch.float32), matmul_bf16=matmul_rate(torch.bfloat16),
                conv3x3_fp32=conv3x3_rate('fp32'), conv3x3_bf16=conv3x3_rate('bf16'),
                conv3x3_int8=conv3x3_rate('int8'))
