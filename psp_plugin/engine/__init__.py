"""psp_plugin.engine."""
from .pretrained_check import PretrainedWeightsCheckHook  # noqa: F401
from .atomic_checkpoint import AtomicLocalBackend  # noqa: F401  (installs atomic saves)
from .checkpoint_compat import CheckpointCompatibilityHook, CheckpointMismatchError  # noqa: F401
from .dataset_checks import DatasetCheckError  # noqa: F401
from .fail_fast_runner import FailFastRunner  # noqa: F401
from .nan_guard_hook import NonFiniteLossError, NonFiniteLossHook  # noqa: F401
from .random_state_hook import RandomStateHook  # noqa: F401
from .resume_fallback_hook import ResumeFallbackHook  # noqa: F401
from .rotate_after_save_hook import RotateAfterSaveCheckpointHook  # noqa: F401
from .startup_checks_hook import StartupChecksHook  # noqa: F401
from .config_checks import ConfigCheckError, check_custom_imports  # noqa: F401
