"""Read one mask file as raw label values (index maps, palette PNGs, RGB colour masks).

A mask is read as an (H, W) integer array of *raw* values: the stored index for
8/16-bit index maps and palette PNGs (the palette is returned beside it), or
the packed colour ``r << 16 | g << 8 | b`` for RGB colour masks. How raw
values become classes is decided once for the whole dataset
(:mod:`psp_plugin.data.label_rules`). JPEG masks are refused: lossy
compression invents label values along every edge.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import import_error
from .image_reading import TIFF_SUFFIXES, read_tiff

__all__ = [
    'RawMask',
    'read_mask',
    'raw_mask_from_array',
    'value_counts',
    'pack_colours',
    'unpack_colour',
    'JPEG_SUFFIXES',
]

JPEG_SUFFIXES = ('.jpg', '.jpeg', '.jpe', '.jfif')


@dataclass
class RawMask:
    """Raw label values of one mask.

    Attributes:
        values: (H, W) raw values: uint8/uint16 as stored, else int64 (packed colours when ``colour``).
        colour: True for an RGB colour mask.
        palette: (256, 3) uint8 palette of a palette PNG, else None.
    """

    values: np.ndarray
    colour: bool = False
    palette: Optional[np.ndarray] = None


def pack_colours(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 colours -> (H, W) int64 ``r << 16 | g << 8 | b``."""
    rgb = rgb.astype(np.int64)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def unpack_colour(packed: int) -> list[int]:
    """``r << 16 | g << 8 | b`` -> ``[r, g, b]``."""
    return [(packed >> 16) & 255, (packed >> 8) & 255, packed & 255]


def _refuse_jpeg(path: Path) -> None:
    raise import_error(
        path,
        'is a JPEG mask; lossy JPEG compression changes label values along every '
        'edge, so the classes cannot be recovered exactly',
        'export the masks as PNG or TIFF (lossless) from the original label data',
    )


def _from_channels(array: np.ndarray, path: Path) -> tuple[np.ndarray, bool]:
    """(H, W[, C]) mask pixels -> (raw values, is colour)."""
    if array.ndim == 3 and array.shape[2] in (2, 4):
        array = array[:, :, :-1]
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 2:
        return array, False
    if array.ndim != 3 or array.shape[2] != 3:
        raise import_error(
            path,
            f'is a mask of shape {array.shape}, neither an index map nor RGB colours',
            'save masks as one-channel index maps (or RGB colour masks)',
        )
    if np.array_equal(array[..., 0], array[..., 1]) and np.array_equal(array[..., 0], array[..., 2]):
        return array[..., 0], False
    if array.dtype != np.uint8:
        raise import_error(path, f'is a {array.dtype} colour mask', 'save colour masks with 8-bit channels')
    return pack_colours(array), True


def _integral(array: np.ndarray, path: Path) -> np.ndarray:
    """Return integer raw values (uint8/uint16 kept, others as int64), refusing fractional floats."""
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)) or not np.array_equal(array, np.round(array)):
            raise import_error(
                path,
                'is a float mask with fractional or non-finite values, not labels',
                'save masks as integer class indices (threshold probability maps first)',
            )
    if array.dtype == np.bool_:
        return array.astype(np.uint8)
    return array if array.dtype in (np.uint8, np.uint16) else array.astype(np.int64)


def read_mask(path: str | Path) -> RawMask:
    """Read a mask file (PNG, TIFF, BMP, GIF; never JPEG) as raw values.

    Args:
        path (str | Path): The mask file.

    Returns:
        RawMask: (H, W) raw values, whether they are packed colours, and the palette of a
            palette PNG.
    """
    path = Path(path)
    if path.suffix.lower() in JPEG_SUFFIXES:
        _refuse_jpeg(path)
    if path.suffix.lower() in TIFF_SUFFIXES:
        return raw_mask_from_array(read_tiff(path), path)
    try:
        with Image.open(path) as image:
            if image.format == 'JPEG':
                _refuse_jpeg(path)
            image.load()
            palette = None
            if image.mode == 'P':
                palette = np.zeros((256, 3), dtype=np.uint8)
                entries = np.asarray(image.getpalette() or [], dtype=np.uint8).reshape(-1, 3)[:256]
                palette[: len(entries)] = entries
            elif image.mode == '1':
                image = image.convert('L').point(lambda v: v // 255)
            array = np.asarray(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise import_error(
            path,
            f'cannot be decoded as a mask ({type(error).__name__}: {error})',
            're-export or re-copy the mask, or remove it together with its image',
        ) from error
    if palette is not None:
        return RawMask(np.ascontiguousarray(array), False, palette)
    return raw_mask_from_array(array, path)


def raw_mask_from_array(array: np.ndarray, path: str | Path) -> RawMask:
    """(H, W) index values or (H, W, 3|4) colours read from ``path`` -> :class:`RawMask`."""
    values, colour = _from_channels(array, Path(path))
    return RawMask(_integral(values, Path(path)), colour)


def value_counts(values: np.ndarray) -> dict[int, int]:
    """Pixels per raw value of one (H, W) mask.

    Args:
        values (np.ndarray): (H, W) int64 raw values.

    Returns:
        dict[int, int]: ``{value: pixel count}`` for the values present.
    """
    flat = values.ravel()
    low, high = int(flat.min()), int(flat.max())
    if low >= 0 and high < 65536:
        counts = np.bincount(flat, minlength=high + 1)
        present = np.flatnonzero(counts)
        return {int(v): int(counts[v]) for v in present}
    uniques, counts = np.unique(flat, return_counts=True)
    return {int(v): int(c) for v, c in zip(uniques, counts)}
