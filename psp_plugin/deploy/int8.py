"""int8 static post-training quantization of a segmentor, and its safe save/load.

We use torch's FX graph mode (``torch.ao.quantization.quantize_fx``) with the
``x86`` backend: it ships inside torch (the PT2E quantizers moved to the
separate ``torchao`` package), and on MMSeg's PSPNet-R50 it measured 4.7x
faster than fp32 on a 2-core AVX-512 VNNI CPU. Weights are quantized per
output channel (symmetric), activations per tensor with histogram observers,
calibrated on real images. ``prepare_fx`` folds conv + BatchNorm (+ ReLU) itself;
on CPUs with VNNI the residual add + ReLU then joins the conv before it
(:mod:`psp_plugin.deploy.fused_residual_add`), and adaptive poolings whose bins
tile the map run as plain average poolings (:mod:`psp_plugin.deploy.tiled_pooling`).

Saving never pickles code: the file holds the quantized ``state_dict`` (plain
and quantized tensors), the config text and metadata. Loading rebuilds the
float model from the config, quantizes its structure again without
calibration, and loads the saved tensors with ``torch.load(weights_only=True)``.
"""
import contextlib
import warnings
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

import torch
import torch.nn as nn
from torch import Tensor, fx

from ..engine.checkpoint.safe_loading import safe_torch_load
from .fused_residual_add import fuse_residual_adds
from .logits_core import FastInferenceHead, PrecisionAdapter, SegmentationLogitsCore, install_fast_head
from .tiled_pooling import pool_by_tiles_where_possible

QUANTIZED_ENGINE = 'x86'
#: Layers kept in float: the per-pixel classifier is tiny and sets the argmax.
FLOAT_MODULE_NAMES = ('decode_head.conv_seg', )
FILE_FORMAT = 'psp_plugin-int8-segmentor'
FILE_FORMAT_VERSION = 1


@contextlib.contextmanager
def quiet_quantization_warnings():
    """Silence torch's deprecation notices for FX quantization (it still ships in torch)."""
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='.*torch.ao.quantization is deprecated.*')
        warnings.filterwarnings('ignore', message='.*quantized tensor creation functions.*')
        warnings.filterwarnings('ignore', message='.*torch.quantize_per_tensor.*deprecated.*')
        warnings.filterwarnings('ignore', message='.*Please use quant_min and quant_max.*')
        warnings.filterwarnings('ignore', message='.*must run observer before calling.*')
        warnings.filterwarnings('ignore', message='.*TypedStorage is deprecated.*')
        yield


def _qconfig_mapping(float_module_names: Sequence[str]):
    from torch.ao.quantization import get_default_qconfig_mapping
    mapping = get_default_qconfig_mapping(QUANTIZED_ENGINE)
    for name in float_module_names:
        mapping = mapping.set_module_name(name, None)
    return mapping


def prepare_int8(core: SegmentationLogitsCore, example_image: Tensor, *,
                 float_module_names: Sequence[str] = FLOAT_MODULE_NAMES) -> fx.GraphModule:
    """Trace ``core``, fold BN and insert observers (no calibration yet).

    Args:
        core (SegmentationLogitsCore): The float image -> logits module, on CPU.
        example_image (Tensor): (1, 3, H, W) float input used for tracing.
        float_module_names (Sequence[str]): Qualified names kept in float.

    Returns:
        fx.GraphModule: The observed model; run images through it to calibrate.
    """
    from torch.ao.quantization.quantize_fx import prepare_fx
    torch.backends.quantized.engine = QUANTIZED_ENGINE
    with quiet_quantization_warnings():
        try:
            return prepare_fx(core.eval(), _qconfig_mapping(float_module_names),
                              (example_image, ))
        except Exception as error:  # fx tracing errors have no common base class
            raise RuntimeError(
                f'int8 quantization could not trace the model ({error}). The backbone and '
                'decode head must be torch.fx-traceable in eval mode; the plugin modules '
                "(DilatedResNet, PPMHead) are. Use precision='bf16' or 'fp32' otherwise."
            ) from error


