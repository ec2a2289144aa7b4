"""Size, channels and pixel type of an image file from its header, without decoding the pixels.

The import's checking pass uses these for plain image files (the writing
pass decodes them, and checks that the pixels match the header), so each
image is decoded once. The answers are those :func:`.image_reading.read_image`
gives after decoding: alpha is not counted, palette images have 3 channels,
floats are float32.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import tifffile
from PIL import Image, UnidentifiedImageError

from .errors import import_error
from .image_reading import ALPHA_NOTE, TIFF_SUFFIXES, read_image

__all__ = ['ImageHeader', 'read_image_header']

#: Pillow mode -> (channels after read_image, dtype); None = decode to know.
_PILLOW_MODES = {
    '1': (1, 'uint8'),
    'L': (1, 'uint8'),
    'LA': (1, 'uint8'),
    'P': (3, 'uint8'),
    'PA': (3, 'uint8'),
    'RGB': (3, 'uint8'),
    'RGBA': (3, 'uint8'),
    'CMYK': (3, 'uint8'),
    'YCbCr': (3, 'uint8'),
    'I;16': (1, 'uint16'),
    'I;16L': (1, 'uint16'),
    'I;16B': (1, 'uint16'),
    'I;16N': (1, 'uint16'),
    'I': (1, 'int32'),
    'F': (1, 'float32'),
}


class ImageHeader(tuple):
    """``(height, width, channels, dtype name)`` of an image as :func:`read_image` returns it."""

    @property
    def shape(self) -> tuple[int, int, int]:
        return self[0], self[1], self[2]

    @property
    def dtype(self) -> str:
        return self[3]


def _stored_dtype(dtype: np.dtype) -> str:
    if dtype == np.bool_:
        return 'uint8'
    return 'float32' if np.issubdtype(dtype, np.floating) else np.dtype(dtype).newbyteorder('=').name


def _tiff_header(path: Path) -> ImageHeader:
    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        sizes = dict(zip(series.axes, series.shape))
        extra = [n for a, n in zip(series.axes, series.shape) if a not in 'YX' and n > 1]
        if 'Y' not in sizes or 'X' not in sizes or len(extra) > 1:
            return _decoded_header(path, None)
        return ImageHeader((sizes['Y'], sizes['X'], extra[0] if extra else 1, _stored_dtype(series.dtype)))


def _decoded_header(path: Path, notes: Optional[set[str]]) -> ImageHeader:
    array = read_image(path, notes)
    return ImageHeader((*array.shape, array.dtype.name))


def read_image_header(path: str | Path, notes: Optional[set[str]] = None) -> ImageHeader:
    """Return ``(H, W, C, dtype)`` of an image file, reading only its header where the format allows.

    Args:
        path (str | Path): PNG, JPEG, BMP, WebP, GIF or TIFF file.
        notes (set[str] | None): Receives a sentence when an alpha channel will be dropped.

    Returns:
        ImageHeader: Height, width, channels and dtype name as :func:`read_image` would return them.
    """
    path = Path(path)
    try:
        if path.suffix.lower() in TIFF_SUFFIXES:
            return _tiff_header(path)
        with Image.open(path) as image:
            mode, (width, height) = image.mode, image.size
            transparent = 'transparency' in image.info
    except (
        UnidentifiedImageError,
        tifffile.TiffFileError,
        OSError,
        SyntaxError,
        ValueError,
        IndexError,
    ) as error:
        raise import_error(
            path,
            f'cannot be read as an image ({type(error).__name__}: {error})',
            're-export or re-copy the file, or remove it together with its mask',
        ) from error
    if mode not in _PILLOW_MODES:
        return _decoded_header(path, notes)
    if notes is not None and (mode in ('RGBA', 'LA', 'PA') or (mode == 'P' and transparent)):
        notes.add(ALPHA_NOTE)
    channels, dtype = _PILLOW_MODES[mode]
    return ImageHeader((height, width, channels, dtype))
