"""Decide, once for the whole dataset, how raw mask values become classes 0..K-1.

Rules, in this order (each decision is written to the import's notes):

1. ``instances_as='foreground'``: every non-zero instance id becomes class 1.
2. RGB colour masks: each colour is a class (black first), or the colour
   table of ``classes.txt`` (``name R G B`` lines) decides; a colour outside
   the table, more than 32 colours, or blends of class colours along edges
   (anti-aliasing) are refused.
3. ``ignore_index`` (when given) stays ignore (stored as 255).
4. Binary masks: 0/255 become 0/1; 0/1 stay 0/1. Grey levels between 0 and 255
   on a few edge pixels (an anti-aliased binary mask) are refused.
5. Otherwise 255 next to small labels is MMSeg's ignore value and stays ignore.
6. ``num_classes`` given: values are class indices and must be below it.
   Otherwise the values, in order, become consecutive classes (gaps closed),
   refused when there are more than 254 or more than 64 with gaps (instance
   ids or a non-label image).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from .errors import import_error
from .masks import unpack_colour

__all__ = ['LabelRules', 'decide_label_rules', 'IGNORE']

IGNORE = 255
RARE_SHARE = 0.005


@dataclass
class LabelRules:
    """How raw values map to classes.

    Attributes:
        mapping: ``{raw value: class index or 255}`` for every raw value seen.
        num_classes: K.
        raw_of_class: The raw value (or packed colour) of each class, None when several.
        colour: True for RGB colour masks (raw values are packed colours).
        instances: True when non-zero instance ids all became class 1.
        notes: What was decided, one sentence each.
    """

    mapping: dict[int, int]
    num_classes: int
    raw_of_class: list[Optional[int]]
    colour: bool = False
    instances: bool = False
    notes: list[str] = field(default_factory=list)

    def apply(self, values: np.ndarray) -> np.ndarray:
        """(H, W) raw values -> (H, W) uint8 classes (255 = ignore)."""
        unseen = 1 if self.instances else IGNORE
        keys = np.fromiter(self.mapping.keys(), dtype=np.int64)
        targets = np.fromiter(self.mapping.values(), dtype=np.uint8)
        if values.dtype in (np.uint8, np.uint16):
            table = np.full(65536 if values.dtype == np.uint16 else 256, unseen, dtype=np.uint8)
            inside = (keys >= 0) & (keys < table.size)
            table[keys[inside]] = targets[inside]
            return table[values]
        order = np.argsort(keys)
        keys, targets = keys[order], targets[order]
        index = np.clip(np.searchsorted(keys, values), 0, len(keys) - 1)
        out = targets[index]
        out[keys[index] != values] = unseen
        return out

    def label_mapping(self) -> dict[str, int]:
        """``{"<raw value>" or "r,g,b": class}`` for dataset.json (instances: ``"0"`` and ``"other"``)."""
        if self.instances:
            return {str(k): v for k, v in self.mapping.items() if v != 1} | {'other': 1}
        name = (lambda raw: ','.join(map(str, unpack_colour(raw)))) if self.colour else str
        return {name(raw): target for raw, target in sorted(self.mapping.items())}


def _antialiased_binary(counts: dict[int, int]) -> bool:
    """True when 0 and 255 hold >= 90 % of the pixels and rare grey levels (some >= 32) sit between."""
    total = sum(counts.values())
    middle = [v for v in counts if v not in (0, 255)]
    return (
        0 in counts
        and 255 in counts
        and len(middle) >= 2
        and counts[0] + counts[255] >= 0.9 * total
        and max(counts[v] for v in middle) < RARE_SHARE * total
        and max(middle) >= 32
    )


def decide_label_rules(
    counts: dict[int, int],
    where: dict[int, Path],
    *,
    colour: bool,
    ignore_index: Optional[int] = None,
    instances_as: Optional[str] = None,
    num_classes: Optional[int] = None,
    colour_table: Optional[list[list[int]]] = None,
) -> LabelRules:
    """Choose the raw-value -> class mapping from the pixel counts of all masks.

    Args:
        counts (dict[int, int]): Pixels per raw value over all masks.
        where (dict[int, Path]): A mask file holding each raw value (for messages).
        colour (bool): The masks are RGB colour masks (packed raw values).
        ignore_index (int | None): Raw value that stays ignore.
        instances_as (str | None): ``'foreground'`` to merge non-zero instance ids into class 1.
        num_classes (int | None): K given by the user; raw values are then class indices.
        colour_table (list | None): ``[[r, g, b], ...]`` per class, from classes.txt.

    Returns:
        LabelRules: The mapping, K and the notes.
    """
    if instances_as not in (None, 'foreground'):
        raise import_error(
            'instances_as', f'{instances_as!r} is not supported', "use 'foreground' or leave it unset"
        )
    if instances_as == 'foreground':
        mapping = {raw: (IGNORE if raw == ignore_index else 0 if raw == 0 else 1) for raw in counts}
        ids = sum(1 for raw in counts if raw not in (0, ignore_index))
        return LabelRules(
            mapping,
            2,
            [0, None],
            instances=True,
            notes=[f'instance masks: {ids} non-zero instance ids became class 1 (foreground)'],
        )
    if colour:
        from .colour_rules import colour_rules

        return colour_rules(counts, where, colour_table)
    mapping = {ignore_index: IGNORE} if ignore_index is not None and ignore_index in counts else {}
    values = sorted(v for v in counts if v != ignore_index)
    notes = []
    if ignore_index is None and _antialiased_binary(counts):
        middle = sorted(v for v in counts if v not in (0, 255))
        raise import_error(
            where[middle[0]],
            f'the masks look binary (0 and 255) but {len(middle)} grey levels '
            f'such as {middle[:5]} sit on a few edge pixels: anti-aliased or resampled masks',
            'export the masks without smoothing (nearest-neighbour, threshold at 128)',
        )
    if ignore_index != 255 and 255 in values and set(values) <= {0, 255}:
        mapping[255] = 1
        values = [0, 1]
        notes.append('binary masks: 0/255 were mapped to classes 0/1 (255 is not treated as ignore)')
    elif set(values) <= {0, 1} and len(values) == 2:
        notes.append('binary masks: 0/1 kept as classes 0/1')
    elif ignore_index is None and 255 in values and max(v for v in values if v != 255) < 254:
        mapping[255] = IGNORE
        values.remove(255)
        notes.append(
            'mask value 255 next to small labels is kept as ignore (MMSeg convention); '
            'pass ignore_index to choose another value'
        )
    if num_classes is not None:
        too_big = [v for v in values if v >= num_classes]
        if too_big:
            raise import_error(
                where[too_big[0]],
                f'holds label {too_big[0]} but num_classes={num_classes} '
                f'allows 0..{num_classes - 1} (labels seen: {values[:12]})',
                'raise num_classes, pass ignore_index for a "don\'t care" value, or leave '
                'num_classes unset to map the values to consecutive classes',
            )
        classes = list(range(num_classes))
    else:
        if len(values) > 254 or (len(values) > 64 and values[-1] - values[0] + 1 != len(values)):
            raise import_error(
                where[values[-1]],
                f'the masks hold {len(values)} distinct values '
                f'({values[0]}..{values[-1]}), too many for classes: instance ids or an '
                'image instead of a label map',
                "pass instances_as='foreground' "
                '(--instances-as foreground) for instance masks, or check the mask folder',
            )
        classes = values
        if classes != list(range(len(classes))):
            notes.append(
                f'label values {classes[:12]} had gaps or an offset; they became consecutive '
                f'classes 0..{len(classes) - 1} (label_mapping in dataset.json)'
            )
    for index, raw in enumerate(classes):
        mapping.setdefault(raw, index)
    raw_of_class: list[Optional[int]] = list(classes)
    if 255 in mapping and mapping[255] == 1 and len(raw_of_class) > 1:
        raw_of_class[1] = 255
    return LabelRules(mapping, len(classes), raw_of_class, notes=notes)
