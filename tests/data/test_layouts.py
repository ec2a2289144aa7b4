"""Layouts: MMSeg img_dir/ann_dir (its split kept), nnU-Net imagesTr/labelsTr, other folder names."""

import json

import numpy as np
import tifffile

from psp_plugin.data import import_dataset
from psp_plugin.data.layouts import discover_layout

from .conftest import blob_mask, write_png


def test_mmseg_layout_keeps_its_split_and_val_becomes_test(tmp_path):
    source = tmp_path / 'mmseg'
    for split, count in (('train', 10), ('val', 3)):
        for index in range(count):
            write_png(
                source / 'img_dir' / split / f'{split}{index}.png', np.full((16, 16, 3), index * 9, np.uint8)
            )
            write_png(
                source / 'ann_dir' / split / f'{split}{index}_labelTrainIds.png', blob_mask(16, 2, index)
            )
    prepared = import_dataset(source, tmp_path / 'out')
    assert sorted(prepared.splits['test']) == ['val0', 'val1', 'val2']
    assert prepared.splits['val'] and all(n.startswith('train') for n in prepared.splits['val'])
    assert len(prepared.splits['train']) + len(prepared.splits['val']) == 10
    assert any('val split became test' in note for note in prepared.notes)
    assert prepared.channels == 3


def test_nnunet_layout_stacks_channel_files_and_reads_label_names(tmp_path):
    source = tmp_path / 'Dataset001_Cells'
    for index in range(6):
        for channel in range(2):
            write_png(
                source / 'imagesTr' / f'cell_{index:03d}_{channel:04d}.png',
                np.full((16, 16), 40 * channel + index, np.uint8),
            )
        write_png(source / 'labelsTr' / f'cell_{index:03d}.png', blob_mask(16, 3, index))
    (source / 'dataset.json').write_text(
        json.dumps(
            {
                'channel_names': {'0': 'DAPI', '1': 'GFP'},
                'labels': {'background': 0, 'nucleus': 1, 'membrane': 2},
                'numTraining': 6,
                'file_ending': '.png',
            }
        )
    )
    prepared = import_dataset(source, tmp_path / 'out')
    assert prepared.channels == 2 and prepared.classes == ['background', 'nucleus', 'membrane']
    image = tifffile.imread(prepared.image_path('train', prepared.splits['train'][0]))
    assert image.shape == (16, 16, 2) and image[0, 0, 1] - image[0, 0, 0] == 40


def test_labels_folder_and_mask_suffix_pair_by_stem(tmp_path):
    source = tmp_path / 'x'
    for index in range(3):
        write_png(source / 'images' / f'scan-{index}.png', np.zeros((8, 8), np.uint8))
        write_png(source / 'labels' / f'scan-{index}_mask.png', np.zeros((8, 8), np.uint8))
    layout = discover_layout(source)
    assert layout.kind == 'images' and [p.name for p in layout.pairs] == ['scan-0', 'scan-1', 'scan-2']
    assert layout.pairs[1].mask.name == 'scan-1_mask.png'
