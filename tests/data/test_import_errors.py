"""Every bad input stops the import with an error naming the file, the problem and the fix,
before anything is written (the output folder is never created)."""

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from psp_plugin.data import DataImportError, import_dataset

from .conftest import write_png


def refused(source: Path, out: Path, pattern: str, **kwargs) -> str:
    """Run the import, expect a DataImportError matching ``pattern`` with a fix, and nothing written."""
    with pytest.raises(DataImportError) as caught:
        import_dataset(source, out, **kwargs)
    message = str(caught.value)
    assert re.search(pattern, message), message
    assert 'Fix: ' in message
    assert not out.exists() and not (out.parent / f'.{out.name}.importing').exists()
    return message


def test_mismatched_stems(image_folder, tmp_path):
    source = image_folder(count=4)
    (source / 'masks' / 'img002.png').rename(source / 'masks' / 'other.png')
    message = refused(
        source, tmp_path / 'out', r'1 images have no mask .*img002.*1 masks have no image .*other'
    )
    assert str(source / 'images') in message


def test_unequal_counts(image_folder, tmp_path):
    source = image_folder(count=4)
    (source / 'masks' / 'img003.png').unlink()
    refused(source, tmp_path / 'out', r'4 images and 3 masks do not pair up')


def test_image_mask_size_mismatch(image_folder, tmp_path):
    source = image_folder(count=4)
    write_png(source / 'masks' / 'img001.png', np.zeros((30, 32), np.uint8))
    refused(
        source, tmp_path / 'out', r'masks/img001.png: is 30x32 \(HxW\) but its image .*img001.png is 32x32'
    )


def test_jpeg_masks(image_folder, tmp_path):
    source = image_folder(count=4)
    mask = source / 'masks' / 'img000.png'
    Image.open(mask).convert('L').save(source / 'masks' / 'img000.jpg', quality=90)
    mask.unlink()
    refused(source, tmp_path / 'out', r'img000.jpg: is a JPEG mask.*Fix: export the masks as PNG')


def test_antialiased_rgb_masks(tmp_path):
    source = tmp_path / 'data'
    for index in range(4):
        mask = np.zeros((32, 32, 3), np.uint8)
        mask[8:24, 8:24] = (200, 30, 30)
        blurred = np.asarray(
            Image.fromarray(mask).resize((64, 64), Image.BILINEAR).resize((32, 32), Image.BILINEAR)
        )
        write_png(source / 'images' / f'a{index}.png', np.full((32, 32), 7 * index, np.uint8))
        write_png(source / 'masks' / f'a{index}.png', blurred)
    refused(
        source,
        tmp_path / 'out',
        r'masks/a\d.png: the RGB colour masks hold \d+ distinct colours.*anti-aliased',
    )


def test_antialiased_binary_masks(tmp_path):
    source = tmp_path / 'data'
    for index in range(4):
        mask = np.zeros((32, 32), np.uint8)
        mask[8:24, 8:24] = 255
        mask[7, 8:24] = (60, 128, 190, 220)[index]
        mask[24, 8:24] = 100 + index
        write_png(source / 'images' / f'b{index}.png', np.full((32, 32), 5 * index, np.uint8))
        write_png(source / 'masks' / f'b{index}.png', mask)
    refused(source, tmp_path / 'out', r'masks/b\d.png: the masks look binary .* grey levels')


def test_class_missing_from_every_split(image_folder, tmp_path):
    source = image_folder(count=4, classes=2)
    (source / 'classes.txt').write_text('background\nroad\nbuilding\n')
    refused(source, tmp_path / 'out', r"classes.txt: names 3 classes, but \['building'\] appear in no mask")


def test_class_missing_with_num_classes(image_folder, tmp_path):
    refused(
        image_folder(count=4, classes=2),
        tmp_path / 'out',
        r'num_classes=3: class 2 \(class_2\) has no pixel',
        num_classes=3,
    )


def test_labels_at_or_above_num_classes(image_folder, tmp_path):
    source = image_folder(count=4, classes=3)
    refused(
        source,
        tmp_path / 'out',
        r'masks/img\d+.png: holds label 2 but num_classes=2 allows 0..1',
        num_classes=2,
    )


def test_empty_folders(tmp_path):
    (tmp_path / 'data' / 'images').mkdir(parents=True)
    (tmp_path / 'data' / 'masks').mkdir()
    refused(tmp_path / 'data', tmp_path / 'out', r'images: holds no image or mask files')


def test_unreadable_image(image_folder, tmp_path):
    source = image_folder(count=4)
    broken = source / 'images' / 'img002.png'
    broken.write_bytes(broken.read_bytes()[:60])
    refused(source, tmp_path / 'out', r'img002.png: cannot be decoded as an image')


def test_instance_ids_without_instances_as(tmp_path):
    source = tmp_path / 'data'
    for index in range(3):
        ids = np.arange(32 * 32, dtype=np.uint16).reshape(32, 32) // 3 + 1000 * index
        write_png(source / 'images' / f'c{index}.png', np.full((32, 32), 9, np.uint8) + index)
        write_png(source / 'masks' / f'c{index}.png', ids)
    refused(source, tmp_path / 'out', r'distinct values.*instance ids.*--instances-as foreground')


def test_output_inside_the_source(image_folder):
    source = image_folder(count=4)
    refused(source, source / 'prepared', r'overlaps the source folder')
