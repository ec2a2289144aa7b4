"""Tests for the generated toy-scenes dataset."""
import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

from psp_plugin.testing.toy_scenes import TOY_CLASSES, make_toy_scenes


def _digests(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob('*.png'))}


def test_layout_and_counts(toy_scenes_root: Path) -> None:
    for split, count in (('train', 8), ('val', 4)):
        images = sorted(p.name for p in (toy_scenes_root / 'img_dir' / split).iterdir())
        labels = sorted(p.name for p in (toy_scenes_root / 'ann_dir' / split).iterdir())
        assert images == labels == [f'scene_{i:04d}.png' for i in range(count)]


def test_images_and_labels_are_valid(toy_scenes_root: Path) -> None:
    for image_path in sorted((toy_scenes_root / 'img_dir').rglob('*.png')):
        label_path = toy_scenes_root / 'ann_dir' / image_path.parent.name / image_path.name
        image = cv2.imread(str(image_path), cv2.IMREAD_UNCHANGED)
        labels = cv2.imread(str(label_path), cv2.IMREAD_UNCHANGED)
        assert image.shape == (64, 64, 3) and image.dtype == np.uint8
        assert labels.shape == (64, 64) and labels.dtype == np.uint8
        assert set(np.unique(labels)) <= set(range(len(TOY_CLASSES)))
        assert 0 in labels  # background always visible around the shapes


def test_every_class_occurs(toy_scenes_root: Path) -> None:
    present = set()
    for label_path in (toy_scenes_root / 'ann_dir' / 'train').iterdir():
        present |= set(np.unique(cv2.imread(str(label_path), cv2.IMREAD_UNCHANGED)).tolist())
    assert present == {0, 1, 2, 3}


def test_colours_follow_labels(toy_scenes_root: Path) -> None:
    image_bgr = cv2.imread(str(toy_scenes_root / 'img_dir' / 'train' / 'scene_0000.png'))
    labels = cv2.imread(str(toy_scenes_root / 'ann_dir' / 'train' / 'scene_0000.png'),
                        cv2.IMREAD_UNCHANGED)
    disc_rgb = image_bgr[labels == 1][:, ::-1].mean(axis=0)
    assert disc_rgb[0] > disc_rgb[1] + 100 and disc_rgb[0] > disc_rgb[2] + 100  # red disc


def test_deterministic(tmp_path: Path) -> None:
    first = make_toy_scenes(tmp_path / 'a', num_train=3, num_val=2, size=(40, 48), seed=5)
    second = make_toy_scenes(tmp_path / 'b', num_train=3, num_val=2, size=(40, 48), seed=5)
    other_seed = make_toy_scenes(tmp_path / 'c', num_train=3, num_val=2, size=(40, 48), seed=6)
    assert _digests(first) == _digests(second)
    assert len(_digests(first)) == 10
    assert _digests(first) != _digests(other_seed)


@pytest.mark.parametrize('kwargs, message', [
    (dict(size=(16, 64)), 'at least 24'),
    (dict(num_val=0), 'at least 1'),
])
def test_bad_arguments(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_toy_scenes(tmp_path, **kwargs)


def test_registered_dataset_reads_the_files(toy_scenes_root: Path) -> None:
    init_default_scope('mmseg')
    dataset = DATASETS.build(dict(
        type='ToySceneDataset', data_root=str(toy_scenes_root),
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')]))
    assert len(dataset) == 4
    assert dataset.metainfo['classes'] == TOY_CLASSES
    sample = dataset[0]
    assert sample['img'].shape == (64, 64, 3)
    assert set(np.unique(sample['gt_seg_map'])) <= {0, 1, 2, 3}


def test_reduce_zero_label_is_refused(toy_scenes_root: Path) -> None:
    init_default_scope('mmseg')
    with pytest.raises(ValueError, match='reduce_zero_label=False'):
        DATASETS.build(dict(type='ToySceneDataset', data_root=str(toy_scenes_root),
                            data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
                            reduce_zero_label=True))
