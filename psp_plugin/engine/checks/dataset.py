"""Checks on a built segmentation dataset that catch bad input in seconds.

Each check raises :class:`DatasetCheckError` with a message that names the
problem (and the file) and the fix. :class:`~.startup_checks_hook.
StartupChecksHook` runs them before the first iteration.
"""
from __future__ import annotations

import os
import os.path as osp
from typing import Iterable, Optional, Sequence

import mmcv
import numpy as np
import tifffile
from mmseg.datasets.transforms import LoadAnnotations
from PIL import Image, UnidentifiedImageError

__all__ = [
    'DatasetCheckError', 'check_binary_255_labels', 'check_image_label_pairs', 'check_image_label_sizes',
    'check_images_decode', 'check_images_not_constant', 'check_label_values', 'check_not_empty',
    'leaf_datasets', 'sample_indices'
]


class DatasetCheckError(ValueError):
    """The training data is missing, unreadable or inconsistent with the config."""


def leaf_datasets(dataset) -> list:
    """Unwrap ``ConcatDataset`` / ``RepeatDataset`` / ``ClassBalancedDataset``."""
    if hasattr(dataset, 'datasets'):
        return [leaf for inner in dataset.datasets for leaf in leaf_datasets(inner)]
    if hasattr(dataset, 'dataset'):
        return leaf_datasets(dataset.dataset)
    return [dataset]


def _describe(dataset) -> str:
    """Name a dataset by type and image folder for messages."""
    prefix = getattr(dataset, 'data_prefix', {}) or {}
    where = prefix.get('img_path') or getattr(dataset, 'data_root', None)
    return f'{type(dataset).__name__} (images in {where!r})'


def sample_indices(length: int, num_samples: int) -> list[int]:
    """Return up to ``num_samples`` indices spread evenly over ``range(length)``."""
    if length <= num_samples:
        return list(range(length))
    return sorted({int(i) for i in np.linspace(0, length - 1, num_samples)})


def check_not_empty(dataset, *, config_key: str = 'train_dataloader') -> None:
    """Raise if ``dataset`` holds no samples (MMEngine would hang or fail obscurely).

    Args:
        dataset: A built MMSeg dataset (wrappers allowed).
        config_key (str): The config entry to name in the fix.
    """
    for leaf in leaf_datasets(dataset):
        if len(leaf) == 0:
            suffix = getattr(leaf, 'img_suffix', '')
            raise DatasetCheckError(
                f'The dataset {_describe(leaf)} is empty: no "*{suffix}" image was found. Fix: '
                f'check data_root and data_prefix.img_path in {config_key}.dataset, and '
                'img_suffix if your images use another extension.')


def _expected_label_paths(leaf) -> set[str]:
    """Label paths the dataset will read (empty when it has no annotations)."""
    return {osp.normpath(info['seg_map_path']) for info in
            (leaf.get_data_info(i) for i in range(len(leaf))) if info.get('seg_map_path')}


def _files_with_suffix(directory: str, suffix: str) -> Iterable[str]:
    """Yield the files under ``directory`` (recursively) whose name ends with ``suffix``."""
    for folder, _, names in os.walk(directory):
        for name in names:
            if name.endswith(suffix):
                yield osp.normpath(osp.join(folder, name))


def check_image_label_pairs(dataset, *, max_listed: int = 5) -> None:
    """Raise if an image has no label file, or a label file has no image.

    Args:
        dataset: A built MMSeg dataset (wrappers allowed).
        max_listed (int): How many offending files to name. Defaults to 5.
    """
    for leaf in leaf_datasets(dataset):
        expected = _expected_label_paths(leaf)
        missing = sorted(path for path in expected if not osp.isfile(path))
        if missing:
            raise DatasetCheckError(
                f'{len(missing)} of {len(expected)} images of {_describe(leaf)} have no label '
                f'file, e.g. {missing[:max_listed]}. Fix: add the missing label files, remove '
                'those images, or set seg_map_suffix to the label files\' real suffix.')
        seg_dir = (getattr(leaf, 'data_prefix', {}) or {}).get('seg_map_path')
        listed_by_file = bool(getattr(leaf, 'ann_file', ''))
        if not expected or not seg_dir or listed_by_file or not osp.isdir(seg_dir):
            continue
        orphans = sorted(set(_files_with_suffix(seg_dir, leaf.seg_map_suffix)) - expected)
        if orphans:
            raise DatasetCheckError(
                f'{len(orphans)} label files in {seg_dir} have no image in '
                f'{leaf.data_prefix.get("img_path")}, e.g. {orphans[:max_listed]}. Fix: add the '
                'missing images (with img_suffix='
                f'{leaf.img_suffix!r}) or move those labels out of the folder.')


def _decode_problem(path: str) -> Optional[str]:
    """Return why ``path`` does not decode fully as an image, or None."""
    try:
        with Image.open(path) as image:
            image.load()
        return None
    except UnidentifiedImageError:
        if path.lower().endswith(('.tif', '.tiff')):  # e.g. 5-band float32, which PIL and OpenCV refuse
            try:
                tifffile.imread(path)
                return None
            except (tifffile.TiffFileError, OSError, ValueError) as error:
                return f'{type(error).__name__}: {error}'
        return None if mmcv.imread(path, flag='unchanged') is not None else 'unknown format'
    except (OSError, SyntaxError, ValueError) as error:
        return f'{type(error).__name__}: {error}'


def check_images_decode(dataset, indices: Sequence[int]) -> None:
    """Raise if a sampled image or label file is corrupt or truncated."""
    for index in indices:
        info = dataset.get_data_info(index)
        for key in ('img_path', 'seg_map_path'):
            path = info.get(key)
            if not path:
                continue
            problem = _decode_problem(path)
            if problem:
                raise DatasetCheckError(
                    f'{path} (sample {index}) is corrupt or truncated and cannot be decoded '
                    f'({problem}). Fix: re-export or re-copy the file, or delete it together '
                    'with its image/label partner.')


