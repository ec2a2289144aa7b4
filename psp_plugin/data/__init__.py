"""Users' own data: import a folder of images and masks as a prepared dataset (issue 16, stage 1).

Importing this package registers ``LoadNormalizedImage`` and ``RareClassCrop`` (TRANSFORMS) and ``PreparedSegDataset``
(DATASETS) in MMSeg's registries.
"""

from .errors import DataImportError
from .importer import import_dataset
from .normalization import compute_normalization, normalize_image
from .prepared_dataset import PreparedDataset, PreparedSegDataset, load_prepared
from .rare_class_crop import RareClassCrop
from .transforms import LoadNormalizedImage

__all__ = [
    'DataImportError',
    'LoadNormalizedImage',
    'PreparedDataset',
    'PreparedSegDataset',
    'RareClassCrop',
    'compute_normalization',
    'import_dataset',
    'load_prepared',
    'normalize_image',
]
