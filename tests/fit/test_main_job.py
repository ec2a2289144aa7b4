"""The main job's data: MNI152 slices as a plain folder whose split keeps slice blocks apart."""
import json

import numpy as np
import pytest
from PIL import Image

from psp_plugin.fit.mni152_source import SOURCE_SUMMARY, assign_slice_blocks, write_mni152_source


def test_slice_blocks_keep_a_gap_between_train_and_held_out():
    splits = assign_slice_blocks(170, block_size=10, cycle=8, gap=3)
    assert splits[20:30] == ['val'] * 10 and splits[60:70] == ['test'] * 10
    assert splits[100:110] == ['val'] * 10 and splits[140:150] == ['test'] * 10
    assert splits[:17] == ['train'] * 17 and splits[17:20] == [None] * 3
    held_out = [i for i, s in enumerate(splits) if s in ('val', 'test')]
    for i, split in enumerate(splits):
        if split == 'train':
            assert min(abs(i - j) for j in held_out) > 3


def test_bad_block_settings_are_refused():
    with pytest.raises(ValueError, match='cycle >= 3'):
        assign_slice_blocks(10, cycle=2)


def test_source_folder_has_three_disjoint_splits(tmp_path):
    summary = write_mni152_source(tmp_path)
    names = {split: sorted(p.name for p in (tmp_path / 'images' / split).glob('*.png'))
             for split in ('train', 'val', 'test')}
    assert {s: len(v) for s, v in names.items()} == summary['counts']
    assert summary['counts']['val'] > 40 and summary['counts']['test'] > 40
    assert not set(names['train']) & set(names['val']) and not set(names['val']) & set(names['test'])
    assert {n.split('_')[0] for n in names['test']} == {'sag', 'cor', 'axi'}
    mask = np.asarray(Image.open(tmp_path / 'masks' / 'test' / names['test'][0]))
    assert set(np.unique(mask)) <= {0, 1, 2}
    assert (tmp_path / 'classes.txt').read_text().split() == summary['classes']
    again = write_mni152_source(tmp_path)  # complete: kept as it is
    assert again == json.loads((tmp_path / SOURCE_SUMMARY).read_text()) == summary
