"""RGB colour masks: each class colour becomes a class; anti-aliased blends are refused.

Without a colour table every colour is a class (sorted, so black comes first),
unless there are more than ``MAX_COLOURS`` colours or at least two rare
colours (each under 0.5 % of the pixels) that lie on the line between two
frequent colours, the signature of anti-aliased or resampled edges. With the
colour table of ``classes.txt`` (``name R G B`` lines) a colour outside it is
refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from .errors import import_error
from .label_rules import LabelRules
from .masks import unpack_colour

__all__ = ['colour_rules', 'MAX_COLOURS']

MAX_COLOURS = 32
RARE_SHARE = 0.005


def _colour_text(raw: int) -> str:
    return 'rgb({},{},{})'.format(*unpack_colour(raw))


def _blends(counts: dict[int, int]) -> list[int]:
    """Rare colours lying between two frequent colours (anti-aliased edges)."""
    total = sum(counts.values())
    ranked = sorted(counts, key=counts.get, reverse=True)
    frequent = [np.array(unpack_colour(c), float) for c in ranked[:8] if counts[c] >= RARE_SHARE * total]
    found = []
    for raw in ranked:
        if counts[raw] >= RARE_SHARE * total:
            continue
        colour = np.array(unpack_colour(raw), float)
        for i, a in enumerate(frequent):
            for b in frequent[i + 1 :]:
                t = np.dot(colour - a, b - a) / max(np.dot(b - a, b - a), 1.0)
                if 0 < t < 1 and np.linalg.norm(a + t * (b - a) - colour) < 4:
                    found.append(raw)
                    break
            else:
                continue
            break
    return found


def colour_rules(
    counts: dict[int, int], where: dict[int, Path], table: Optional[list[list[int]]]
) -> LabelRules:
    """Rules for RGB colour masks (raw values are packed colours)."""
    fix = (
        'export the masks without smoothing (nearest-neighbour resampling, no anti-aliasing), or list '
        "the class colours as 'name R G B' lines in classes.txt"
    )
    if table is not None:
        packed = [(r << 16) | (g << 8) | b for r, g, b in table]
        unknown = sorted((c for c in counts if c not in packed), key=counts.get, reverse=True)
        if unknown:
            listed = ', '.join(f'{_colour_text(c)} ({counts[c]} px)' for c in unknown[:5])
            raise import_error(
                where[unknown[0]],
                f'holds colours that are not in the colour table of '
                f'classes.txt: {listed} ({len(unknown)} colours in all)',
                fix,
            )
        classes = packed
    else:
        classes = sorted(counts)
        blends = _blends(counts)
        if len(classes) > MAX_COLOURS or len(blends) >= 2:
            culprit = blends[0] if blends else min(counts, key=counts.get)
            raise import_error(
                where[culprit],
                f'the RGB colour masks hold {len(classes)} distinct colours, '
                f'{len(blends)} of them rare blends of class colours such as '
                f'{_colour_text(culprit)}: anti-aliased edges or resampling mixed the '
                'class colours',
                fix,
            )
    mapping = {raw: i for i, raw in enumerate(classes)}
    note = (
        f'RGB colour masks: {len(classes)} colours became classes 0..{len(classes) - 1} '
        '(' + ', '.join(f'{_colour_text(c)} -> {i}' for i, c in enumerate(classes[:12])) + ')'
    )
    return LabelRules(mapping, len(classes), list(classes), colour=True, notes=[note])
