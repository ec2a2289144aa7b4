"""A seeded train/val/test split that keeps every class in val and test where the data allows.

Units are assigned to splits whole: single images; whole volumes, rasters or
tiled images when there are at least three. Classes are placed rarest first:
each missing class gets one unit holding it in test, then in val, while train
keeps at least one; the rest fills test and val up to their fractions in
seeded random order. One or two volumes, rasters or tiled images give test
and val one run of consecutive slices (or tile rows/columns) each, with a gap
of excluded samples (2 slices, 1 tile line) between runs of different splits,
so that no training sample neighbours a val or test sample
(:mod:`.line_runs`). A split that the layout already has is kept (a layout
with train and val only gives its val to test, on which nothing is chosen,
and draws val from its train).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .line_runs import split_in_line_runs

__all__ = ['SplitItem', 'SplitResult', 'make_splits']

SPLITS = ('train', 'val', 'test')
GAP_LINES = {'volumes': 2, 'rasters': 1, 'tiles': 1}


@dataclass
class SplitItem:
    """What the split needs to know of one sample."""

    name: str
    group: str
    position: tuple[int, ...]
    classes: frozenset[int]
    preset: Optional[str] = None


@dataclass
class SplitResult:
    """Names per split, excluded gap samples, group of each name, notes, and the seed that drew it."""

    splits: dict[str, list[str]]
    excluded: list[str]
    groups: dict[str, str]
    notes: list[str] = field(default_factory=list)
    seed: Optional[int] = None


def _line(item: SplitItem, long_axis: dict[str, int]) -> int:
    """The 1-D coordinate of a slice, or the tile row/column along its raster's longer side."""
    return item.position[long_axis.get(item.group, 0)] if item.position else 0


