"""Check every checkpoint the runner loads against the model built from the config."""
from __future__ import annotations

from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from ..checkpoint.compatibility import check_checkpoint_fits, drop_mismatched_classifiers

__all__ = ['CheckpointCompatibilityHook']


@HOOKS.register_module()
class CheckpointCompatibilityHook(Hook):
    """Check every checkpoint the runner loads with :func:`check_checkpoint_fits`.

    Args:
        allow_new_classifier (bool): Fine-tuning on new classes: a classifier
            of another shape is dropped from the checkpoint (so the model's
            fresh one is kept) instead of being an error. Defaults to False.
    """

    priority = 'VERY_HIGH'

    def __init__(self, allow_new_classifier: bool = False) -> None:
        self.allow_new_classifier = allow_new_classifier

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Raise before MMEngine copies a checkpoint that does not fit the model."""
        state_dict = checkpoint.get('state_dict', checkpoint)
        path = getattr(runner, '_load_from', None)
        check_checkpoint_fits(runner.model, state_dict,
                              allow_new_classifier=self.allow_new_classifier,
                              source=f'checkpoint {path}' if path else 'the loaded checkpoint')
        if self.allow_new_classifier:
            drop_mismatched_classifiers(runner.model, state_dict)
