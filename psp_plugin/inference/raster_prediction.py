"""Predict a raster larger than memory, block by block, with blended windows.

The window grid covers the whole raster (the same grid an in-memory pass would
use). The raster is cut into square output blocks; for each block the windows
that touch it are read as one area (block + at most one window on each side),
run in batches, blended into accumulators for that area only, and the block's
labels are written. Block edges are window starts, so windows that do not
overlap run once; an overlapping window that touches two blocks runs once per
block. Every output pixel gets exactly the windows of the global grid, and
memory depends on the block size, never on the raster size.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .areas import class_counts
from .predictor import Predictor
from .progress import WindowProgress
from .rasters import (
    label_profile,
    model_bands,
    open_raster,
    pixel_area_m2,
    probability_profile,
    warn_if_no_crs,
    write_colour_table,
)
from .sliding_window import Box, LogitBlender, WindowGrid, blend_region, window_weight

__all__ = ['RasterPrediction', 'block_size_for', 'predict_raster']

#: Bytes the per-block buffers (input, logit sums, weights) may take.
BLOCK_BUFFER_BYTES = 512 * 2 ** 20
#: GDAL's block cache in MB while predicting (its default, 5 % of the RAM, would grow with the raster).
GDAL_CACHE_MB = 64


@dataclass
class RasterPrediction:
    """What :func:`predict_raster` wrote and counted.

    Args:
        labels (Path): The label GeoTIFF.
        probabilities (Path | None): The probability GeoTIFF, when asked for.
        counts (np.ndarray): (K,) pixels per class (nodata excluded).
        pixel_m2 (float | None): Ground area of a pixel, for a projected CRS.
        windows (int): Windows run (including those repeated at block borders).
    """

    labels: Path
    probabilities: Path | None
    counts: np.ndarray
    pixel_m2: float | None
    windows: int


def block_size_for(window: tuple[int, int], channels: int, classes: int,
                   budget: int = BLOCK_BUFFER_BYTES) -> int:
    """Side of the square output block whose buffers fit ``budget`` bytes.

    A block's area is the block plus up to one window on each side; per pixel it
    holds the input (C float32, and a temporary copy while it is normalised), the
    logit sums and the blended logits (K float32 each), the weight sum and the
    labels. The side is at least one window and at most 4,096.
    """
    per_pixel = 4 * (2 * channels + 2 * classes + 1) + 8
    side = int(math.sqrt(budget / per_pixel)) - 2 * max(window)
    return int(min(max(side, max(window)), 4096))


def _cuts(starts: tuple[int, ...], length: int, side: int) -> list[int]:
    """Block edges along one axis at window starts, about ``side`` apart, ending at ``length``."""
    step = starts[1] - starts[0] if len(starts) > 1 else length
    every = max(1, side // max(step, 1))
    return list(starts[::every]) + [length]


def _blocks(grid: WindowGrid, side: int) -> list[Box]:
    """Output blocks whose edges are window starts, so windows without overlap never run twice."""
    rows, cols = _cuts(grid.starts_y, grid.height, side), _cuts(grid.starts_x, grid.width, side)
    return [(y0, x0, y1, x1) for y0, y1 in zip(rows, rows[1:]) for x0, x1 in zip(cols, cols[1:])]


def _union(boxes: list[Box]) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))


def _window(box: Box):
    from rasterio.windows import Window

    return Window(box[1], box[0], box[3] - box[1], box[2] - box[0])


def predict_raster(predictor: Predictor, path: str | Path, labels_path: str | Path, *,
                   probabilities_path: str | Path | None = None, block_size: int | None = None,
                   show_progress: bool = True) -> RasterPrediction:
    """Segment a raster into a label GeoTIFF with the input's georeferencing.

    Args:
        predictor (Predictor): Model, input mapping and window settings.
        path (str | Path): Input raster (GeoTIFF or any GDAL format).
        labels_path (str | Path): Output label GeoTIFF (uint8, or uint16 above 254 classes).
        probabilities_path (str | Path, optional): Also write per-class probabilities here.
        block_size (int, optional): Output block side; default from :func:`block_size_for`.
        show_progress (bool): Print windows/s and ETA. Defaults to True.

    Returns:
        RasterPrediction: Paths written and class counts.
    """
    import rasterio

    labels_path = Path(labels_path)
    labels_path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB), open_raster(path) as source:
        warn_if_no_crs(source, path)
        channels = predictor.inputs.channels
        bands = model_bands(source, channels, path)
        predictor.inputs.check(np.zeros((1, 1, channels), dtype=source.dtypes[bands[0] - 1]), str(path))
        grid = WindowGrid.cover(source.height, source.width, predictor.window, predictor.overlap)
        side = block_size or block_size_for(grid.window, channels, predictor.out_channels)
        blocks = _blocks(grid, side)
        planned = sum(len(grid.boxes(block)) for block in blocks)
        progress = WindowProgress(planned, Path(path).name) if show_progress else None
        weight = window_weight(*grid.window, predictor.weight)
        counts = np.zeros(predictor.num_classes, dtype=np.int64)
        label_file = rasterio.open(labels_path, 'w', **label_profile(source, predictor.num_classes))
        probability_file = None
        if probabilities_path is not None:
            Path(probabilities_path).parent.mkdir(parents=True, exist_ok=True)
            probability_file = rasterio.open(probabilities_path, 'w',
                                             **probability_profile(source, predictor.num_classes))
        try:
            for block in blocks:
                boxes = grid.boxes(block)
                area = _union(boxes)
                pixels = np.moveaxis(source.read(bands, window=_window(area)), 0, -1)
                if predictor.inputs.normalization is None and channels == 3:
                    pixels = pixels[:, :, ::-1]   # band order RGB -> BGR, as cv2 decodes for the config
                network_input = predictor.inputs.to_tensor(pixels, str(path), device=predictor.device)
                predictor.prepare(network_input)
                blender = LogitBlender(area, predictor.out_channels, weight)
                blend_region(network_input, boxes, predictor.logits_fn(), blender, origin=area[:2],
                             batch_size=predictor.batch_size,
                             on_batch=progress.update if progress else None)
                inner = (slice(None), slice(block[0] - area[0], block[2] - area[0]),
                         slice(block[1] - area[1], block[3] - area[1]))
                logits = blender.result()[inner]
                valid = source.dataset_mask(window=_window(block)) > 0
                labels = predictor.to_labels(logits)
                counts += class_counts(labels, predictor.num_classes, valid=valid)
                labels = np.where(valid, labels, label_file.nodata).astype(label_file.dtypes[0])
                label_file.write(labels, 1, window=_window(block))
                if probability_file is not None:
                    probabilities = predictor.probabilities(logits).numpy()
                    probabilities[:, ~valid] = np.nan
                    probability_file.write(probabilities.astype(np.float32), window=_window(block))
            write_colour_table(label_file, predictor.palette)
            if predictor.classes:
                label_file.update_tags(1, classes=','.join(predictor.classes))
        finally:
            label_file.close()
            if probability_file is not None:
                probability_file.close()
        if progress is not None:
            progress.close()
        return RasterPrediction(labels_path, Path(probabilities_path) if probabilities_path else None,
                                counts, pixel_area_m2(source), planned)
