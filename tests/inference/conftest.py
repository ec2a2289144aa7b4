"""Fixtures for the predict tests: a tiny PSPNet trained in this session on 'squares' scenes.

Scenes: a textured grey floor with bright squares. Squares of side >= 12 are
class 1 ('object'); squares of side <= 5 are floor (class 0) although they have
the same colour, so the model must see a whole square to label it. Training
squares never touch the image border, so a window that cuts an object in two
gives the wrong answer there: exactly what makes seams visible.
"""
from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

CLASSES = ('floor', 'object')
PALETTE = [[90, 90, 90], [240, 80, 40]]
BIG_SIDES = (12, 16)
SMALL_SIDES = (3, 5)
TRAIN_SIZES = (64, )
TRAIN_ITERATIONS = 300


def draw_scene(rng: np.random.Generator, height: int, width: int,
               squares: list[tuple[int, int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 3) uint8 BGR scene and (H, W) uint8 labels with squares (top, left, side)."""
    floor = 100 + rng.normal(0, 12, size=(height, width, 1))
    image = np.repeat(floor, 3, axis=2)
    labels = np.zeros((height, width), dtype=np.uint8)
    for top, left, side in squares:
        image[top:top + side, left:left + side] = 200 + rng.normal(0, 12, size=(side, side, 1))
        labels[top:top + side, left:left + side] = 1 if side >= BIG_SIDES[0] else 0
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), labels


def random_squares(rng: np.random.Generator, height: int, width: int, *, big: int, small: int,
                   margin: int = 3) -> list[tuple[int, int, int]]:
    """Non-overlapping squares placed at least ``margin`` pixels inside the image."""
    placed: list[tuple[int, int, int]] = []
    sides = [int(rng.integers(BIG_SIDES[0], BIG_SIDES[1] + 1)) for _ in range(big)]
    sides += [int(rng.integers(SMALL_SIDES[0], SMALL_SIDES[1] + 1)) for _ in range(small)]
    for side in sides:
        for _ in range(50):
            top = int(rng.integers(margin, height - side - margin + 1))
            left = int(rng.integers(margin, width - side - margin + 1))
            if all(top + side + 2 <= t or t + s + 2 <= top or left + side + 2 <= x or x + s + 2 <= left
                   for t, x, s in placed):
                placed.append((top, left, side))
                break
    return placed


def _batch(rng: np.random.Generator, size: int, side: int):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    inputs, samples = [], []
    for _ in range(size):
        image, labels = draw_scene(rng, side, side, random_squares(
            rng, side, side, big=int(rng.integers(1, 4)), small=int(rng.integers(1, 5))))
        inputs.append(torch.from_numpy(image).permute(2, 0, 1).contiguous())
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=torch.from_numpy(labels.astype(np.int64))[None])
        shape = (side, side)
        sample.set_metainfo(dict(img_shape=shape, ori_shape=shape, pad_shape=shape))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


_TRAINED: dict[str, tuple[Path, Path]] = {}


def cached_squares_model(config: pytest.Config) -> tuple[Path, Path]:
    """(config, checkpoint) of the squares model: trained once, then kept in pytest's cache.

    The cache key covers this file, the model builder and torch's version, so
    later sessions reuse the model until one of them changes.
    """
    if 'squares' not in _TRAINED:
        from psp_plugin.testing import tiny_pspnet

        key = hashlib.sha256(Path(__file__).read_bytes() + Path(tiny_pspnet.__file__).read_bytes()
                             + torch.__version__.encode()).hexdigest()[:16]
        cache = getattr(config, 'cache', None)         # None under -p no:cacheprovider
        folder = Path(cache.mkdir(f'psp_squares_model_{key}') if cache is not None
                      else tempfile.mkdtemp(prefix='psp_squares_model_'))
        files = (folder / 'squares.py', folder / 'squares.pth')
        _TRAINED['squares'] = files if all(f.is_file() for f in files) else train_squares_model(folder)
    return _TRAINED['squares']


@pytest.fixture(scope='session')
def squares_model_files(pytestconfig: pytest.Config) -> tuple[Path, Path]:
    """(config, checkpoint) of a tiny PSPNet trained on squares scenes (~30 s on one CPU thread)."""
    return cached_squares_model(pytestconfig)


def train_squares_model(folder: Path) -> tuple[Path, Path]:
    """Train the squares model and write ``squares.py`` and ``squares.pth`` into ``folder``."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import psp_plugin  # noqa: F401
    from psp_plugin.testing.tiny_pspnet import tiny_pspnet_config

    config = tiny_pspnet_config(num_classes=len(CLASSES))
    config.model.decode_head.dropout_ratio = 0.0
    config.model.test_cfg = dict(mode='whole')
    init_default_scope('mmseg')
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # tiny tensors: more threads only spin on a shared CPU
    try:
        model = MODELS.build(config.model)
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=4e-3, weight_decay=1e-4)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 - step / TRAIN_ITERATIONS)
        for step in range(TRAIN_ITERATIONS):
            # several sizes, so the pyramid pooling copes with windows and whole images alike
            side = TRAIN_SIZES[step % len(TRAIN_SIZES)]
            data = model.data_preprocessor(_batch(rng, 8, side), False)   # one size: no padding needed
            losses = model.loss(data['inputs'], data['data_samples'])
            loss = sum(value for key, value in losses.items() if 'loss' in key)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    finally:
        torch.set_num_threads(threads)
    config_file, checkpoint_file = folder / 'squares.py', folder / 'squares.pth'
    config.dump(str(config_file))
    partial = checkpoint_file.with_suffix('.partial')
    torch.save({'state_dict': model.state_dict(),
                'meta': {'dataset_meta': {'classes': CLASSES, 'palette': PALETTE}}}, partial)
    partial.replace(checkpoint_file)      # never a half-written checkpoint in the cache
    return config_file, checkpoint_file


