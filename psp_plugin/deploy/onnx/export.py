"""Export a PSPNet segmentor to ONNX (``psp-plugin export-onnx``).

The graph takes what MMSeg's test pipeline feeds its data preprocessor and
returns full-resolution predictions:

* input ``image``: float32 (N, 3, H, W) pixel values 0..255 in the channel
  order the config's pipeline loads (BGR, as ``cv2.imread`` gives);
* outputs ``logits``: float32 (N, num_classes, H, W) and ``labels``: int64
  (N, H, W), the per-pixel argmax.

The data preprocessor's channel flip and mean/std normalisation are part of the
graph. N is dynamic; H and W are fixed at export time because the pyramid's
adaptive pooling is rewritten as pooling over constant index ranges (see
:mod:`psp_plugin.deploy.onnx.fixed_range_pooling` for why), which keeps the result
identical to PyTorch for any H, W, including sizes the bins do not divide.
"""
import copy
from pathlib import Path
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .fixed_range_pooling import pooling_bins, record_pool_input_sizes, replace_adaptive_pooling

MIN_OPSET = 17
DEFAULT_OPSET = 18
MIN_TORCH = (2, 5)  # torch.onnx.export(dynamo=True) with torch.export.Dim dynamic shapes


def torch_supports_export() -> bool:
    """True when this torch has the dynamo ONNX exporter the plugin uses (torch >= 2.5)."""
    major, minor = (int(part) for part in torch.__version__.split('+')[0].split('.')[:2])
    return (major, minor) >= MIN_TORCH


class SegmentorForExport(nn.Module):
    """Whole-image inference of an MMSeg ``EncoderDecoder`` as one tensor function.

    Args:
        segmentor (nn.Module): An MMSeg ``EncoderDecoder`` in eval mode.
    """

    def __init__(self, segmentor: nn.Module) -> None:
        super().__init__()
        preprocessor = segmentor.data_preprocessor
        self.backbone = segmentor.backbone
        self.neck = segmentor.neck if getattr(segmentor, 'with_neck', False) else None
        self.decode_head = segmentor.decode_head
        self.flip_channels = bool(getattr(preprocessor, 'channel_conversion', False))
        normalize = bool(getattr(preprocessor, '_enable_normalize', False))
        mean = preprocessor.mean.clone() if normalize else torch.zeros(1, 1, 1)
        std = preprocessor.std.clone() if normalize else torch.ones(1, 1, 1)
        self.register_buffer('mean', mean)
        self.register_buffer('std', std)

    def forward(self, image: Tensor) -> Tuple[Tensor, Tensor]:
        """Segment a batch of raw images.

        Args:
            image (Tensor): (N, 3, H, W) float pixel values 0..255.

        Returns:
            tuple[Tensor, Tensor]: (N, K, H, W) logits and (N, H, W) int64 labels.
        """
        if self.flip_channels:
            image = image[:, [2, 1, 0]]
        features = self.backbone((image - self.mean) / self.std)
        if self.neck is not None:
            features = self.neck(features)
        logits = self.decode_head(features)
        logits = F.interpolate(logits, size=image.shape[-2:], mode='bilinear',
                               align_corners=self.decode_head.align_corners)
        return logits, logits.argmax(dim=1)


