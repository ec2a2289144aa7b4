"""The import's first pass: read every sample once, check it, and count its raw mask values.

Nothing is written in this pass; every problem it finds is raised as a
:class:`~.errors.DataImportError` naming the file, the problem and the fix.
Plain image files are sized from their headers here and decoded in the
writing pass (a file that does not decode then stops the import before the
output is replaced); masks, volumes and rasters are read in full.
Per sample it keeps only the set of raw values present (for the split), so
memory does not grow with the image size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from .errors import import_error
from .layouts import Layout
from .masks import value_counts
from .samples import Sample, SampleOptions, iter_samples

__all__ = ['ScannedSample', 'ScanResult', 'check_image_type', 'scan_samples', 'prepare_image']


@dataclass
class ScannedSample:
    """Name, group, position, layout split and raw values present of one sample."""

    name: str
    group: str
    position: tuple[int, ...]
    preset: Optional[str]
    values: frozenset[int]


@dataclass
class ScanResult:
    """What the first pass found.

    Attributes:
        samples: One entry per sample, in production order.
        counts: Pixels per raw mask value over all masks (nodata pixels excluded).
        where: A mask file holding each raw value.
        colour: The masks are RGB colour masks.
        palette: (256, 3) palette of palette-PNG masks, else None.
        channels: C of every image.
        dtype: Pixel type of every image.
        notes: Sentences about what was done.
    """

    samples: list[ScannedSample] = field(default_factory=list)
    counts: dict[int, int] = field(default_factory=dict)
    where: dict[int, Path] = field(default_factory=dict)
    colour: Optional[bool] = None
    palette: Optional[np.ndarray] = None
    channels: Optional[int] = None
    dtype: Optional[str] = None
    notes: set[str] = field(default_factory=set)


def prepare_image(image: np.ndarray) -> np.ndarray:
    """The stored form of an image: (H, W, C), floats as float32, other dtypes kept."""
    if np.issubdtype(image.dtype, np.floating) and image.dtype != np.float32:
        return image.astype(np.float32)
    return image


def check_image_type(header: tuple, source: str, channels: int, dtype: str) -> None:
    """Raise when an image's channels or pixel type differ from the dataset's (the first image's)."""
    if header[2] != channels:
        raise import_error(
            source,
            f'has {header[2]} channels but the first image has {channels}',
            'give every image the same channels (convert gray to RGB or the other way)',
        )
    if header[3] != dtype:
        raise import_error(
            source,
            f'has {header[3]} pixels but the first image has {dtype}, so one intensity '
            'normalisation cannot fit both',
            'save all images with one bit depth',
        )


def _check_consistent(sample: Sample, scan: ScanResult) -> None:
    if scan.channels is None:
        scan.channels, scan.dtype = sample.header[2], sample.header[3]
    check_image_type(sample.header, sample.source, scan.channels, scan.dtype)
    if scan.colour is None:
        scan.colour = sample.mask.colour
    if sample.mask.colour != scan.colour:
        kinds = ('RGB colour mask', 'index mask')
        raise import_error(
            sample.mask_file or sample.name,
            f'has an {kinds[not sample.mask.colour]} while the first mask is an {kinds[not scan.colour]}',
            'save all masks one way: class indices or class colours',
        )
    if sample.mask.palette is not None and scan.palette is None:
        scan.palette = sample.mask.palette


def scan_samples(layout: Layout, options: SampleOptions) -> ScanResult:
    """Read every sample of ``layout`` once and collect what the import decides from.

    Args:
        layout (Layout): The recognised dataset.
        options (SampleOptions): Tile size and slicing axis (the cutting's findings are set on it).

    Returns:
        ScanResult: Samples, raw value counts, mask kind, channels and dtype.
    """
    scan = ScanResult()
    names: dict[str, str] = {}
    for sample in iter_samples(layout, options, scan.notes, decode_images=False):
        if sample.name in names:
            raise import_error(
                sample.source,
                f'gives the sample name {sample.name!r}, as {names[sample.name]} does',
                'rename one of the two files',
            )
        names[sample.name] = sample.source
        _check_consistent(sample, scan)
        values = sample.mask.values if sample.invalid is None else sample.mask.values[~sample.invalid]
        counts = value_counts(values) if values.size else {}
        for value, count in counts.items():
            scan.counts[value] = scan.counts.get(value, 0) + count
            scan.where.setdefault(value, sample.mask_file or Path(sample.name))
        scan.samples.append(
            ScannedSample(sample.name, sample.group, sample.position, sample.split, frozenset(counts))
        )
    if not scan.samples:
        raise import_error(
            layout.root,
            'gave no sample (every slice or tile was empty)',
            'check that the images are not blank',
        )
    return scan