@pytest.fixture(scope='session')
def squares_predictor(squares_model_files):
    """A :class:`Predictor` for the squares model, window 64 x 64."""
    from psp_plugin.inference import Predictor

    return Predictor.from_files(*squares_model_files, window=(64, 64))


#: The intensity mapping stored by `fit` in the one-channel model's config.
VOLUME_NORMALIZATION = dict(type='clip_zscore', low=[0.0], high=[1000.0], mean=[400.0], std=[250.0])


@pytest.fixture(scope='session')
def one_channel_model_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(config, checkpoint) of an untrained 1-channel tiny PSPNet with ``psp_meta`` as `fit` writes it.

    Its BN statistics are randomised so that the 3 classes all occur; the tests
    check geometry and file formats, not accuracy.
    """
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import psp_plugin  # noqa: F401
    from psp_plugin.testing.tiny_pspnet import randomize_bn_statistics, tiny_pspnet_config

    config = tiny_pspnet_config(num_classes=3)
    config.model.data_preprocessor.update(mean=[0.0], std=[1.0], bgr_to_rgb=False)
    config.model.backbone.in_channels = 1
    config.psp_meta = dict(classes=['background', 'grey', 'white'], palette=[[0, 0, 0], [128, 128, 128],
                                                                               [255, 255, 255]],
                           channels=1, kind='volumes', axis=2, normalization=VOLUME_NORMALIZATION)
    init_default_scope('mmseg')
    torch.manual_seed(1)
    model = MODELS.build(config.model)
    randomize_bn_statistics(model)
    folder = tmp_path_factory.mktemp('one_channel_model')
    config_file, checkpoint_file = folder / 'one_channel.py', folder / 'one_channel.pth'
    config.dump(str(config_file))
    torch.save({'state_dict': model.state_dict()}, checkpoint_file)
    return config_file, checkpoint_file
