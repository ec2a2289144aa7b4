"""The traceable heart of a segmentor, and the head that runs it in its place.

MMSeg's ``EncoderDecoder`` carries data samples and image metas through
``predict()``, which torch.fx cannot trace. Its numerical work, however, is
``decode_head.forward(backbone(image))``: :class:`SegmentationLogitsCore` is
exactly that, as one module that can be traced, BN-folded and quantized.
:class:`FastInferenceHead` then takes the decode head's place in the
segmentor, so ``predict()``, ``inference_model``, ``MMSegInferencer`` and
``mim test`` keep working unchanged around the accelerated core.
"""
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


class SegmentationLogitsCore(nn.Module):
    """Backbone (+ neck) + decode head as one module: image -> logits.

    Args:
        backbone (nn.Module): Returns a tuple of feature maps.
        decode_head (nn.Module): An MMSeg decode head; its ``forward`` maps the
            feature tuple to logits.
        neck (nn.Module, optional): Applied between the two. Default: None.

    Example:
        >>> core = SegmentationLogitsCore(model.backbone, model.decode_head)
        >>> core(torch.rand(1, 3, 64, 64)).shape  # (N, num_classes, H/8, W/8)
    """

    def __init__(self, backbone: nn.Module, decode_head: nn.Module,
                 neck: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.neck = neck
        self.decode_head = decode_head

    def forward(self, image: Tensor) -> Tensor:
        """Map ``image`` (N, 3, H, W) to logits (N, K, h, w) at the head's stride."""
        features = self.backbone(image)
        if self.neck is not None:
            features = self.neck(features)
        return self.decode_head(features)


#: Dtype of the weights and inputs of a core per precision (int8 cores quantize inside).
INPUT_DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16, 'fp16': torch.float16,
                'int8': torch.float32}


class PrecisionAdapter(nn.Module):
    """Run a core in a given precision and memory format; return float32 logits.

    Args:
        core (nn.Module): Maps (N, 3, H, W) images to (N, K, h, w) logits.
        precision (str): The precision ``core`` was converted to, one of
            :data:`INPUT_DTYPES`; inputs are cast to its dtype.
        channels_last (bool): Feed the core NHWC-strided inputs.
    """

    def __init__(self, core: nn.Module, *, precision: str = 'fp32',
                 channels_last: bool = True) -> None:
        super().__init__()
        self.core = core
        self.precision = precision
        self.dtype = INPUT_DTYPES[precision]
        self.channels_last = channels_last

    def forward(self, image: Tensor) -> Tensor:
        """Map ``image`` (N, 3, H, W) of any float dtype to float32 logits."""
        memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        image = image.to(dtype=self.dtype, memory_format=memory_format)
        return self.core(image).float().contiguous()


class FastInferenceHead(nn.Module):
    """Stands in for a segmentor's decode head after :func:`optimize_for_inference`.

    The segmentor's backbone is replaced by ``nn.Identity``, so this head
    receives the preprocessed image and runs the whole accelerated core.
    Call flow: ``EncoderDecoder.predict() -> encode_decode() ->
    FastInferenceHead.predict() -> forward() -> predict_by_feat()``.

    Args:
        logits_core (nn.Module): Maps (N, 3, H, W) images to float32 logits.
        align_corners (bool): As in the replaced head, for the final resize.
        num_classes (int): As in the replaced head.
        out_channels (int): As in the replaced head (1 for binary heads).
        threshold (float): As in the replaced head (used when out_channels == 1).
        precision (str): The precision the core runs in, for ``repr`` and logs.
    """

    def __init__(self, logits_core: nn.Module, *, align_corners: bool, num_classes: int,
                 out_channels: int, threshold: float = 0.3, precision: str = 'fp32') -> None:
        super().__init__()
        self.logits_core = logits_core
        self.align_corners = align_corners
        self.num_classes = num_classes
        self.out_channels = out_channels
        self.threshold = threshold
        self.precision = precision

    def extra_repr(self) -> str:
        return f'precision={self.precision!r}, num_classes={self.num_classes}'

    def forward(self, inputs: Tensor) -> Tensor:
        """Map the preprocessed image (N, 3, H, W) to logits at the head's stride."""
        return self.logits_core(inputs)

    def predict(self, inputs: Tensor, batch_img_metas: List[dict], test_cfg: dict) -> Tensor:
        """Return logits (N, K, H, W) resized to the padded input size, as MMSeg does."""
        return self.predict_by_feat(self.forward(inputs), batch_img_metas)

    def predict_by_feat(self, seg_logits: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Resize ``seg_logits`` to the size MMSeg's ``BaseDecodeHead`` would use."""
        meta = batch_img_metas[0]
        if isinstance(meta['img_shape'], torch.Size):
            size = meta['img_shape']
        elif 'pad_shape' in meta:
            size = meta['pad_shape'][:2]
        else:
            size = meta['img_shape']
        return F.interpolate(seg_logits, size=tuple(size), mode='bilinear',
                             align_corners=self.align_corners)

    def loss(self, *args, **kwargs) -> dict:
        """Refuse to train: the converted model has no trainable layers left."""
        raise RuntimeError(
            f'This segmentor was converted for inference ({self.precision}) by '
            'psp_plugin.deploy.optimize_for_inference and cannot be trained. Build a fresh '
            'model from the config (mmseg.apis.init_model or MODELS.build) to train it.')


def install_fast_head(segmentor: nn.Module, logits_core: nn.Module, *, precision: str) -> nn.Module:
    """Put ``logits_core`` in place of the segmentor's backbone, neck and heads, in place.

    Args:
        segmentor (nn.Module): An MMSeg ``EncoderDecoder`` whose decode head is
            still the original one (it provides align_corners and class counts).
        logits_core (nn.Module): The accelerated image -> logits module.
        precision (str): The precision ``logits_core`` runs in.

    Returns:
        nn.Module: ``segmentor``, now predicting through :class:`FastInferenceHead`.
    """
    head = segmentor.decode_head
    segmentor.decode_head = FastInferenceHead(
        logits_core, align_corners=head.align_corners, num_classes=head.num_classes,
        out_channels=head.out_channels, threshold=getattr(head, 'threshold', 0.3) or 0.3,
        precision=precision)
    segmentor.backbone = nn.Identity()
    if getattr(segmentor, 'neck', None) is not None:
        segmentor.neck = None
    if getattr(segmentor, 'auxiliary_head', None) is not None:
        segmentor.auxiliary_head = None
    segmentor.inference_precision = precision
    return segmentor.eval()
