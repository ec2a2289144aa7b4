"""The CPU runtimes users pick instead of the plugin: ONNX Runtime and OpenVINO (+ NNCF int8).

A user with MMSeg's PSPNet exports it to ONNX and runs ONNX Runtime, or
converts it to OpenVINO and quantizes it post-training with NNCF. This module
builds those three variants from MMSeg's segmentor as the benchmark times it
(image -> logits at the head's stride, the work the plugin variants'
``_forward`` does), on the same threads and, for int8, the same calibration
images as the plugin's int8.

OpenVINO gets the PyTorch model itself (``openvino.convert_model`` of a
``torch.export`` program, OpenVINO's documented route for PyTorch models),
not the ONNX file: on the ONNX file (adaptive pooling rewritten as MatMuls,
as ONNX needs) NNCF left the pyramid fusion conv, the model's largest
layer, in fp32 (2.06 s of a 2.6 s int8 call in OpenVINO's per-layer
profile), which made OpenVINO int8 look 2.5x slower than it is. Converted
from PyTorch, every conv runs int8 (about 1.05 s here).
The packages come with the ``[bench]`` extra (onnxruntime, openvino, nncf);
without them the section is skipped with a message saying so.
"""
import copy
import importlib.util
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

PACKAGES = ('onnx', 'onnxscript', 'onnxruntime', 'openvino', 'nncf')
#: NNCF's graph walk recurses once per node; R50-D8 exceeds Python's default limit of 1000.
NNCF_RECURSION_LIMIT = 20000


def missing_packages() -> Tuple[str, ...]:
    """The runtime packages that are not installed."""
    return tuple(name for name in PACKAGES if importlib.util.find_spec(name) is None)


def skip_message(missing: Sequence[str]) -> str:
    return (f'runtimes: skipped, {", ".join(missing)} not installed; '
            "pip install -e '.[bench]' adds ONNX Runtime, OpenVINO and NNCF")


def mmseg_logits_core(segmentor: nn.Module) -> nn.Module:
    """A copy of ``backbone -> decode_head`` of ``segmentor`` as one eval-mode image -> logits module."""
    from psp_plugin.deploy.logits_core import SegmentationLogitsCore
    return copy.deepcopy(SegmentationLogitsCore(segmentor.backbone, segmentor.decode_head)).eval()


def export_logits_onnx(segmentor: nn.Module, size: Tuple[int, int], out_file: Path) -> Path:
    """Export ``backbone -> decode_head`` of ``segmentor`` for (1, 3, H, W) preprocessed images.

    Adaptive pooling becomes fixed index-range pooling for this size (ONNX has
    no adaptive pooling; psp_plugin.deploy.onnx.fixed_range_pooling), as the
    plugin's exporter does.
    """
    from psp_plugin.deploy.onnx.fixed_range_pooling import record_pool_input_sizes, replace_adaptive_pooling
    core = mmseg_logits_core(segmentor)
    example = torch.zeros(1, 3, *size)
    replace_adaptive_pooling(core, record_pool_input_sizes(core, example=example))
    program = torch.onnx.export(core, (example, ), dynamo=True, opset_version=18,
                                input_names=['image'], output_names=['logits'],
                                external_data=False, verbose=False)
    program.save(str(out_file))
    return out_file


def onnxruntime_step(onnx_file: Path, image: np.ndarray, threads: int) -> Callable[[], np.ndarray]:
    import onnxruntime
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = onnxruntime.InferenceSession(str(onnx_file), options,
                                           providers=['CPUExecutionProvider'])
    return lambda: session.run(None, {'image': image})[0]


def _openvino_step(model, image: np.ndarray, threads: int) -> Callable[[], np.ndarray]:
    import openvino
    compiled = openvino.Core().compile_model(model, 'CPU', {
        'INFERENCE_NUM_THREADS': threads, 'PERFORMANCE_HINT': 'LATENCY',
        'INFERENCE_PRECISION_HINT': 'f32'})  # f32: no silent bf16 on CPUs that have it
    request = compiled.create_infer_request()
    return lambda: np.array(request.infer({0: image})[0])