@torch.no_grad()
def calibrate_and_convert(observed: fx.GraphModule,
                          calibration_images: Optional[Iterable[Tensor]]) -> fx.GraphModule:
    """Feed calibration images through the observers, then convert to int8.

    Args:
        observed (fx.GraphModule): Output of :func:`prepare_int8`.
        calibration_images (Iterable[Tensor], optional): (N, 3, H, W) float
            batches, preprocessed as the model expects. ``None`` only when the
            quantization parameters are loaded from a file right after.

    Returns:
        fx.GraphModule: The int8 model, taking and returning float tensors.
    """
    from torch.ao.quantization.quantize_fx import convert_fx
    seen = 0
    for batch in calibration_images or ():
        observed(batch.contiguous(memory_format=torch.channels_last))
        seen += 1
    if calibration_images is not None and seen == 0:
        raise ValueError('No calibration images were given to int8 quantization; pass '
                         'calib_images= (a folder, image paths or an (N, 3, H, W) tensor).')
    with quiet_quantization_warnings():
        converted = convert_fx(observed)
    fuse_residual_adds(converted)
    pool_by_tiles_where_possible(converted)
    return converted


def quantize_core(core: SegmentationLogitsCore, calibration_images: Optional[Iterable[Tensor]],
                  *, example_image: Optional[Tensor] = None) -> fx.GraphModule:
    """Return the int8 version of ``core`` (see :func:`prepare_int8`)."""
    example = example_image if example_image is not None else torch.rand(1, 3, 64, 64)
    return calibrate_and_convert(prepare_int8(core, example), calibration_images)


def tensor_state_dict(graph: fx.GraphModule) -> dict:
    """``graph.state_dict()`` with packed functional-conv weights as plain tensors.

    FX conversion packs the weight of a functional ``F.conv2d`` (PPMHead's
    factorized fusion conv) into a ``ScriptObject``, which ``torch.load``
    refuses with ``weights_only=True``; it is stored as its int8 weight and bias.
    """
    state = graph.state_dict()
    for key in [key for key, value in state.items() if isinstance(value, torch._C.ScriptObject)]:
        weight, bias = torch.ops.quantized.conv2d_unpack(state.pop(key))
        state[f'{key}.weight'], state[f'{key}.bias'] = weight, bias
    return state


def load_tensor_state_dict(graph: fx.GraphModule, state: dict) -> None:
    """Load a :func:`tensor_state_dict` into a converted graph of the same model (strict)."""
    state = dict(state)
    for name in [name for name in dir(graph) if '_packed_weight' in name]:
        packed = getattr(graph, name)
        if isinstance(packed, torch._C.ScriptObject) and f'{name}.weight' in state:
            setattr(graph, name, torch.ops.quantized.conv2d_prepack(
                state.pop(f'{name}.weight'), state.pop(f'{name}.bias'), packed.stride(),
                packed.padding(), packed.dilation(), packed.groups()))
    graph.load_state_dict(state, strict=True)


def _int8_graph_of(segmentor: nn.Module) -> fx.GraphModule:
    head = getattr(segmentor, 'decode_head', None)
    if not isinstance(head, FastInferenceHead) or head.precision != 'int8':
        raise ValueError(
            'save_int8_model() needs a segmentor converted with '
            "optimize_for_inference(model, precision='int8', ...); this one is "
            f"{getattr(head, 'precision', 'not converted')}.")
    adapter = head.logits_core
    return adapter.core if isinstance(adapter, PrecisionAdapter) else adapter


def save_int8_model(segmentor: nn.Module, path: Union[str, Path]) -> Path:
    """Save a calibrated int8 segmentor as tensors + config text (no pickled code).

    Args:
        segmentor (nn.Module): Returned by ``optimize_for_inference(..., precision='int8')``
            on a model built from a config (``model.cfg``, as ``init_model`` sets it).
        path (str | Path): Output file, conventionally ``*.int8.pth``.

    Returns:
        Path: The file written.
    """
    graph = _int8_graph_of(segmentor)
    cfg = getattr(segmentor, 'cfg', None)
    if cfg is None:
        raise ValueError('The segmentor has no .cfg; build it with mmseg.apis.init_model(config) '
                         'or set model.cfg = Config(...) so the file can rebuild it.')
    meta = getattr(segmentor, 'dataset_meta', None) or {}
    payload = dict(
        format=FILE_FORMAT, format_version=FILE_FORMAT_VERSION,
        state_dict=tensor_state_dict(graph), config_text=cfg.pretty_text,
        dataset_meta={key: meta[key] for key in ('classes', 'palette') if key in meta},
        channels_last=segmentor.decode_head.logits_core.channels_last,
        float_module_names=list(FLOAT_MODULE_NAMES), quantized_engine=QUANTIZED_ENGINE,
        torch_version=str(torch.__version__))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with quiet_quantization_warnings():
        torch.save(payload, path)
    return path


