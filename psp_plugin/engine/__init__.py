"""psp_plugin.engine: the glue to MMEngine.

``runner.py`` holds :class:`FailFastRunner` and the one table of default hooks; ``hooks/`` the hooks;
``checkpoint/`` safe loading, atomic writes, integrity and compatibility; ``checks/`` the checks that
stop a run before training.
"""
from .checkpoint import CheckpointMismatchError, install
from .checks import ConfigCheckError, DatasetCheckError, check_custom_imports
from .hooks import (
                    CheckpointCompatibilityHook,
                    NonFiniteLossError,
                    NonFiniteLossHook,
                    PretrainedWeightsCheckHook,
                    RandomStateHook,
                    ResumeFallbackHook,
                    RotateAfterSaveCheckpointHook,
                    StartupChecksHook,
)
from .runner import PSP_DEFAULT_HOOKS, FailFastRunner

__all__ = [
    'CheckpointCompatibilityHook', 'CheckpointMismatchError', 'ConfigCheckError', 'DatasetCheckError',
    'FailFastRunner', 'NonFiniteLossError', 'NonFiniteLossHook', 'PSP_DEFAULT_HOOKS',
    'PretrainedWeightsCheckHook', 'RandomStateHook', 'ResumeFallbackHook', 'RotateAfterSaveCheckpointHook',
    'StartupChecksHook', 'check_custom_imports', 'install'
]
