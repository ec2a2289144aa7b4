"""Refuse checkpoints that do not fit the model, saying exactly how they differ.

MMEngine's ``Runner.load_checkpoint`` (used by ``load_from``, ``--resume`` and
``mim test --checkpoint``) loads with ``strict=False``: a checkpoint for 150
classes loaded into a 4-class model, or one from another architecture, only
logs a warning and leaves the mismatched layers randomly initialised. The run
then trains or evaluates the wrong model.

:func:`check_checkpoint_fits` compares a checkpoint's ``state_dict`` with the
model's and raises :class:`CheckpointMismatchError`:

* classifier shapes differ: both class counts and the fix;
* keys are missing or unexpected: how many, summarised by module prefix.

:class:`~psp_plugin.engine.hooks.CheckpointCompatibilityHook` runs it on every
checkpoint the runner loads (``after_load_checkpoint``).
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Mapping

import torch
from mmengine.model import is_model_wrapper
from torch import nn

__all__ = ['CheckpointMismatchError', 'check_checkpoint_fits', 'drop_mismatched_classifiers']

_CLASSIFIER = re.compile(r'^(?P<head>[\w.]*head)\.conv_seg\.(weight|bias)$')
_SUMMARY_DEPTH = 2
_SUMMARY_GROUPS = 6


class CheckpointMismatchError(RuntimeError):
    """A checkpoint's tensors do not fit the model built from the config."""


def _summarise(keys: list[str]) -> str:
    """Group keys by their first two name parts: ``backbone.layer4.* (45), ...``."""
    groups = Counter('.'.join(key.split('.')[:_SUMMARY_DEPTH]) for key in keys)
    shown = [f'{prefix}.* ({count})' for prefix, count in groups.most_common(_SUMMARY_GROUPS)]
    if len(groups) > _SUMMARY_GROUPS:
        shown.append(f'and {len(groups) - _SUMMARY_GROUPS} more groups')
    return ', '.join(shown)


def _strip_wrapper_prefix(state_dict: Mapping[str, torch.Tensor]) -> dict:
    """Drop the ``module.`` prefix that DataParallel/DDP checkpoints carry."""
    return {re.sub(r'^module\.', '', key): value for key, value in state_dict.items()}


def _classifier_message(head: str, expected: torch.Size, found: torch.Size) -> str:
    """Explain a classifier shape mismatch with both class counts."""
    return (f'num_classes={expected[0]} in the config (model.{head}.num_classes) but the '
            f"checkpoint's classifier {head}.conv_seg has {found[0]} outputs. Fix: set "
            f'model.{head}.num_classes={found[0]} to use this checkpoint as it is, or, to '
            f'fine-tune it on your {expected[0]} classes, set '
            "allow_new_classifier=True in CheckpointCompatibilityHook's config (the classifier "
            'is then initialised afresh).')


def check_checkpoint_fits(model: nn.Module, state_dict: Mapping[str, torch.Tensor], *,
                          allow_new_classifier: bool = False,
                          source: str = 'the checkpoint') -> None:
    """Raise if ``state_dict`` does not fit ``model`` key for key and shape for shape.

    Args:
        model (nn.Module): The model built from the config (wrappers allowed).
        state_dict (Mapping[str, Tensor]): The checkpoint's ``state_dict``.
        allow_new_classifier (bool): Accept a classifier (``*head.conv_seg``)
            of another shape, for fine-tuning on new classes. Defaults to False.
        source (str): How to name the checkpoint in messages.

    Raises:
        CheckpointMismatchError: On missing or unexpected keys, or shapes that
            differ (the classifier's only when not allowed).
    """
    if is_model_wrapper(model):
        model = model.module
    expected = model.state_dict()
    found = _strip_wrapper_prefix(state_dict)
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    problems = []
    if missing or unexpected:
        problems.append(
            f'{source} looks like another architecture: {len(missing)} of the model\'s '
            f'{len(expected)} keys are missing from it'
            + (f' ({_summarise(missing)})' if missing else '')
            + f' and {len(unexpected)} of its keys are unexpected'
            + (f' ({_summarise(unexpected)})' if unexpected else '')
            + '. Fix: use a checkpoint trained with this config\'s model, or check that '
            'model.backbone (type, depth) and the heads match the ones it was trained with.')
    classifier_messages = {}
    other_shapes = []
    for key in sorted(set(expected) & set(found)):
        if expected[key].shape == found[key].shape:
            continue
        match = _CLASSIFIER.match(key)
        if match and key.endswith('weight'):
            classifier_messages[match.group('head')] = _classifier_message(
                match.group('head'), expected[key].shape, found[key].shape)
        elif not match:
            other_shapes.append(f'{key}: model {tuple(expected[key].shape)}, '
                                f'checkpoint {tuple(found[key].shape)}')
    if classifier_messages and not allow_new_classifier:
        problems.extend(classifier_messages.values())
    if other_shapes:
        problems.append(f'{len(other_shapes)} tensors of {source} have other shapes than the '
                        f'model\'s ({"; ".join(other_shapes[:4])}). Fix: match the channel and '
                        'depth settings of the config to the checkpoint.')
    if problems:
        raise CheckpointMismatchError(' '.join(problems))


def drop_mismatched_classifiers(model: nn.Module, state_dict: dict) -> list[str]:
    """Remove classifier tensors whose shape differs from the model's, in place.

    Returns:
        list[str]: The keys removed.
    """
    if is_model_wrapper(model):
        model = model.module
    expected = model.state_dict()
    removed = []
    for key, value in list(state_dict.items()):
        name = re.sub(r'^module\.', '', key)
        if _CLASSIFIER.match(name) and name in expected and expected[name].shape != value.shape:
            del state_dict[key]
            removed.append(key)
    return removed
