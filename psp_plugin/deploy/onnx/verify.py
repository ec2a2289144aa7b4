"""Compare an exported ONNX segmentor with MMSeg's own PyTorch inference path."""
from pathlib import Path

import numpy as np
import torch
from torch import nn


def mmseg_reference_logits(segmentor: nn.Module, images: np.ndarray) -> np.ndarray:
    """Logits from MMSeg's data preprocessor and ``encode_decode`` (whole-image mode).

    Args:
        segmentor (nn.Module): MMSeg ``EncoderDecoder`` in eval mode, on CPU.
        images (np.ndarray): (N, 3, H, W) uint8 images in the pipeline's channel order.

    Returns:
        np.ndarray: (N, K, H, W) float32 logits.
    """
    height, width = images.shape[-2:]
    data = segmentor.data_preprocessor(
        {'inputs': [torch.from_numpy(image) for image in images]}, False)
    metas = [dict(img_shape=(height, width), ori_shape=(height, width))] * len(images)
    with torch.no_grad():
        return segmentor.encode_decode(data['inputs'], metas).numpy()


def compare_with_onnxruntime(segmentor: nn.Module, onnx_file: str | Path, *, height: int,
                             width: int, num_images: int = 2, seed: int = 0) -> dict:
    """Run ONNX Runtime (CPU) and PyTorch on the same random images.

    Args:
        segmentor (nn.Module): The segmentor that was exported (eval mode, CPU).
        onnx_file (str | Path): The exported graph.
        height (int): Export height.
        width (int): Export width.
        num_images (int): Batch size of the comparison. Defaults to 2.
        seed (int): Seed of the random images. Defaults to 0.

    Returns:
        dict: ``images``; ``max_abs_diff`` of the logits; ``argmax_agreement``,
        the fraction of pixels whose predicted class is identical.
    """
    import onnxruntime

    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(num_images, 3, height, width), dtype=np.uint8)
    reference = mmseg_reference_logits(segmentor, images)
    session = onnxruntime.InferenceSession(str(onnx_file), providers=['CPUExecutionProvider'])
    logits, labels = session.run(['logits', 'labels'], {'image': images.astype(np.float32)})
    return dict(
        images=num_images,
        max_abs_diff=float(np.abs(logits - reference).max()),
        argmax_agreement=float(np.mean(labels == reference.argmax(axis=1))),
    )
