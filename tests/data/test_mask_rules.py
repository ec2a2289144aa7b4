"""How raw mask values become classes: palettes, colours, gaps, ignore, instances, binary 0/1."""

import json

import numpy as np
from PIL import Image

from psp_plugin.data import import_dataset

from .conftest import blob_mask, write_png

VOC = [0, 0, 0, 128, 0, 0, 0, 128, 0] + [0, 0, 0] * 252 + [224, 224, 192]


def _folder(tmp_path, masks, images=None):
    source = tmp_path / 'data'
    for index, mask in enumerate(masks):
        write_png(
            source / 'images' / f'm{index:02d}.png',
            images[index]
            if images is not None
            else (np.arange(32 * 32) % 251).astype(np.uint8).reshape(32, 32),
        )
        if isinstance(mask, tuple):
            write_png(source / 'masks' / f'm{index:02d}.png', mask[0], palette=mask[1])
        else:
            write_png(source / 'masks' / f'm{index:02d}.png', mask)
    return source


def _all_masks(prepared):
    return np.concatenate(
        [
            np.asarray(Image.open(prepared.mask_path(s, n))).ravel()
            for s in prepared.splits
            for n in prepared.splits[s]
        ]
    )


def test_palette_png_keeps_indices_and_takes_colours(tmp_path):
    masks = []
    for index in range(8):
        mask = blob_mask(32, 3, index)
        mask[0, :] = 255  # VOC-style border: ignore
        masks.append((mask, VOC))
    prepared = import_dataset(_folder(tmp_path, masks), tmp_path / 'out')
    assert prepared.palette == [[0, 0, 0], [128, 0, 0], [0, 128, 0]]
    assert prepared.classes == ['rgb(0,0,0)', 'rgb(128,0,0)', 'rgb(0,128,0)']
    assert set(np.unique(_all_masks(prepared))) == {0, 1, 2, 255}


def test_rgb_colour_masks_through_the_classes_txt_colour_table(tmp_path):
    colours = np.array([[0, 0, 0], [250, 50, 50], [40, 40, 220]], np.uint8)
    source = _folder(tmp_path, [colours[blob_mask(32, 3, i)] for i in range(8)])
    (source / 'classes.txt').write_text('sky 40 40 220\nbackground 0 0 0\nroof 250 50 50\n')
    prepared = import_dataset(source, tmp_path / 'out')
    assert prepared.classes == ['sky', 'background', 'roof']
    assert prepared.palette == [[40, 40, 220], [0, 0, 0], [250, 50, 50]]
    assert prepared.label_mapping == {'40,40,220': 0, '0,0,0': 1, '250,50,50': 2}
    name = prepared.splits['train'][0]
    original = np.asarray(Image.open(source / 'masks' / f'{name}.png'))
    expected = np.select(
        [np.all(original == c, axis=2) for c in ([40, 40, 220], [0, 0, 0], [250, 50, 50])], [0, 1, 2]
    )
    np.testing.assert_array_equal(np.asarray(Image.open(prepared.mask_path('train', name))), expected)


def test_gapped_values_become_consecutive_and_ignore_stays_ignore(tmp_path):
    masks = []
    for index in range(8):
        mask = np.where(blob_mask(32, 3, index) == 2, 70, blob_mask(32, 3, index) * 10).astype(np.uint8)
        mask[:, 0] = 99  # the user's "don't care" value
        masks.append(mask)
    prepared = import_dataset(_folder(tmp_path, masks), tmp_path / 'out', ignore_index=99)
    assert prepared.label_mapping == {'0': 0, '10': 1, '70': 2, '99': 255}
    assert any('gaps' in note for note in prepared.notes)
    values = _all_masks(prepared)
    assert set(np.unique(values)) == {0, 1, 2, 255} and (values == 255).sum() == 8 * 32


def test_instance_masks_as_foreground(tmp_path):
    masks = []
    for index in range(6):
        ids = np.zeros((32, 32), np.uint16)
        for k in range(5):
            ids[k * 6 : k * 6 + 4, 3:20] = 300 + 10 * k + index
        masks.append(ids)
    prepared = import_dataset(_folder(tmp_path, masks), tmp_path / 'out', instances_as='foreground')
    assert prepared.num_classes == 2 and any('instance ids became class 1' in n for n in prepared.notes)
    assert (_all_masks(prepared) == 1).sum() == 6 * 5 * 4 * 17


def test_binary_0_1_masks_are_kept_and_said(tmp_path):
    prepared = import_dataset(_folder(tmp_path, [blob_mask(32, 2, i) for i in range(6)]), tmp_path / 'out')
    assert any('0/1 kept as classes 0/1' in note for note in prepared.notes)
    assert json.loads((tmp_path / 'out' / 'dataset.json').read_text())['label_mapping']['1'] == 1
