"""Preparation of the MNI152 tissue dataset from the real nilearn volumes."""
import hashlib
import os
import os.path as osp
import socket
import sys

import numpy as np
import pytest
from PIL import Image

from psp_plugin.data.mni152_prepare import (
    AXIS_NAMES,
    assign_split,
    load_mni152_volumes,
    prepare_mni152,
    tissue_labels,
)


def _refuse_network(*args, **kwargs):
    raise AssertionError('MNI152 preparation tried to open a network '
                         'connection; nilearn must read the packaged files')


@pytest.fixture(scope='module')
def prepared(tmp_path_factory):
    """One real preparation (network refused), shared by this module."""
    root = str(tmp_path_factory.mktemp('mni152'))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, 'connect', _refuse_network)
        summary = prepare_mni152(root, verbose=False)
    return root, summary


def _read(root, sub, split, name):
    return np.asarray(Image.open(osp.join(root, sub, split, name + '.png')))


def _digest(root):
    digest = hashlib.sha256()
    for folder, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            digest.update(name.encode())
            with open(osp.join(folder, name), 'rb') as f:
                digest.update(f.read())
    return digest.hexdigest()


def test_counts_match_files_on_disk(prepared):
    root, summary = prepared
    for split in ('train', 'val'):
        names = summary['files'][split]
        assert sorted(os.listdir(osp.join(root, 'img_dir', split))) == sorted(
            n + '.png' for n in names)
        assert sum(summary['counts'][split].values()) == len(names)
        assert all(summary['counts'][split][axis] > 0 for axis in AXIS_NAMES)
    num_train = len(summary['files']['train'])
    num_val = len(summary['files']['val'])
    assert 200 < num_train < 400 and 50 < num_val < 120
    assert 0.15 < num_val / (num_train + num_val) < 0.3


def test_labels_are_thresholded_probabilities(prepared):
    root, summary = prepared
    _, gm, wm = load_mni152_volumes()
    name = summary['files']['val'][len(summary['files']['val']) // 2]
    axis = AXIS_NAMES.index(name.split('_')[0])
    index = int(name.split('_')[1])
    label = _read(root, 'ann_dir', 'val', name)
    gm_slice = np.rot90(np.moveaxis(gm, axis, 0)[index])
    wm_slice = np.rot90(np.moveaxis(wm, axis, 0)[index])
    np.testing.assert_array_equal(label == 1, gm_slice > 0.5)
    np.testing.assert_array_equal(label == 2, wm_slice > 0.5)
    image = _read(root, 'img_dir', 'val', name)
    assert image.dtype == np.uint8 and image.shape == label.shape
    assert image[label == 2].mean() > image[label == 1].mean()
    for split in ('train', 'val'):
        values = set()
        for n in summary['files'][split][::7]:
            values |= set(np.unique(_read(root, 'ann_dir', split, n)).tolist())
        assert values == {0, 1, 2}


def test_no_val_slice_neighbours_or_duplicates_a_train_slice(prepared):
    root, summary = prepared
    gap = summary['settings']['gap']
    for axis in AXIS_NAMES:
        index = {
            split: np.array([int(n.split('_')[1])
                             for n in summary['files'][split]
                             if n.startswith(axis)])
            for split in ('train', 'val')
        }
        distance = np.abs(index['train'][:, None] - index['val'][None, :])
        assert distance.min() > gap
    train_images = {
        _read(root, 'img_dir', 'train', n).tobytes()
        for n in summary['files']['train']
    }
    assert not any(
        _read(root, 'img_dir', 'val', n).tobytes() in train_images
        for n in summary['files']['val'])


def test_preparation_is_deterministic_and_replaces_stale_files(
        prepared, tmp_path):
    root, summary = prepared
    stale = tmp_path / 'img_dir' / 'train' / 'stale.png'
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b'not a slice')
    again = prepare_mni152(str(tmp_path), verbose=False)
    assert not stale.exists()
    assert again == summary
    assert _digest(str(tmp_path)) == _digest(root)


def test_tissue_labels_tie_rule():
    gm = np.array([0.9, 0.2, 0.6, 0.6, 0.4, 0.0])
    wm = np.array([0.05, 0.7, 0.8, 0.6, 0.4, 0.0])
    np.testing.assert_array_equal(tissue_labels(gm, wm), [1, 2, 2, 1, 0, 0])


@pytest.mark.parametrize('block_size,val_every,gap', [(10, 5, 3), (4, 3, 1),
                                                      (7, 2, 2)])
def test_assign_split_blocks_and_gaps(block_size, val_every, gap):
    splits = assign_split(60, block_size=block_size, val_every=val_every,
                          gap=gap)
    val = [i for i, s in enumerate(splits) if s == 'val']
    train = [i for i, s in enumerate(splits) if s == 'train']
    assert val and train
    assert min(abs(t - v) for t in train for v in val) == gap + 1
    assert all((i // block_size) % val_every == val_every // 2 for i in val)


@pytest.mark.parametrize('kwargs', [dict(gap=0), dict(val_every=1),
                                    dict(block_size=0)])
def test_assign_split_rejects_leaky_settings(kwargs):
    settings = dict(block_size=10, val_every=5, gap=3)
    settings.update(kwargs)
    with pytest.raises(ValueError, match='gap >= 1'):
        assign_split(50, **settings)


def test_missing_nilearn_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, 'nilearn', None)
    with pytest.raises(ImportError, match='pip install'):
        load_mni152_volumes()
