"""import_dataset on plain image folders: the on-disk format, notes, split file and normalisation."""

import json

import numpy as np
import tifffile
from PIL import Image

from psp_plugin.data import import_dataset, load_prepared
from psp_plugin.data.normalization import compute_normalization


def test_uint16_images_with_0_255_masks_become_classes_0_1(image_folder, tmp_path):
    source = image_folder(count=14, classes=2, dtype='uint16', mask_scale=255, mask_suffix='_mask')
    prepared = import_dataset(source, tmp_path / 'out', seed=3)
    assert prepared.classes == ['class_0', 'class_1'] and prepared.channels == 1 and prepared.kind == 'images'
    assert any('0/255 were mapped to classes 0/1' in note for note in prepared.notes)
    meta = json.loads((tmp_path / 'out' / 'dataset.json').read_text())
    assert meta['label_mapping'] == {'0': 0, '1': 1, '255': 1} and meta['ignore_index'] == 255
    sizes = {split: len(names) for split, names in prepared.splits.items()}
    assert sizes == {'train': 10, 'val': 2, 'test': 2}
    name = prepared.splits['train'][0]
    image = tifffile.imread(prepared.image_path('train', name))
    assert image.dtype == np.uint16 and image.max() > 255  # values kept, never squeezed to 8 bits
    original = np.asarray(Image.open(source / 'images' / f'{name}.png'))
    np.testing.assert_array_equal(image.reshape(original.shape), original)
    mask = np.asarray(Image.open(prepared.mask_path('train', name)))
    assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 1}


def test_normalization_is_computed_on_train_only(image_folder, tmp_path):
    source = image_folder(count=12, classes=3)
    prepared = import_dataset(source, tmp_path / 'out')
    train = np.concatenate(
        [tifffile.imread(prepared.image_path('train', n)).reshape(-1, 1) for n in prepared.splits['train']]
    ).astype(np.float64)
    everything = np.concatenate(
        [train]
        + [
            tifffile.imread(prepared.image_path(s, n)).reshape(-1, 1)
            for s in ('val', 'test')
            for n in prepared.splits[s]
        ]
    )
    expected = compute_normalization(train)
    for key in ('low', 'high', 'mean', 'std'):
        np.testing.assert_allclose(prepared.normalization[key], expected[key], rtol=1e-6)
    assert not np.allclose(compute_normalization(everything)['mean'], expected['mean'], rtol=1e-6)


def test_fingerprint_and_split_file(image_folder, tmp_path):
    source = image_folder(count=12, classes=3)
    prepared = import_dataset(source, tmp_path / 'out')
    fingerprint = json.loads((tmp_path / 'out' / 'fingerprint.json').read_text())
    train = fingerprint['train']
    assert train['num_images'] == len(prepared.splits['train']) and train['height']['median'] == 32
    assert train['channels'] == 1 and train['dtype'] == ['uint8']
    assert set(train['class_pixels']) == {'class_0', 'class_1', 'class_2'}
    assert abs(sum(train['class_frequency'].values()) - 1) < 1e-9
    assert 5 < train['object_diameter_px']['class_1'] < 15  # 10x10 squares: sqrt(4*100/pi)=11.3
    for split in ('val', 'test'):  # every class in val and test
        assert all(count > 0 for count in fingerprint[split]['class_pixels'].values())
    splits = json.loads((tmp_path / 'out' / 'splits.json').read_text())
    assert splits['seed'] == 0 and set(splits['groups']) == {f'img{i:03d}' for i in range(12)}


def test_reimport_keeps_an_edited_split_file(image_folder, tmp_path):
    source = image_folder(count=12, classes=2)
    out = tmp_path / 'out'
    first = import_dataset(source, out)
    splits = json.loads((out / 'splits.json').read_text())
    moved = splits['train'].pop()
    splits['test'].append(moved)
    (out / 'splits.json').write_text(json.dumps(splits))
    second = import_dataset(source, out, seed=99)
    assert json.loads((out / 'splits.json').read_text())['seed'] == 0  # the kept split's seed
    assert moved in second.splits['test'] and second.splits['val'] == first.splits['val']
    assert (out / 'images' / 'test' / f'{moved}.tif').is_file()
    assert not (out / 'images' / 'train' / f'{moved}.tif').exists()
    assert load_prepared(out).splits == second.splits
