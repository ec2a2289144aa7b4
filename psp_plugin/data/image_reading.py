"""Read one image file as an (H, W, C) array that keeps its values.

What is done with each kind of image (the import's notes repeat it):

* 8-bit, 16-bit and other integer images keep their dtype and values; nothing
  is rescaled per image (one normalisation from the training split is applied
  later, alike for training, testing and prediction).
* float images become float32; boolean images become uint8 0/1.
* grayscale gives C = 1, RGB gives C = 3; palette images are expanded to RGB.
* an alpha channel (RGBA, gray+alpha) is dropped: segmentation sees the colours.
* TIFFs with more channels (multispectral, multi-modal) keep all of them, in
  file order; channels-first (planar) TIFFs are moved to channels-last.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import tifffile
from PIL import Image, UnidentifiedImageError

from .errors import import_error

__all__ = ['IMAGE_SUFFIXES', 'TIFF_SUFFIXES', 'read_image', 'read_tiff', 'to_channels_last']

TIFF_SUFFIXES = ('.tif', '.tiff')
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.webp', '.gif') + TIFF_SUFFIXES
ALPHA_NOTE = 'an alpha channel was dropped from RGBA / gray+alpha images'
_REEXPORT = 're-export or re-copy the file, or remove it together with its mask'


def to_channels_last(array: np.ndarray, axes: str, path: Path) -> np.ndarray:
    """Return a TIFF array as (H, W, C) using tifffile's axes letters (``'YX'``, ``'YXS'``, ``'CYX'`` ...)."""
    keep = [i for i, letter in enumerate(axes) if letter in 'YX' or array.shape[i] > 1]
    array = array.reshape([array.shape[i] for i in keep])
    axes = ''.join(axes[i] for i in keep)
    if 'Y' not in axes or 'X' not in axes or len(axes) > 3:
        raise import_error(
            path,
            f'is a TIFF with axes {axes!r} and shape {array.shape}, not one 2-D image with channels',
            'save one 2-D image (optionally with channels) per file',
        )
    if len(axes) == 2:
        return array[:, :, None] if axes == 'YX' else array.T[:, :, None]
    order = [axes.index('Y'), axes.index('X')]
    order.append(3 - sum(order))
    return np.ascontiguousarray(np.transpose(array, order))


def read_tiff(path: Path) -> np.ndarray:
    """Read a TIFF with tifffile as (H, W, C) (first series, all its channels)."""
    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            return to_channels_last(series.asarray(), series.axes, path)
    except (tifffile.TiffFileError, OSError, ValueError, IndexError) as error:
        raise import_error(
            path, f'cannot be read as a TIFF ({type(error).__name__}: {error})', _REEXPORT
        ) from error


def _read_pillow(path: Path, notes: Optional[set[str]]) -> np.ndarray:
    """Read a PNG/JPEG/BMP/WebP/GIF with Pillow as (H, W, C)."""
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ('P', 'PA', 'CMYK', 'YCbCr', 'LAB', 'HSV'):
                image = image.convert('RGBA' if 'transparency' in image.info or image.mode == 'PA' else 'RGB')
            if image.mode == '1':
                image = image.convert('L')
            array = np.asarray(image)
            mode = image.mode
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise import_error(
            path, f'cannot be decoded as an image ({type(error).__name__}: {error})', _REEXPORT
        ) from error
    if mode in ('RGBA', 'LA'):
        array = array[:, :, :-1]
        if notes is not None:
            notes.add(ALPHA_NOTE)
    return array[:, :, None] if array.ndim == 2 else array


def read_image(path: str | Path, notes: Optional[set[str]] = None) -> np.ndarray:
    """Read an image file as (H, W, C), keeping integer dtypes and values.

    Args:
        path (str | Path): PNG, JPEG, BMP, WebP, GIF or TIFF file.
        notes (set[str] | None): Receives a sentence when something was dropped (alpha).

    Returns:
        np.ndarray: (H, W, C) array; integer dtypes kept, floats as float32, bool as uint8.
    """
    path = Path(path)
    if path.suffix.lower() in TIFF_SUFFIXES:
        array = read_tiff(path)
    else:
        array = _read_pillow(path, notes)
    if array.dtype == np.bool_:
        return array.astype(np.uint8)
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder('='))
    if np.issubdtype(array.dtype, np.floating) and array.dtype != np.float32:
        return array.astype(np.float32)
    if not (np.issubdtype(array.dtype, np.integer) or array.dtype == np.float32):
        raise import_error(path, f'has pixels of type {array.dtype}', 'save it with integer or float pixels')
    return array
