"""``splits.json``: the split the user can edit; a re-import keeps the file's split."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from .errors import import_error
from .splits import SPLITS, SplitResult

__all__ = ['SPLITS_FILE', 'read_kept_splits', 'splits_json']

SPLITS_FILE = 'splits.json'


def read_kept_splits(out_dir: Path, names: list[str], groups: dict[str, str]) -> Optional[SplitResult]:
    """The split of an existing ``OUT/splits.json`` for these sample names, or None without one.

    Samples the file does not list are left out (as if the user had removed them from it);
    a listed name that the data no longer produces is an error.
    """
    path = out_dir / SPLITS_FILE
    if not path.is_file():
        return None
    try:
        kept = json.loads(path.read_text(encoding='utf-8'))
    except json.JSONDecodeError as error:
        raise import_error(
            path, f'is not valid JSON ({error})', 'repair it, or delete it to draw a new split'
        ) from error
    listed: dict[str, str] = {}
    for split in SPLITS:
        for name in kept.get(split, []):
            if name in listed:
                raise import_error(
                    path, f'lists {name!r} in both {listed[name]} and {split}', 'keep each name in one split'
                )
            listed[name] = split
    stale = sorted(set(listed) - set(names))
    if stale:
        raise import_error(
            path,
            f'lists {len(stale)} samples that the data does not have (e.g. {stale[:3]})',
            'remove them from the file, or delete it to draw a new split',
        )
    result = SplitResult(
        {s: [n for n in names if listed.get(n) == s] for s in SPLITS},
        [n for n in names if n not in listed],
        groups,
        [f'the split of the existing {path} was kept (seed {kept.get("seed")})'],
        kept.get('seed'),
    )
    if result.excluded:
        result.notes.append(f'{len(result.excluded)} samples not listed in {SPLITS_FILE} were left out')
    if not result.splits['train']:
        raise import_error(path, 'puts no sample in train', 'move some names into "train"')
    return result


def splits_json(result: SplitResult, seed: int) -> str:
    """The text of ``splits.json``."""
    payload = {
        'seed': seed if result.seed is None else result.seed,
        **result.splits,
        'excluded': result.excluded,
        'groups': result.groups,
    }
    return json.dumps(payload, indent=1)
