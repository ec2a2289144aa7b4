"""Samples: the 2-D image/mask arrays the import produces from every pair, one kind at a time.

Plain image pairs give one sample each (one per tile with ``tile_images``,
:mod:`.image_tiles`); volumes give one per slice (:mod:`.volumes`) and rasters
one per tile (:mod:`.rasters`). Samples are
produced lazily, one pair in memory at a time, so memory does not grow with
the number of files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from .errors import import_error
from .image_headers import read_image_header
from .image_reading import read_image
from .layouts import Layout, Pair
from .masks import RawMask, read_mask

__all__ = ['Sample', 'SampleOptions', 'iter_samples', 'check_same_size']


@dataclass
class SampleOptions:
    """Settings of the cutting (tile size, slicing axis) and what the cutting found.

    Attributes:
        tile_size: Tile edge for rasters (and plain images when ``tile_images``), in pixels.
        tile_images: Cut plain images into tiles too (:mod:`.image_tiles`).
        axis: Slicing axis for volumes (0, 1, 2), None to follow the spacing.
        axis_used: The axis the volumes were cut along (set while cutting).
        spacing: Voxel spacing of the first volume or pixel size of the first raster.
    """

    tile_size: int = 512
    tile_images: bool = False
    axis: Optional[int] = None
    axis_used: Optional[int] = None
    spacing: Optional[list[float]] = None


@dataclass
class Sample:
    """One 2-D sample.

    Attributes:
        name: Unique output name.
        group: The source file it comes from (slices of one volume, tiles of one raster).
        position: (row, col) of a tile, (slice,) of a slice, () for an image.
        split: The split the layout gives it, or None.
        image: (H, W, C) pixels, or None when only the header was read (``decode_images=False``).
        mask: Raw mask values (H, W).
        invalid: (H, W) bool, pixels to ignore (raster nodata), or None.
        source: The image file it was read from (and where in it), for messages.
        mask_file: The mask file, for messages.
        header: ``(H, W, C, dtype name)`` of the image as stored.
    """

    name: str
    group: str
    position: tuple[int, ...]
    split: Optional[str]
    image: Optional[np.ndarray]
    mask: RawMask
    invalid: Optional[np.ndarray] = None
    source: str = ''
    mask_file: Optional[Path] = None
    header: tuple = ()

    def __post_init__(self) -> None:
        if not self.header and self.image is not None:
            dtype = 'float32' if np.issubdtype(self.image.dtype, np.floating) else self.image.dtype.name
            self.header = (*self.image.shape, dtype)


def check_same_size(image_shape: tuple, mask_shape: tuple, image: Path | str, mask: Path | str) -> None:
    """Raise when an image and its mask differ in size (H, W)."""
    if tuple(image_shape[:2]) != tuple(mask_shape[:2]):
        raise import_error(
            mask,
            f'is {mask_shape[0]}x{mask_shape[1]} (HxW) but its image {image} is '
            f'{image_shape[0]}x{image_shape[1]}',
            "export the mask at the image's size (resize with nearest-neighbour), or fix the pairing",
        )


def read_image_files(files: tuple[Path, ...], notes: set[str]) -> np.ndarray:
    """Read one image, stacking several files (one per channel) along C."""
    arrays = [read_image(path, notes) for path in files]
    for path, array in zip(files[1:], arrays[1:]):
        if array.shape[:2] != arrays[0].shape[:2]:
            raise import_error(
                path,
                f'is {array.shape[0]}x{array.shape[1]} but the first channel file '
                f'{files[0].name} is {arrays[0].shape[0]}x{arrays[0].shape[1]}',
                'give all channel files of one image the same size',
            )
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays, axis=2)


def _image_header(files: tuple[Path, ...], notes: set[str]) -> tuple:
    """``(H, W, C, dtype)`` of one image from its file headers (several files stack as channels)."""
    headers = [read_image_header(path, notes) for path in files]
    for path, header in zip(files[1:], headers[1:]):
        if header[:2] != headers[0][:2]:
            raise import_error(
                path,
                f'is {header[0]}x{header[1]} but the first channel file {files[0].name} is '
                f'{headers[0][0]}x{headers[0][1]}',
                'give all channel files of one image the same size',
            )
    return (*headers[0][:2], sum(h[2] for h in headers), headers[0][3])


def _image_samples(pair: Pair, notes: set[str], decode: bool) -> Iterator[Sample]:
    image = read_image_files(pair.images, notes) if decode else None
    header = _image_header(pair.images, notes) if image is None else ()
    mask = read_mask(pair.mask)
    sample = Sample(
        pair.name,
        pair.name,
        (),
        pair.split,
        image,
        mask,
        source=str(pair.images[0]),
        mask_file=pair.mask,
        header=header,
    )
    check_same_size(sample.header, mask.values.shape, pair.images[0], pair.mask)
    yield sample


def iter_samples(
    layout: Layout, options: SampleOptions, notes: set[str], *, decode_images: bool = True
) -> Iterator[Sample]:
    """Yield every sample of ``layout`` in a fixed order.

    Args:
        layout (Layout): The recognised dataset.
        options (SampleOptions): Tile size and slicing axis.
        notes (set[str]): Receives sentences about what was done.
        decode_images (bool): False: plain image files are only sized from their headers
            (``Sample.image`` is None); volumes and rasters are always read.

    Yields:
        Sample: One 2-D sample at a time.
    """
    if layout.kind == 'volumes':
        from .volumes import volume_samples as produce
    elif layout.kind == 'rasters':
        from .rasters import raster_samples as produce
    elif options.tile_images:
        from .image_tiles import image_tile_samples as produce
    else:

        def produce(pair, _options, notes_):
            return _image_samples(pair, notes_, decode_images)

    for pair in layout.pairs:
        yield from produce(pair, options, notes)
