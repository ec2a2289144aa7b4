"""The plugin's MMEngine hooks, one per file, each file named after its class (registered in ``mmseg``)."""
from .checkpoint_compatibility_hook import CheckpointCompatibilityHook
from .non_finite_loss_hook import NonFiniteLossError, NonFiniteLossHook
from .pretrained_weights_check_hook import PretrainedWeightsCheckHook
from .random_state_hook import RandomStateHook
from .resume_fallback_hook import ResumeFallbackHook
from .rotate_after_save_checkpoint_hook import RotateAfterSaveCheckpointHook
from .startup_checks_hook import StartupChecksHook

__all__ = [
    'CheckpointCompatibilityHook', 'NonFiniteLossError', 'NonFiniteLossHook', 'PretrainedWeightsCheckHook',
    'RandomStateHook', 'ResumeFallbackHook', 'RotateAfterSaveCheckpointHook', 'StartupChecksHook'
]