def check_export_size(wrapper: nn.Module, *, height: int, width: int) -> dict:
    """Check that the model can be exported at ``height`` x ``width``.

    Returns:
        dict[str, tuple[int, int]]: Input (H, W) of each adaptive pooling layer.

    Raises:
        ValueError: The size is not positive, or a pyramid bin would be
            smaller than one feature pixel.
    """
    if height < 1 or width < 1:
        raise ValueError(f'input size {height}x{width} is not positive; '
                         'pass --input-size H W, e.g. 512 512')
    example = torch.zeros(1, 3, height, width)
    pool_inputs = record_pool_input_sizes(wrapper, example=example)
    too_small, need_h, need_w = [], 1, 1
    for name, (feat_h, feat_w) in pool_inputs.items():
        bins_h, bins_w = pooling_bins(wrapper.get_submodule(name).output_size, (feat_h, feat_w))
        stride_h, stride_w = -(-height // feat_h), -(-width // feat_w)
        need_h, need_w = max(need_h, stride_h * bins_h), max(need_w, stride_w * bins_w)
        if bins_h > feat_h or bins_w > feat_w:
            too_small.append(f'{name} pools {feat_h}x{feat_w} features into {bins_h}x{bins_w} bins')
    if too_small:
        raise ValueError(
            f'input size {height}x{width} is too small for the pyramid pooling: '
            f'{"; ".join(too_small)}, so bins would repeat pixels instead of pooling them; '
            f'export at least {need_h}x{need_w}')
    return pool_inputs


def build_export_model(segmentor: nn.Module, *, height: int, width: int) -> SegmentorForExport:
    """Wrap ``segmentor`` and fix its adaptive pooling for an ``height`` x ``width`` input.

    The segmentor itself is not modified.
    """
    wrapper = copy.deepcopy(SegmentorForExport(segmentor)).eval()
    pool_inputs = check_export_size(wrapper, height=height, width=width)
    replace_adaptive_pooling(wrapper, pool_inputs)
    return wrapper


def export_onnx(segmentor: nn.Module, *, out_file: str | Path, height: int, width: int,
                opset: int = DEFAULT_OPSET) -> Path:
    """Export ``segmentor`` for (N, 3, height, width) inputs with dynamic N.

    Args:
        segmentor (nn.Module): MMSeg ``EncoderDecoder`` (any device; exported on CPU).
        out_file (str | Path): Where to write the ``.onnx`` file.
        height (int): Input height in pixels.
        width (int): Input width in pixels.
        opset (int): ONNX opset, at least 17. Defaults to 18.

    Returns:
        Path: ``out_file``.
    """
    if not torch_supports_export():
        raise RuntimeError(
            f'ONNX export needs torch >= {MIN_TORCH[0]}.{MIN_TORCH[1]} (the dynamo exporter with dynamic '
            f'batch size); this is torch {torch.__version__}. Fix: export from an environment with a '
            'newer torch (the checkpoint is the same), e.g. the CPU set-up of scripts/bootstrap.sh.')
    if opset < MIN_OPSET:
        raise ValueError(f'opset {opset} is not supported: the exporter needs opset >= '
                         f'{MIN_OPSET}; pass --opset {DEFAULT_OPSET}')
    wrapper = build_export_model(segmentor.cpu().eval(), height=height, width=width)
    example = torch.zeros(2, 3, height, width)
    batch = torch.export.Dim('batch', min=1, max=4096)
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    program = torch.onnx.export(
        wrapper, (example, ), dynamo=True, opset_version=opset,
        input_names=['image'], output_names=['logits', 'labels'],
        dynamic_shapes=({0: batch}, ), external_data=False, verbose=False)
    program.save(str(out_file))
    return out_file


def export_checkpoint(config: str, checkpoint: Optional[str], *, out_file: str, height: int, width: int,
                      opset: int = DEFAULT_OPSET, verify: bool = False) -> List[str]:
    """Export a config + checkpoint to ONNX; return the report lines (also printed).

    Args:
        config (str): MMSeg config file.
        checkpoint (str, optional): Checkpoint; None exports randomly initialised weights (with a warning).
        out_file (str): The ``.onnx`` file to write.
        height (int): Fixed input height of the graph.
        width (int): Fixed input width of the graph.
        opset (int): ONNX opset (>= ``MIN_OPSET``).
        verify (bool): Compare ONNX Runtime with PyTorch on two random images.
    """
    from mmengine.model import revert_sync_batchnorm
    from mmseg.apis import init_model

    from .verify import compare_with_onnxruntime

    segmentor = revert_sync_batchnorm(init_model(config, checkpoint, device='cpu'))
    lines = []
    if checkpoint is None:
        lines.append('warning: no --checkpoint given, exporting randomly initialised weights')
    test_mode = segmentor.test_cfg.get('mode', 'whole') if segmentor.test_cfg else 'whole'
    if test_mode != 'whole':
        lines.append(f"note: the config tests with mode='{test_mode}'; the ONNX graph runs "
                     f'whole-image inference at {height}x{width}')
    written = export_onnx(segmentor, out_file=out_file, height=height, width=width, opset=opset)
    size_mb = written.stat().st_size / 2**20
    lines.append(f'wrote {written} ({size_mb:.1f} MiB, opset {opset}, '
                 f'input image: (N, 3, {height}, {width}) float32 BGR 0..255, N dynamic)')
    if verify:
        report = compare_with_onnxruntime(segmentor, written, height=height, width=width)
        lines.append(f"onnxruntime vs PyTorch on {report['images']} images: max |logit diff| "
                     f"{report['max_abs_diff']:.2e}, argmax agreement "
                     f"{100 * report['argmax_agreement']:.4f}% of pixels")
    for line in lines:
        print(line)
    return lines
