"""Class names and colours: from ``classes.txt``, ``dataset.json``, the mask palette, else ``class_i``.

``classes.txt`` holds one class per line in class order, ``name`` or
``name R G B`` (the colours then form the colour table for RGB colour
masks). With gapped label values it may name every class value (one line per
value 0..max) or only the values present. ``dataset.json`` may be nnU-Net's
(``"labels": {"background": 0, ...}`` or ``{"0": "background", ...}``) or a
list ``"classes": [...]`` with an optional ``"palette"``.
"""

from __future__ import annotations

import colorsys
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from .errors import import_error
from .label_rules import LabelRules
from .masks import unpack_colour

__all__ = ['ClassSource', 'read_class_source', 'name_classes', 'check_every_class_present', 'default_palette']


@dataclass
class ClassSource:
    """Class names as a file gives them.

    Attributes:
        path: The file (classes.txt or dataset.json).
        names: Names in class order, or None when given per raw value.
        by_value: ``{raw value: name}`` (nnU-Net dataset.json), else None.
        colours: ``[[r, g, b], ...]`` per name (classes.txt or dataset.json palette), else None.
    """

    path: Path
    names: Optional[list[str]] = None
    by_value: Optional[dict[int, str]] = None
    colours: Optional[list[list[int]]] = None


def _read_classes_txt(path: Path) -> ClassSource:
    names, colours = [], []
    for number, line in enumerate(path.read_text(encoding='utf-8').splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) >= 4 and all(p.isdigit() for p in parts[-3:]):
            rgb = [int(p) for p in parts[-3:]]
            if max(rgb) > 255:
                raise import_error(
                    f'{path} line {number}',
                    f'colour {rgb} is outside 0..255',
                    "write 'name R G B' with R, G, B in 0..255",
                )
            names.append(' '.join(parts[:-3]))
            colours.append(rgb)
        else:
            names.append(line.strip())
    if not names:
        raise import_error(path, 'names no class', 'write one class name per line, or delete the file')
    if colours and len(colours) != len(names):
        raise import_error(
            path,
            'gives colours for some classes only',
            "write 'name R G B' on every line, or no colours at all",
        )
    return ClassSource(path, names=names, colours=colours or None)


def _read_dataset_json(path: Path) -> Optional[ClassSource]:
    try:
        meta = json.loads(path.read_text(encoding='utf-8'))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise import_error(path, f'is not valid JSON ({error})', 'repair the file or remove it') from error
    if isinstance(meta.get('classes'), list):
        return ClassSource(path, names=[str(n) for n in meta['classes']], colours=meta.get('palette'))
    labels = meta.get('labels')
    if not isinstance(labels, dict) or not labels:
        return None
    if all(str(k).lstrip('-').isdigit() for k in labels):
        return ClassSource(path, by_value={int(k): str(v) for k, v in labels.items()})
    if all(isinstance(v, int) for v in labels.values()):
        return ClassSource(path, by_value={int(v): str(k) for k, v in labels.items()})
    raise import_error(
        path,
        '"labels" uses regions (lists of values), which a semantic mask cannot express',
        'give each label one integer value in "labels"',
    )


def read_class_source(folder: Path) -> Optional[ClassSource]:
    """Return the class names found in ``folder`` (classes.txt first, then dataset.json), or None."""
    if (folder / 'classes.txt').is_file():
        return _read_classes_txt(folder / 'classes.txt')
    if (folder / 'dataset.json').is_file():
        return _read_dataset_json(folder / 'dataset.json')
    return None


def default_palette(count: int) -> list[list[int]]:
    """``count`` distinct colours: black for class 0, then evenly spread hues."""
    colours = [[0, 0, 0]]
    for i in range(1, count):
        r, g, b = colorsys.hsv_to_rgb((i * 0.618034) % 1.0, 0.75, 0.95)
        colours.append([int(r * 255), int(g * 255), int(b * 255)])
    return colours[:count]


def _names_from_list(source: ClassSource, rules: LabelRules) -> tuple[list[str], Optional[list]]:
    names, k = source.names, rules.num_classes
    if len(names) == k:
        return list(names), source.colours
    raws = rules.raw_of_class
    if all(r is not None for r in raws) and len(names) > max(raws):
        missing = [n for value, n in enumerate(names) if value not in raws]
        raise import_error(
            source.path,
            f'names {len(names)} classes, but {missing[:5]} appear in no mask, '
            'so they would be missing from every split',
            'remove those names, or add masks that contain them',
        )
    raise import_error(
        source.path,
        f'names {len(names)} classes but the masks hold {k} classes',
        f'write exactly {k} names, one per line in class order',
    )


def name_classes(
    rules: LabelRules, source: Optional[ClassSource], palette: Optional[np.ndarray]
) -> tuple[list[str], list[list[int]], str]:
    """Name and colour the K classes of ``rules``.

    Args:
        rules (LabelRules): The dataset's label rules.
        source (ClassSource | None): Names from classes.txt or dataset.json.
        palette (np.ndarray | None): (256, 3) palette of palette-PNG masks.

    Returns:
        tuple: K names, K ``[r, g, b]`` colours, and where the names came from.
    """
    k, raws = rules.num_classes, rules.raw_of_class
    colours: Optional[list] = None
    if rules.colour:
        colours = [unpack_colour(raw) for raw in raws]
    elif palette is not None and all(r is not None and r < 256 for r in raws):
        colours = [palette[raw].tolist() for raw in raws]
    if source is not None and source.names is not None:
        names, file_colours = _names_from_list(source, rules)
        return names, colours or file_colours or default_palette(k), str(source.path)
    if source is not None and source.by_value is not None:
        unknown = [r for r in raws if r is not None and r not in source.by_value]
        if unknown:
            raise import_error(
                source.path,
                f'"labels" does not name mask value {unknown[0]}',
                'add every mask value to "labels"',
            )
        absent = [name for value, name in source.by_value.items() if value not in rules.mapping]
        if absent and not rules.instances:
            raise import_error(
                source.path,
                f'labels {absent[:5]} appear in no mask, so they would be missing from every split',
                'remove them from "labels", or add masks with them',
            )
        names = [
            source.by_value.get(r, f'class_{i}') if r is not None else f'class_{i}'
            for i, r in enumerate(raws)
        ]
        return names, colours or default_palette(k), str(source.path)
    if colours is not None:
        return ['rgb({},{},{})'.format(*c) for c in colours], colours, 'the mask colours'
    return [f'class_{i}' for i in range(k)], default_palette(k), 'default names'


def check_every_class_present(pixels_per_class: list[int], names: list[str], names_from: str) -> None:
    """Raise when a class has no pixel in any mask (it would be missing from every split)."""
    absent = [f'{i} ({names[i]})' for i, count in enumerate(pixels_per_class) if count == 0]
    if absent:
        raise import_error(
            names_from,
            f'class {", ".join(absent[:5])} has no pixel in any mask, so it '
            'would be missing from every split',
            'remove the class (from classes.txt / dataset.json, or lower num_classes), '
            'or add masks that contain it',
        )