def openvino_model(mmseg_model: nn.Module, image: torch.Tensor):
    """MMSeg's image -> logits core converted to OpenVINO from PyTorch (via ``torch.export``)."""
    import openvino
    with torch.no_grad():
        program = torch.export.export(mmseg_logits_core(mmseg_model), (image, ))
    return openvino.convert_model(program)


def openvino_steps(model, image: np.ndarray, calibration: Sequence[np.ndarray],
                   threads: int) -> Tuple[Dict[str, Callable], float]:
    """OpenVINO fp32 and NNCF int8 (PTQ on ``calibration``) of ``model``; also NNCF's seconds."""
    import nncf
    started = time.perf_counter()
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, NNCF_RECURSION_LIMIT))
    try:
        quantized = nncf.quantize(model, nncf.Dataset(list(calibration)),
                                  subset_size=len(calibration))
    finally:
        sys.setrecursionlimit(limit)
    nncf_seconds = time.perf_counter() - started
    return {'openvino fp32': _openvino_step(model, image, threads),
            'openvino int8 (nncf)': _openvino_step(quantized, image, threads)}, nncf_seconds


def runtime_steps(mmseg_model: nn.Module, image: torch.Tensor, calibration: Sequence[torch.Tensor],
                  threads: int) -> Tuple[Dict[str, Callable], dict]:
    """Timed steps {name: callable} of the three runtimes, and what was done to build them.

    Args:
        mmseg_model (nn.Module): MMSeg's PSPNet in eval mode, on CPU.
        image (Tensor): (1, 3, H, W) preprocessed image the benchmark times.
        calibration (Sequence[Tensor]): (1, 3, H, W) images the plugin's int8 calibrated on.
        threads (int): Threads of every runtime (the torch variants' count).

    Returns:
        tuple[dict, dict]: The steps (each returns (1, K, h, w) logits) and an info dict
        (package versions, export and NNCF seconds); no steps and ``skipped`` when a
        package is missing.
    """
    missing = missing_packages()
    if missing:
        message = skip_message(missing)
        print(message, flush=True)
        return {}, dict(skipped=message)
    import nncf
    import onnxruntime
    import openvino
    folder = Path(tempfile.mkdtemp(prefix='psp_bench_runtimes_'))
    started = time.perf_counter()
    onnx_file = export_logits_onnx(mmseg_model, tuple(image.shape[-2:]), folder / 'pspnet.onnx')
    export_seconds = time.perf_counter() - started
    array = image.numpy().astype(np.float32)
    steps = {'onnxruntime fp32': onnxruntime_step(onnx_file, array, threads)}
    started = time.perf_counter()
    converted = openvino_model(mmseg_model, image)
    openvino_seconds = time.perf_counter() - started
    openvino_variants, nncf_seconds = openvino_steps(
        converted, array, [c.numpy().astype(np.float32) for c in calibration], threads)
    steps.update(openvino_variants)
    info = dict(model=('MMSeg PSPNet, image -> logits: exported to ONNX (opset 18) for ONNX Runtime, '
                       'converted from PyTorch (torch.export) for OpenVINO'),
                onnxruntime=onnxruntime.__version__, openvino=openvino.__version__,
                nncf=nncf.__version__, export_seconds=export_seconds,
                openvino_convert_seconds=openvino_seconds,
                nncf_seconds=nncf_seconds, calibration_images=len(calibration))
    return steps, info


def agreement(logits: np.ndarray, reference: torch.Tensor) -> Optional[float]:
    """Fraction of pixels whose argmax equals the reference's (None if shapes differ)."""
    logits = torch.from_numpy(np.asarray(logits))
    if logits.shape != reference.shape:
        return None
    return (logits.argmax(1) == reference.argmax(1)).double().mean().item()
