"""One or two volumes, rasters or tiled images: test and val as runs of consecutive lines, with a gap.

A *line* is a slice of a volume, or a tile row/column (along the longer side) of a raster or a tiled
image. Test and val each take one run of consecutive lines of one source, the run whose number of
samples comes closest to its fraction of all samples. Lines within ``gap`` lines of a line of
another split are left out: training lines next to val or test, and val lines next to test, so
no training sample touches a held-out one. Every placement of the two runs is scored from the
classes each line holds (no pixel is read): first every class in train, then every class in test
and in val, then the fewest samples left out. The seed picks among the placements that leave out
at most 2 % of all samples more than the fewest. An isolated run costs a gap on both sides, a run
at a source's end only one, so on small sources (a 512-pixel image in 64-pixel tiles has 8 lines)
the runs tend to sit at the ends, where scattered bands would have left half the lines out.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

__all__ = ['split_in_line_runs']

CODES = {'test': 0, 'val': 1, 'train': 2}
NAMES = {code: name for name, code in CODES.items()}
MAX_STARTS = 64


def _line_table(groups: list[str], lines: list[int], gap: int) -> tuple[list[int], dict[str, range]]:
    """Row of each item in one table of lines; sources are kept ``gap + 1`` empty rows apart."""
    rows, spans, offset = [0] * len(groups), {}, 0
    for group in sorted(set(groups)):
        members = [i for i, g in enumerate(groups) if g == group]
        low, high = min(lines[i] for i in members), max(lines[i] for i in members)
        for i in members:
            rows[i] = offset + lines[i] - low
        spans[group] = range(offset, offset + high - low + 1)
        offset += high - low + 1 + gap + 1
    return rows, spans


def _runs(counts: np.ndarray, spans: dict[str, range], target: int) -> list[Optional[range]]:
    """From each start (at most ``MAX_STARTS`` per source) the run closest to ``target`` samples.

    Runs that a source's end cuts more than a quarter short of the target are kept only if no other is.
    """
    if target <= 0:
        return [None]
    runs = []
    for span in spans.values():
        starts = [r for r in span if counts[r] > 0]
        step = max(1, len(starts) // MAX_STARTS)
        for start in starts[::step] + starts[-1:]:
            total = np.cumsum(counts[start : span.stop])
            end = int(np.argmin(np.abs(total - target)))
            short = target - int(total[-1]) > target / 4  # the source ends well before the target
            runs.append((short, range(start, start + end + 1)))
    chosen = [run for short, run in runs if not short] or [run for _, run in runs]
    return sorted(set(chosen), key=lambda r: (r.start, r.stop))


def _outcome(code: np.ndarray, gap: int) -> np.ndarray:
    """True for rows left out: within ``gap`` rows of a row of a lower code (test < val < train)."""
    padded = np.pad(code, gap, constant_values=9)
    nearest = np.min([padded[gap + d : gap + d + len(code)] for d in range(-gap, gap + 1)], axis=0)
    return nearest < code


def split_in_line_runs(
    groups: list[str],
    lines: list[int],
    classes: list[frozenset[int]],
    *,
    gap: int,
    fractions: dict[str, float],
    rng: np.random.Generator,
) -> tuple[list[Optional[str]], str]:
    """Place one run of lines for test and one for val (see the module docstring).

    Args:
        groups (list[str]): Source of each item (one or two distinct sources).
        lines (list[int]): Line coordinate of each item within its source.
        classes (list[frozenset[int]]): Classes present in each item.
        gap (int): Lines left out between runs of different splits.
        fractions (dict[str, float]): ``{'test': f, 'val': f}``, shares of the samples.
        rng (numpy.random.Generator): The split's seeded generator.

    Returns:
        tuple: Per item ``'train'``, ``'val'``, ``'test'`` or None (left out as gap), and the rule in words.
    """
    rows, spans = _line_table(groups, lines, gap)
    size = max(spans[g].stop for g in spans)
    every = sorted(frozenset().union(*classes))
    counts = np.zeros(size, np.int64)
    holds = np.zeros((size, len(every)), bool)
    for row, found in zip(rows, classes):
        counts[row] += 1
        holds[row, [every.index(c) for c in found]] = True
    total = len(groups)
    targets = {s: max(1, round(f * total)) if f > 0 else 0 for s, f in fractions.items()}
    scored = []
    for test in _runs(counts, spans, targets['test']):
        for val in _runs(counts, spans, targets['val']):
            if test is not None and val is not None and test.start < val.stop and val.start < test.stop:
                continue
            code = np.full(size, CODES['train'])
            for run, split in ((test, 'test'), (val, 'val')):
                if run is not None:
                    code[run.start : run.stop] = CODES[split]
            kept = ~_outcome(code, gap)
            held = [int(counts[kept & (code == c)].sum()) for c in (2, 0, 1)]
            if not held[0] or (test is not None and not held[1]) or (val is not None and not held[2]):
                continue
            lost = int(counts[~kept].sum())
            missing = [len(every) - int(holds[kept & (code == c)].any(axis=0).sum()) for c in (2, 0, 1)]
            missing[1] *= test is not None
            missing[2] *= val is not None
            scored.append(((missing[0], missing[1] + missing[2]), lost, code, kept))
    word = f'{size - (len(spans) - 1) * (gap + 1)} lines of {len(spans)} source(s)'
    if not scored:
        return ['train'] * total, (
            f'{word}: too few for a test and a val run with gaps, so all went to train; use a smaller '
            'tile_size (--tile-size) or slice along a longer axis (--axis)'
        )
    coverage = min(s[0] for s in scored)
    best = [s for s in scored if s[0] == coverage]
    fewest = min(s[1] for s in best)
    eligible = [s for s in best if s[1] <= fewest + 0.02 * total]
    _, _, code, kept = eligible[int(rng.integers(len(eligible)))]
    rule = (
        f'{word}: test and val each one run of consecutive lines, {gap} line(s) left out between runs '
        'of different splits, placed to keep every class in train, test and val where possible'
    )
    return [NAMES[int(code[r])] if kept[r] else None for r in rows], rule