def _read_int8_file(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f'No int8 model file at {path}; write one with '
                                'psp_plugin.deploy.save_int8_model(model, path).')
    with quiet_quantization_warnings():
        payload = safe_torch_load(str(path), map_location='cpu')
    if not isinstance(payload, dict) or payload.get('format') != FILE_FORMAT:
        raise ValueError(f'{path} is not an int8 segmentor saved by psp_plugin.deploy.'
                         'save_int8_model (a training checkpoint? load that with init_model, '
                         "then call optimize_for_inference(model, precision='int8')).")
    if payload.get('format_version', 0) > FILE_FORMAT_VERSION:
        raise ValueError(f'{path} uses int8 file format version {payload["format_version"]}, '
                         f'newer than this psp_plugin reads ({FILE_FORMAT_VERSION}); upgrade '
                         'psp_plugin.')
    return payload


def apply_int8_file(segmentor: nn.Module, path: Union[str, Path]) -> nn.Module:
    """Quantize ``segmentor`` in place with the tensors of an int8 file (no calibration).

    Args:
        segmentor (nn.Module): A float ``EncoderDecoder`` built from the config
            the file was made from (its weights are replaced).
        path (str | Path): The file written by :func:`save_int8_model`.

    Returns:
        nn.Module: ``segmentor``, converted to int8, on CPU, in eval mode.
    """
    from mmengine.model import revert_sync_batchnorm
    payload = _read_int8_file(Path(path))
    segmentor = revert_sync_batchnorm(segmentor).cpu().eval()
    core = SegmentationLogitsCore(segmentor.backbone, segmentor.decode_head,
                                  neck=getattr(segmentor, 'neck', None))
    observed = prepare_int8(core, torch.rand(1, 3, 64, 64),
                            float_module_names=payload['float_module_names'])
    graph = calibrate_and_convert(observed, None)
    try:
        load_tensor_state_dict(graph, payload['state_dict'])
    except RuntimeError as error:
        raise RuntimeError(
            f'{path} does not match the model built from the config ({error}). It was saved '
            f'with torch {payload["torch_version"]} (this is {torch.__version__}); pass the '
            'config it was made from, or quantize the model again.') from error
    adapter = PrecisionAdapter(graph, precision='int8', channels_last=payload['channels_last'])
    install_fast_head(segmentor, adapter, precision='int8')
    if payload['dataset_meta']:
        segmentor.dataset_meta = dict(payload['dataset_meta'])
    return segmentor


def load_int8_model(path: Union[str, Path], *, config=None) -> nn.Module:
    """Load a segmentor saved by :func:`save_int8_model`, without recalibrating.

    The float model is rebuilt from the config (no weights are read from
    anywhere else), quantized in structure only, and then given the saved
    int8 tensors. Loading is ``torch.load(weights_only=True)``.

    Args:
        path (str | Path): The file written by :func:`save_int8_model`.
        config (str | Path | Config, optional): Config to rebuild the model
            from; default: the config text stored in the file.

    Returns:
        nn.Module: The int8 ``EncoderDecoder`` on CPU, in eval mode.
    """
    from mmengine.config import Config
    from mmseg.apis import init_model
    if config is None:
        config = Config.fromstring(_read_int8_file(Path(path))['config_text'], file_format='.py')
    elif isinstance(config, (str, Path)):
        config = Config.fromfile(str(config))
    return apply_int8_file(init_model(config, checkpoint=None, device='cpu'), path)
