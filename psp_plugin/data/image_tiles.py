"""Plain (not georeferenced) large images and their masks cut into tiles (``tile_images=True``).

One microscopy slide, one large photograph or a handful of big scans give too
few samples to split as whole images. With ``tile_images`` each image and its
mask are read whole (tifffile or Pillow, as any plain image) and cut into
``tile_size`` squares exactly as rasters are (:func:`.rasters.tile_offsets`:
the last row and column of tiles shifted back inside the image, none padded
or dropped). Tiles keep their (row, col) position, so one or two images are
split like rasters, in runs of tile rows/columns with a gap (:mod:`.line_runs`,
split kind ``'tiles'``); three or more go whole to one split.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from .layouts import Pair
from .masks import RawMask, read_mask
from .rasters import tile_offsets
from .samples import Sample, SampleOptions, check_same_size, read_image_files

__all__ = ['image_tile_samples', 'TILE_NOTE']

TILE_NOTE = (
    'images were cut into tiles of {tile}x{tile} pixels (tile_images; edge tiles shifted inside the image)'
)


def image_tile_samples(pair: Pair, options: SampleOptions, notes: set[str]) -> Iterator[Sample]:
    """Yield the tiles of one plain image and its mask.

    Args:
        pair (Pair): The image file(s) (several files stack as channels) and the mask file.
        options (SampleOptions): ``tile_size``, the tile edge in pixels.
        notes (set[str]): Receives what was done.

    Yields:
        Sample: (T, T, C) image tile (smaller where the image is smaller than a tile) and its
            raw mask tile; position (row, col); group = the image.
    """
    image = read_image_files(pair.images, notes)
    mask = read_mask(pair.mask)
    check_same_size(image.shape, mask.values.shape, pair.images[0], pair.mask)
    tile = options.tile_size
    notes.add(TILE_NOTE.format(tile=tile))
    height, width = image.shape[:2]
    for r, top in enumerate(tile_offsets(height, tile)):
        for c, left in enumerate(tile_offsets(width, tile)):
            rows, cols = slice(top, top + tile), slice(left, left + tile)
            yield Sample(
                f'{pair.name}_r{r:03d}_c{c:03d}',
                pair.name,
                (r, c),
                pair.split,
                np.ascontiguousarray(image[rows, cols]),
                RawMask(np.ascontiguousarray(mask.values[rows, cols]), mask.colour, mask.palette),
                source=f'{pair.images[0]} tile ({r}, {c})',
                mask_file=pair.mask,
            )
