"""Checks that stop a run before training with an error naming the problem and the fix."""
from .config import ConfigCheckError, check_custom_imports
from .dataset import DatasetCheckError
from .dataset_folders import check_dataset_folders
from .pretrained import PretrainedWeightsUnavailableError, check_model_pretrained_sources

__all__ = [
    'ConfigCheckError', 'DatasetCheckError', 'PretrainedWeightsUnavailableError', 'check_custom_imports',
    'check_dataset_folders', 'check_model_pretrained_sources'
]