def _load_labels(info: dict) -> np.ndarray:
    """Load a label map the way the training pipeline does (label_map, reduce_zero_label)."""
    results = dict(info)
    results['seg_fields'] = []
    return LoadAnnotations()(results)['gt_seg_map']


def check_label_values(dataset, indices: Sequence[int], *, num_classes: int,
                       ignore_index: int = 255) -> None:
    """Raise if sampled labels hold values >= ``num_classes`` other than ``ignore_index``.

    Such values make the cross-entropy index out of range on GPU (a device-side
    assert) or are silently wrong; they are usually a wrong ``num_classes`` or
    a forgotten ``reduce_zero_label``.
    """
    for index in indices:
        info = dataset.get_data_info(index)
        if not info.get('seg_map_path'):
            continue
        values = np.unique(_load_labels(info))
        bad = [int(v) for v in values if v >= num_classes and v != ignore_index]
        if bad:
            raise DatasetCheckError(
                f'Label file {info["seg_map_path"]} holds values {bad} but num_classes='
                f'{num_classes} (valid labels 0..{num_classes - 1}, ignore index '
                f'{ignore_index}). Fix: if they are real classes, raise num_classes in '
                'model.decode_head / model.auxiliary_head and list them in the dataset\'s '
                'classes; if the labels start at 1 with 0 meaning "unlabelled", set '
                'reduce_zero_label=True in the dataset; otherwise map them to '
                f'{ignore_index} (label_map or in the files).')


def check_image_label_sizes(dataset, indices: Sequence[int]) -> None:
    """Raise if a sampled image and its label file differ in size (collate would fail without a name)."""
    for index in indices:
        info = dataset.get_data_info(index)
        if not info.get('seg_map_path'):
            continue
        try:
            with Image.open(info['img_path']) as image, Image.open(info['seg_map_path']) as label:
                (width, height), (label_width, label_height) = image.size, label.size
        except (OSError, ValueError):
            continue  # not readable by Pillow: check_images_decode covers broken files
        if (width, height) != (label_width, label_height):
            raise DatasetCheckError(
                f'{info["img_path"]} is {height}x{width} (HxW) but its label file {info["seg_map_path"]} is '
                f'{label_height}x{label_width}. Fix: save the label at its image\'s size (resize with '
                'nearest-neighbour only), or pair the image with its own label file.')


def _pipeline_image(leaf, path: str) -> Optional[tuple[str, np.ndarray]]:
    """(loader name, image) as the dataset pipeline's image loader decodes ``path``, or None."""
    for transform in getattr(getattr(leaf, 'pipeline', None), 'transforms', []):
        name = type(transform).__name__
        if name.startswith('Load') and 'Image' in name:
            try:
                return name, np.asarray(transform({'img_path': path})['img'])
            except (KeyError, TypeError, ValueError, OSError):
                return None  # a loader needing more keys: the training pipeline reports its own errors
    return None


def check_images_not_constant(dataset, indices: Sequence[int]) -> None:
    """Raise if a sampled image decodes to one value through the pipeline's loader, which changed its pixel
    type, while the file holds more (16-bit files through an 8-bit loader), or if every sampled image is
    constant."""
    for leaf in leaf_datasets(dataset):
        sampled = sample_indices(len(leaf), len(indices))
        constant = 0
        for index in sampled:
            path = leaf.get_data_info(index)['img_path']
            loaded = _pipeline_image(leaf, path)
            if loaded is None or loaded[1].min() != loaded[1].max():
                continue
            constant += 1
            raw = mmcv.imread(path, flag='unchanged')
            if raw is not None and raw.dtype != loaded[1].dtype and raw.min() != raw.max():
                raise DatasetCheckError(
                    f'{path} decodes to the constant {loaded[1].flat[0]} through {loaded[0]} although the '
                    f'file holds {raw.dtype} values {raw.min()}..{raw.max()}: training would see a blank '
                    'image. Fix: load the values the file holds, e.g. import the data with `psp-plugin '
                    'import DATA --out OUT` (LoadNormalizedImage keeps 16-bit and float pixels), or set '
                    "imdecode_backend='tifffile' / color_type='unchanged' in LoadImageFromFile together "
                    'with a data_preprocessor mean/std for that range.')
        if sampled and constant == len(sampled):
            raise DatasetCheckError(
                f'All {constant} sampled images of {_describe(leaf)} are constant (one value each): there is '
                'nothing to learn from. Fix: check that img_path points at the images and that they are '
                'not blank exports.')


def check_binary_255_labels(dataset, indices: Sequence[int], *, num_classes: int,
                            ignore_index: int = 255) -> None:
    """Raise if num_classes is 2 and the sampled labels hold only 0 and the ignore value 255."""
    if num_classes != 2 or ignore_index != 255:
        return
    values: set[int] = set()
    paths = []
    for index in indices:
        info = dataset.get_data_info(index)
        if info.get('seg_map_path'):
            values |= {int(v) for v in np.unique(_load_labels(info))}
            paths.append(info['seg_map_path'])
    if 255 in values and values <= {0, 255}:
        raise DatasetCheckError(
            f'The sampled label files (e.g. {paths[:3]}) hold only 0 and 255 while num_classes=2 and 255 is '
            'the ignore index: every foreground pixel would be ignored in training and in evaluation '
            '(mIoU then reads 100 with the foreground NaN). Fix: store the foreground as 1 (`psp-plugin '
            'import DATA --out OUT` maps 0/255 masks to 0/1), or re-save the masks with 255 -> 1.')
