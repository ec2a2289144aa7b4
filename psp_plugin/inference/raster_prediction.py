"""Predict a raster larger than memory, strip by strip, with blended windows.

The window grid covers the whole raster (the same grid an in-memory pass would
use). The raster is cut into column strips whose edges are window starts. In a
strip the windows run one grid row at a time, left to right, and are blended
into a band one window tall: after a grid row, the rows above the next row's
start have all their windows, so their labels are written and the band moves
down, carrying the sums of the rows the next windows will add to. Every window
runs once, except those that touch two strips (one grid column per strip edge
when windows overlap). Memory depends on the strip width and the window,
never on the raster size.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

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

__all__ = ['RasterPrediction', 'predict_raster', 'strip_width_for']

#: Bytes a strip's band buffers (input rows, logit sums and their carried part, weights) may take.
STRIP_BUFFER_BYTES = 256 * 2 ** 20
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
        windows (int): Windows run (including those repeated at strip edges).
    """

    labels: Path
    probabilities: Path | None
    counts: np.ndarray
    pixel_m2: float | None
    windows: int


def strip_width_for(window: tuple[int, int], channels: int, classes: int,
                    budget: int = STRIP_BUFFER_BYTES) -> int:
    """Width of the column strips whose band buffers fit ``budget`` bytes.

    A strip's band is one window tall and the strip plus up to one window wide;
    per pixel it holds the input (C float32, and a temporary copy while it is
    normalised), the logit sums (K float32) and the part carried to the next
    band, the weight sum and the labels. The width is at least one window.
    """
    per_column = window[0] * (4 * (2 * channels + 2 * classes + 1) + 8)
    return int(max(budget // per_column - window[1], window[1]))


def _strips(grid: WindowGrid, width: int) -> list[tuple[int, int]]:
    """Column strips (x0, x1) about ``width`` wide whose edges are window starts."""
    starts = grid.starts_x
    step = starts[1] - starts[0] if len(starts) > 1 else grid.width
    cuts = list(starts[::max(1, width // max(step, 1))]) + [grid.width]
    return list(zip(cuts, cuts[1:]))


def _window(box: Box):
    from rasterio.windows import Window

    return Window(box[1], box[0], box[3] - box[1], box[2] - box[0])


def _move_down(blender: LogitBlender, top: int) -> None:
    """Make ``blender`` cover rows from ``top`` on, keeping the sums of the rows both bands cover."""
    y0, x0, y1, x1 = blender.region
    shift = top - y0
    for sums in (blender.logit_sum, blender.weight_sum):
        kept = sums[..., shift:, :].clone()
        sums.zero_()
        sums[..., :kept.shape[-2], :] = kept
    blender.region = (top, x0, top + (y1 - y0), x1)


def _read_rows(source, bands: list[int], box: Box, predictor: Predictor, path: str | Path) -> torch.Tensor:
    """(C, rows, cols) network input of ``box`` of the raster."""
    pixels = np.moveaxis(source.read(bands, window=_window(box)), 0, -1)
    if predictor.inputs.normalization is None and len(bands) == 3:
        pixels = pixels[:, :, ::-1]   # band order RGB -> BGR, as cv2 decodes for the config
    return predictor.inputs.to_tensor(pixels, str(path), device=predictor.device)


class _Outputs:
    """The label (and probability) GeoTIFFs, written block by block, and the class counts."""

    def __init__(self, source, predictor: Predictor, labels_path: Path,
                 probabilities_path: str | Path | None) -> None:
        import rasterio

        self.source, self.predictor = source, predictor
        self.counts = np.zeros(predictor.num_classes, dtype=np.int64)
        self.labels = rasterio.open(labels_path, 'w', **label_profile(source, predictor.num_classes))
        self.probabilities = None
        if probabilities_path is not None:
            Path(probabilities_path).parent.mkdir(parents=True, exist_ok=True)
            self.probabilities = rasterio.open(probabilities_path, 'w',
                                               **probability_profile(source, predictor.num_classes))

    def write(self, block: Box, logits: torch.Tensor) -> None:
        """Write the (K, rows, cols) blended logits of ``block`` as labels (and probabilities)."""
        predictor = self.predictor
        valid = self.source.dataset_mask(window=_window(block)) > 0
        labels = predictor.to_labels(logits)
        self.counts += class_counts(labels, predictor.num_classes, valid=valid)
        labels = np.where(valid, labels, self.labels.nodata).astype(self.labels.dtypes[0])
        self.labels.write(labels, 1, window=_window(block))
        if self.probabilities is not None:
            probabilities = predictor.probabilities(logits).numpy()
            probabilities[:, ~valid] = np.nan
            self.probabilities.write(probabilities.astype(np.float32), window=_window(block))

    def close(self, finished: bool) -> None:
        if finished:
            write_colour_table(self.labels, self.predictor.palette)
            if self.predictor.classes:
                self.labels.update_tags(1, classes=','.join(self.predictor.classes))
        self.labels.close()
        if self.probabilities is not None:
            self.probabilities.close()


def _predict_strip(source, bands: list[int], path: str | Path, predictor: Predictor, grid: WindowGrid,
                   strip: tuple[int, int], weight: torch.Tensor, outputs: _Outputs,
                   progress: WindowProgress | None) -> int:
    """Blend the windows of one column strip row by row and write its labels; return windows run."""
    win_h, win_w = grid.window
    starts_x = [sx for sx in grid.starts_x if sx < strip[1] and sx + win_w > strip[0]]
    left, right = starts_x[0], starts_x[-1] + win_w
    blender = LogitBlender((0, left, win_h, right), predictor.out_channels, weight)
    rows = list(grid.starts_y) + [grid.height]
    for top, next_top in zip(rows, rows[1:]):
        if top > blender.region[0]:
            _move_down(blender, top)
        network_input = _read_rows(source, bands, (top, left, top + win_h, right), predictor, path)
        predictor.prepare(network_input)
        boxes = [(top, sx, top + win_h, sx + win_w) for sx in starts_x]
        blend_region(network_input, boxes, predictor.logits_fn(), blender, origin=(top, left),
                     batch_size=predictor.batch_size, on_batch=progress.update if progress else None)
        done = (slice(0, next_top - top), slice(strip[0] - left, strip[1] - left))
        weights = blender.weight_sum[done]
        if bool((weights <= 0).any()):
            raise RuntimeError('some pixels of the strip were not covered by any window')
        outputs.write((top, strip[0], next_top, strip[1]), blender.logit_sum[(slice(None), *done)] / weights)
    return len(starts_x) * len(grid.starts_y)


def predict_raster(predictor: Predictor, path: str | Path, labels_path: str | Path, *,
                   probabilities_path: str | Path | None = None, strip_width: int | None = None,
                   show_progress: bool = True) -> RasterPrediction:
    """Segment a raster into a label GeoTIFF with the input's georeferencing.

    Args:
        predictor (Predictor): Model, input mapping and window settings.
        path (str | Path): Input raster (GeoTIFF or any GDAL format).
        labels_path (str | Path): Output label GeoTIFF (uint8, or uint16 above 254 classes).
        probabilities_path (str | Path, optional): Also write per-class probabilities here.
        strip_width (int, optional): Column strip width; default from :func:`strip_width_for`.
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
        if strip_width is not None and strip_width < 1:
            raise ValueError(f'{path}: strip_width={strip_width} is not a width in pixels. Fix: pass a '
                             'positive number (--strip-width), or leave it unset for strips of about 256 MiB')
        strips = _strips(grid, strip_width or strip_width_for(grid.window, channels, predictor.out_channels))
        planned = sum(len(grid.boxes((0, x0, grid.height, x1))) for x0, x1 in strips)
        progress = WindowProgress(planned, Path(path).name) if show_progress else None
        weight = window_weight(*grid.window, predictor.weight)
        outputs, finished, windows = _Outputs(source, predictor, labels_path, probabilities_path), False, 0
        try:
            for strip in strips:
                windows += _predict_strip(source, bands, path, predictor, grid, strip, weight, outputs,
                                          progress)
            finished = True
        finally:
            outputs.close(finished)
        if progress is not None:
            progress.close()
        return RasterPrediction(labels_path, Path(probabilities_path) if probabilities_path else None,
                                outputs.counts, pixel_area_m2(source), windows)
