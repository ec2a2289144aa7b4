"""Validate the training data against the model before the first iteration.

A run that would fail (or silently learn nothing) at iteration 20 000 should
fail in the first seconds instead. :class:`StartupChecksHook` runs in
``before_run``, after the dataloaders are built and before any checkpoint is
loaded or any batch is drawn, and raises
:class:`~.dataset_checks.DatasetCheckError` naming the problem and the fix:

* the training set is empty;
* an image has no label file, or a label file has no image (all files);
* a sampled image or label file is corrupt or truncated;
* a sampled label map holds values ``>= num_classes`` that are not the ignore
  index (after ``reduce_zero_label`` and ``label_map``, as training sees them);
* a sampled image and its label file differ in size;
* a sampled image decodes to one value through the pipeline's loader while its
  file holds more (16-bit files through an 8-bit loader), or all are constant;
* ``num_classes=2`` and the sampled labels hold only 0 and 255 (the ignore
  index: the foreground would never be learned nor evaluated);
* the dataset's class count differs from ``num_classes`` of a head;
* ``RandomCrop`` asks for a crop larger than the images with no resize before
  it (the batch would be mostly padding).
"""
from __future__ import annotations

from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS
from PIL import Image

from ..checks.dataset import (
    DatasetCheckError,
    check_binary_255_labels,
    check_image_label_pairs,
    check_image_label_sizes,
    check_images_decode,
    check_images_not_constant,
    check_label_values,
    check_not_empty,
    leaf_datasets,
    sample_indices,
)

__all__ = ['StartupChecksHook', 'check_crop_fits', 'check_num_classes']

_HEADS = ('decode_head', 'auxiliary_head')


def _heads(model) -> dict:
    """Return ``{attribute name: head}`` for the model's decode/auxiliary heads."""
    if is_model_wrapper(model):
        model = model.module
    found = {}
    for name in _HEADS:
        head = getattr(model, name, None)
        heads = head if isinstance(head, (list, tuple)) or hasattr(head, '__len__') else [head]
        for position, item in enumerate(heads if head is not None else []):
            if hasattr(item, 'num_classes'):
                found[name if len(heads) == 1 else f'{name}[{position}]'] = item
    return found


def check_num_classes(dataset, model) -> None:
    """Raise if a head's ``num_classes`` differs from the dataset's class count."""
    classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
    if not classes:
        return
    for name, head in _heads(model).items():
        if head.num_classes != len(classes):
            raise DatasetCheckError(
                f'model.{name}.num_classes={head.num_classes} but the training dataset '
                f'{type(dataset).__name__} has {len(classes)} classes {tuple(classes)}. Fix: set '
                f'model.{name}.num_classes={len(classes)} (and the other heads too), or give '
                'the dataset the classes the model should predict (metainfo=dict(classes=...)).')


def _crop_size_without_resize(leaf) -> Optional[tuple[int, int]]:
    """Return RandomCrop's (h, w) if no resize transform precedes it, else None."""
    transforms = getattr(getattr(leaf, 'pipeline', None), 'transforms', [])
    for transform in transforms:
        name = type(transform).__name__
        if 'Resize' in name:
            return None
        if name == 'RandomCrop':
            return tuple(transform.crop_size)
    return None


def check_crop_fits(dataset, indices: list[int]) -> None:
    """Raise if RandomCrop's crop is larger than a sampled image (no resize before it)."""
    for leaf in leaf_datasets(dataset):
        crop = _crop_size_without_resize(leaf)
        if crop is None:
            continue
        for index in sample_indices(len(leaf), len(indices)):
            path = leaf.get_data_info(index)['img_path']
            with Image.open(path) as image:
                width, height = image.size
            if height < crop[0] or width < crop[1]:
                raise DatasetCheckError(
                    f'RandomCrop crop_size={crop} (h, w) is larger than {path} ({height}x{width}) '
                    'and no resize comes before it, so every batch would be mostly padding '
                    "with the ignore index. Fix: set crop_size (and model.data_preprocessor's "
                    f'size) to at most ({height}, {width}), or add a RandomResize before '
                    'RandomCrop that enlarges the images.')


@HOOKS.register_module()
class StartupChecksHook(Hook):
    """Fail fast on bad training data (see the module docstring for the list).

    Args:
        num_samples (int): Images whose pixels are checked (decoding, label
            values, size), spread over the dataset. File existence is checked
            for all samples. Defaults to 32.
    """

    priority = 'VERY_HIGH'

    def __init__(self, num_samples: int = 32) -> None:
        self.num_samples = num_samples

    def before_run(self, runner) -> None:
        """Run every check on the training set; no-op for test/val-only runs."""
        loop = getattr(runner, '_train_loop', None)
        if loop is None or isinstance(loop, dict):
            return
        dataset = runner.train_dataloader.dataset
        check_not_empty(dataset)
        check_num_classes(dataset, runner.model)
        check_image_label_pairs(dataset)
        indices = sample_indices(len(dataset), self.num_samples)
        check_images_decode(dataset, indices)
        check_image_label_sizes(dataset, indices)
        check_images_not_constant(dataset, indices)
        heads = _heads(runner.model)
        head = heads.get('decode_head') or next(iter(heads.values()), None)
        if head is not None:
            check_label_values(dataset, indices, num_classes=head.num_classes,
                               ignore_index=getattr(head, 'ignore_index', 255))
            check_binary_255_labels(dataset, indices, num_classes=head.num_classes,
                                    ignore_index=getattr(head, 'ignore_index', 255))
        check_crop_fits(dataset, indices)
