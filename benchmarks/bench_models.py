"""The two PSPNet-R50-D8 models the benchmark compares, with the same weights.

Both are built from their projects' own base configs with plain BN (the
machines here have one device) and 19 classes; MMSeg's weights are loaded
into the plugin's model with ``strict=True`` (the plugin mirrors MMSeg's
state-dict keys), so any difference in time or memory is the implementation.
"""
import copy
from pathlib import Path
from typing import Dict, Tuple

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope

REPO_ROOT = Path(__file__).resolve().parents[1]
PLUGIN_BASE = REPO_ROOT / 'configs' / '_base_' / 'models' / 'pspnet_r50-d8.py'
BN = dict(type='BN', requires_grad=True)


def model_config(which: str, *, with_cp: bool = False, num_classes: int = 19) -> Config:
    """The EncoderDecoder config of ``which`` in {'plugin', 'mmseg'}, BN, no pretrained."""
    import mmseg
    mmseg_base = Path(mmseg.__file__).parent / '.mim' / 'configs' / '_base_' / 'models' / \
        'pspnet_r50-d8.py'
    cfg = Config.fromfile(str(PLUGIN_BASE if which == 'plugin' else mmseg_base))
    model = copy.deepcopy(cfg.model)
    model.backbone.update(norm_cfg=BN, init_cfg=None, with_cp=with_cp)
    model.pop('pretrained', None)
    for head in ('decode_head', 'auxiliary_head'):
        model[head].update(norm_cfg=BN, num_classes=num_classes)
    return Config(dict(model=model, default_scope='mmseg'))


def build_segmentor(which: str, *, with_cp: bool = False,
                    state_dict: Dict[str, torch.Tensor] = None) -> nn.Module:
    """Build a segmentor; load ``state_dict`` (strict) when given."""
    from mmseg.registry import MODELS

    import psp_plugin  # noqa: F401  (registers the plugin modules)
    init_default_scope('mmseg')
    cfg = model_config(which, with_cp=with_cp)
    torch.manual_seed(0)
    segmentor = MODELS.build(cfg.model)
    segmentor.cfg = cfg
    if state_dict is not None:
        segmentor.load_state_dict(state_dict, strict=True)
    return segmentor


def build_pair() -> Tuple[nn.Module, nn.Module]:
    """(MMSeg's PSPNet, the plugin's PSPNet) with identical weights."""
    mmseg_model = build_segmentor('mmseg')
    plugin_model = build_segmentor('plugin', state_dict=mmseg_model.state_dict())
    return mmseg_model, plugin_model


def train_batch(segmentor: nn.Module, *, batch: int = 2, size: Tuple[int, int] = (512, 512),
                num_classes: int = 19, seed: int = 0) -> dict:
    """A preprocessed random training batch: images and SegDataSamples with labels."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    generator = torch.Generator().manual_seed(seed)
    images = torch.randn(batch, 3, *size, generator=generator)
    samples = []
    for _ in range(batch):
        labels = torch.randint(0, num_classes, (1, *size), generator=generator)
        sample = SegDataSample(gt_sem_seg=PixelData(data=labels))
        sample.set_metainfo(dict(img_shape=size, pad_shape=size, ori_shape=size))
        samples.append(sample)
    return dict(inputs=images, data_samples=samples)


def train_step(segmentor: nn.Module, batch: dict, optimizer: torch.optim.Optimizer, *,
               autocast_dtype: torch.dtype = None, device: str = 'cpu') -> None:
    """Forward + backward + SGD step with decode and auxiliary losses."""
    with torch.autocast(device, dtype=autocast_dtype, enabled=autocast_dtype is not None):
        losses = segmentor.loss(batch['inputs'], batch['data_samples'])
    total = sum(value for name, value in losses.items() if 'loss' in name)
    optimizer.zero_grad(set_to_none=False)
    total.backward()
    optimizer.step()