def _units(items: list[SplitItem], kind: str) -> tuple[list[list[int]], Optional[dict[str, int]], str]:
    """Group item indices into units; returns units, the band axis per group (or None), and the rule."""
    groups = sorted({item.group for item in items})
    if kind == 'images' or len(groups) >= 3:
        by_group: dict[str, list[int]] = {}
        for index, item in enumerate(items):
            by_group.setdefault(item.group, []).append(index)
        whole = 'images' if kind == 'tiles' else kind
        rule = 'one unit per image' if kind == 'images' else f'whole {whole} per split, {len(groups)} in all'
        return list(by_group.values()), None, rule
    long_axis = {}
    for group in groups:
        positions = np.array([it.position for it in items if it.group == group])
        long_axis[group] = (
            int(np.argmax(positions.max(axis=0) - positions.min(axis=0))) if positions.size else 0
        )
    units = []
    for group in groups:
        members = sorted(
            (i for i, it in enumerate(items) if it.group == group), key=lambda i: _line(items[i], long_axis)
        )
        lines = sorted({_line(items[i], long_axis) for i in members})
        width = max(1, len(lines) // 12)
        for start in range(0, len(lines), width):
            band = set(lines[start : start + width])
            units.append([i for i in members if _line(items[i], long_axis) in band])
    kind_word = 'slices' if kind == 'volumes' else 'tile rows/columns'
    return (
        units,
        long_axis,
        (
            f'{len(units)} bands of consecutive {kind_word}, {GAP_LINES.get(kind, 1)} '
            'left out between bands of different splits'
        ),
    )


def _assign(
    units: list[list[int]], items: list[SplitItem], fractions: dict[str, float], rng: np.random.Generator
) -> dict[int, str]:
    """Assign each unit to a split: rare classes into test and val first, then fill by fraction."""
    total = sum(len(u) for u in units)
    target = {s: max(1, round(f * total)) if f > 0 and len(units) >= 3 else 0 for s, f in fractions.items()}
    classes = [frozenset().union(*(items[i].classes for i in unit)) for unit in units]
    order = [int(u) for u in rng.permutation(len(units))]
    where: dict[int, str] = {}
    size = {s: 0 for s in SPLITS}
    every_class = sorted(frozenset().union(*classes), key=lambda c: sum(c in cs for cs in classes))
    for split in ('test', 'val'):
        if not target[split]:
            continue
        for cls in every_class:
            if (
                any(cls in classes[u] for u, s in where.items() if s == split)
                or size[split] >= 2 * target[split]
            ):
                continue
            free = [u for u in order if u not in where and cls in classes[u]]
            if len(free) >= 2:
                pick = min(free, key=lambda u: len(units[u]))
                where[pick], size[split] = split, size[split] + len(units[pick])
    for split in ('test', 'val'):
        for u in order:
            if (
                u not in where
                and size[split] < target[split]
                and (size[split] + len(units[u]) <= target[split] or size[split] == 0)
            ):
                where[u], size[split] = split, size[split] + len(units[u])
    return {u: where.get(u, 'train') for u in range(len(units))}


def make_splits(
    items: list[SplitItem],
    *,
    kind: str,
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
) -> SplitResult:
    """Split ``items`` into train/val/test (see the module docstring for the rules).

    Args:
        items (list[SplitItem]): Every sample, with its group, position and classes.
        kind (str): ``'images'``, ``'volumes'``, ``'rasters'`` or ``'tiles'`` (tiled plain images).
        seed (int): Seed of the random order. Defaults to 0.
        val_fraction (float): Share of samples for val. Defaults to 0.15.
        test_fraction (float): Share of samples for test. Defaults to 0.15.

    Returns:
        SplitResult: Names per split, excluded names, groups and notes.
    """
    rng = np.random.default_rng(seed)
    presets = {item.preset for item in items}
    notes = []
    if None not in presets:
        split_of = {i: item.preset for i, item in enumerate(items)}
        if 'test' not in presets:
            split_of = {i: 'test' if s == 'val' else s for i, s in split_of.items()}
            train = [i for i, s in split_of.items() if s == 'train']
            units, long_axis, _ = _units([items[i] for i in train], kind)
            carved = _assign(units, [items[i] for i in train], {'val': val_fraction, 'test': 0.0}, rng)
            for unit, split in carved.items():
                for local in units[unit]:
                    split_of[train[local]] = split
            notes.append(
                "the layout's val split became test (nothing is chosen on it); val was drawn from "
                "the layout's train"
            )
        dropped: set[int] = set()
    else:
        units, long_axis, rule = _units(items, kind)
        fractions = {'test': test_fraction, 'val': val_fraction}
        if long_axis is None:
            by_unit = _assign(units, items, fractions, rng)
            split_of = {i: by_unit[u] for u, unit in enumerate(units) for i in unit}
            dropped = set()
        else:
            where, rule = split_in_line_runs(
                [it.group for it in items],
                [_line(it, long_axis) for it in items],
                [it.classes for it in items],
                gap=GAP_LINES.get(kind, 1),
                fractions=fractions,
                rng=rng,
            )
            split_of = {i: split or 'train' for i, split in enumerate(where)}
            dropped = {i for i, split in enumerate(where) if split is None}
        notes.append(f'split seeded with {seed}: {rule}')
        if dropped:
            notes.append(
                f'{len(dropped)} samples next to another split were left out as a gap (splits.json '
                '"excluded")'
            )
    result = SplitResult({s: [] for s in SPLITS}, [], {item.name: item.group for item in items}, notes, seed)
    for index, item in enumerate(items):
        (result.excluded if index in dropped else result.splits[split_of[index]]).append(item.name)
    for split in ('val', 'test'):
        present = frozenset().union(
            *(items[i].classes for i, s in split_of.items() if s == split and i not in dropped)
        )
        everywhere = frozenset().union(*(item.classes for item in items))
        if result.splits[split] and everywhere - present:
            notes.append(
                f'classes {sorted(everywhere - present)} are not in {split}: the data does not allow it'
            )
    return result
