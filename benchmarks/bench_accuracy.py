"""Accuracy of the fast modes on a trained model: pixel agreement and mIoU change.

By default a plugin PSPNet-R18-D8 is trained briefly on generated toy scenes
(psp_plugin.testing.toy_scenes) inside the benchmark; pass a config and a
checkpoint (e.g. the brain-MRI main-job model) to check that model instead.
int8 is calibrated on training images and evaluated on validation images.
"""
import copy
import tempfile
import time
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

REPO_ROOT = Path(__file__).resolve().parents[1]
TOY_CONFIG = REPO_ROOT / 'configs' / 'pspnet_r18-d8_toy-scenes-64x64.py'


def _mean_iou(predictions: torch.Tensor, labels: torch.Tensor, num_classes: int) -> float:
    valid = labels != 255
    index = labels[valid] * num_classes + predictions[valid]
    confusion = torch.bincount(index, minlength=num_classes ** 2).reshape(num_classes, -1)
    intersection = confusion.diag().double()
    union = confusion.sum(0).double() + confusion.sum(1).double() - intersection
    present = union > 0
    return (intersection[present] / union[present]).mean().item() * 100


def _val_batches(segmentor, cfg: Config, batch_size: int = 8):
    from mmseg.registry import DATASETS
    dataset = DATASETS.build(copy.deepcopy(cfg.val_dataloader.dataset))
    items: list = []
    for index in range(len(dataset)):
        item = dataset[index]
        # A batch holds images of one size only (val slices may differ in size).
        if items and (len(items) == batch_size
                      or item['inputs'].shape != items[0]['inputs'].shape):
            with torch.no_grad():
                yield segmentor.data_preprocessor(pseudo_collate(items), False)
            items = []
        items.append(item)
    if items:
        with torch.no_grad():
            yield segmentor.data_preprocessor(pseudo_collate(items), False)


def _predict(segmentor, cfg: Config):
    predictions, labels = [], []
    for batch in _val_batches(segmentor, cfg):
        with torch.no_grad():
            results = segmentor.predict(batch['inputs'], batch['data_samples'])
        predictions += [r.pred_sem_seg.data.flatten() for r in results]
        labels += [r.gt_sem_seg.data.flatten() for r in results]
    return torch.cat(predictions), torch.cat(labels)


def train_toy_model(root: Path, *, iterations: int) -> tuple:
    """Train a plugin PSPNet-R18-D8 on generated toy scenes; return (cfg, state_dict)."""
    from mmseg.apis import init_model
    from mmseg.registry import DATASETS

    from psp_plugin.testing.toy_scenes import make_toy_scenes
    make_toy_scenes(root, num_train=48, num_val=24, size=(64, 64))
    cfg = Config.fromfile(str(TOY_CONFIG))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = str(root)
    torch.manual_seed(0)
    segmentor = init_model(cfg, checkpoint=None, device='cpu').train()
    dataset = DATASETS.build(copy.deepcopy(cfg.train_dataloader.dataset))
    optimizer = torch.optim.SGD(segmentor.parameters(), lr=0.02, momentum=0.9,
                                weight_decay=5e-4)
    generator = np.random.default_rng(0)
    for step in range(iterations):
        for group in optimizer.param_groups:
            group['lr'] = 0.02 * (1 - step / iterations) ** 0.9
        indices = generator.choice(len(dataset), size=8, replace=False)
        batch = segmentor.data_preprocessor(pseudo_collate([dataset[i] for i in indices]), True)
        losses = segmentor.loss(**batch)
        total = sum(value for name, value in losses.items() if 'loss' in name)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
    return cfg, copy.deepcopy(segmentor.state_dict())


def accuracy_report(*, config: Optional[str] = None, checkpoint: Optional[str] = None,
                    iterations: int = 150, device: str = 'cpu',
                    modes: Optional[tuple] = None) -> Dict[str, dict]:
    """Pixel agreement with the plugin fp32 model and mIoU per fast mode.

    The fast modes default to the device's: int8 and bf16 on CPU, fp16 on CUDA.
    The toy model (no ``config``) is trained on the CPU either way.
    """
    if modes is None:
        modes = ('int8', 'bf16') if device == 'cpu' else ('fp16',)
    from mmseg.apis import init_model

    import psp_plugin  # noqa: F401
    from psp_plugin.deploy import optimize_for_inference
    from psp_plugin.engine.checkpoint import safe_torch_load
    init_default_scope('mmseg')
    workdir = Path(tempfile.mkdtemp(prefix='psp_bench_accuracy_'))
    started = time.perf_counter()
    if config is None:
        cfg, state = train_toy_model(workdir / 'toy_scenes', iterations=iterations)
        source = f'plugin PSPNet-R18-D8 trained {iterations} iterations on toy scenes'
        calibration = workdir / 'toy_scenes' / 'img_dir' / 'train'
    else:
        cfg = Config.fromfile(config)
        state = safe_torch_load(checkpoint, map_location='cpu')['state_dict']
        source = f'{Path(config).name} + {Path(checkpoint).name}'
        train_set = cfg.train_dataloader.dataset
        calibration = Path(train_set.data_root) / (  # an MMSeg layout, or a prepared dataset of fit
            train_set.data_prefix.img_path if 'data_prefix' in train_set else
            Path('images') / train_set.get('split', 'train'))

    def fresh():
        model = init_model(copy.deepcopy(cfg), checkpoint=None, device=device)
        model.load_state_dict(state)
        return model.eval()

    num_classes = cfg.model.decode_head.num_classes
    reference, labels = _predict(fresh(), cfg)
    report = dict(source=source, device=device,
                  fp32=dict(mIoU=_mean_iou(reference, labels, num_classes)))
    for mode in modes:
        fast = optimize_for_inference(fresh(), precision=mode, calib_images=str(calibration),
                                      num_calib_images=32)
        predictions, _ = _predict(fast, cfg)
        report[mode] = dict(
            pixel_agreement=(predictions == reference).double().mean().item(),
            mIoU=_mean_iou(predictions, labels, num_classes))
        report[mode]['mIoU_change'] = report[mode]['mIoU'] - report['fp32']['mIoU']
    report['seconds'] = time.perf_counter() - started
    return report
