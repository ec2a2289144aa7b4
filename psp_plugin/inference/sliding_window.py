"""Overlapping windows whose logits are blended with a smooth weight.

A window grid covers an ``H x W`` input exactly: the first window starts at 0,
the last one ends at the input's edge, and the starts in between are spread
evenly, so the step never exceeds the requested stride and no window hangs
over the edge (odd sizes included). A window larger than the input shrinks to
the input along that axis, which makes that axis a single whole-input pass.

Each window's logits are multiplied by a weight that is largest at the window's
centre and small at its borders (Gaussian or Hann), summed, and divided by the
summed weights. A pixel near one window's border is therefore decided by the
window that sees it near its centre, where the context is complete; equal
weights (``'constant'``, MMSeg's ``slide`` mode) give every window the same say
and leave seams along window borders.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

#: Window weights: smooth ones for blending, 'constant' for equal-weight averaging.
WINDOW_WEIGHTS = ('gaussian', 'hann', 'constant')
#: (y0, x0, y1, x1): rows y0..y1-1 and columns x0..x1-1.
Box = tuple[int, int, int, int]
#: (N, C, h, w) normalised images -> (N, K, h, w) logits.
LogitsFn = Callable[[Tensor], Tensor]
_MIN_WEIGHT = 1e-6


def window_starts(length: int, window: int, stride: int) -> list[int]:
    """First index of each window along one axis, covering ``0..length`` exactly.

    Args:
        length (int): Input size along the axis.
        window (int): Window size (already at most ``length``).
        stride (int): Largest allowed step between window starts.

    Returns:
        list[int]: Increasing starts; the first is 0 and the last is ``length - window``.
    """
    if length < 1 or window < 1 or stride < 1:
        raise ValueError(f'length={length}, window={window} and stride={stride} must all be >= 1')
    if window >= length:
        return [0]
    count = math.ceil((length - window) / stride) + 1
    span = length - window
    return [round(i * span / (count - 1)) for i in range(count)]


def stride_for_overlap(window: int, overlap: float) -> int:
    """The step between windows of size ``window`` that overlap by the fraction ``overlap``."""
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f'overlap={overlap} must be in [0, 1); e.g. --overlap 0.5 shares half a window')
    return max(1, round(window * (1.0 - overlap)))


@dataclass(frozen=True)
class WindowGrid:
    """The windows that cover an ``height x width`` input.

    Args:
        height (int): Input rows.
        width (int): Input columns.
        window (tuple[int, int]): (h, w) of every window, at most the input size.
        starts_y (tuple[int, ...]): Window start rows.
        starts_x (tuple[int, ...]): Window start columns.
    """

    height: int
    width: int
    window: tuple[int, int]
    starts_y: tuple[int, ...]
    starts_x: tuple[int, ...]

    @classmethod
    def cover(cls, height: int, width: int, window: Sequence[int], overlap: float = 0.5,
              stride: Sequence[int] | None = None) -> WindowGrid:
        """Windows of size ``window`` (shrunk to the input) overlapping by ``overlap``.

        ``stride`` (h, w), when given, replaces ``overlap`` as the largest step.
        """
        win_h, win_w = min(int(window[0]), height), min(int(window[1]), width)
        if stride is None:
            stride = (stride_for_overlap(win_h, overlap), stride_for_overlap(win_w, overlap))
        return cls(height, width, (win_h, win_w),
                   tuple(window_starts(height, win_h, min(int(stride[0]), win_h))),
                   tuple(window_starts(width, win_w, min(int(stride[1]), win_w))))

    def __len__(self) -> int:
        return len(self.starts_y) * len(self.starts_x)

    def boxes(self, region: Box | None = None) -> list[Box]:
        """All windows, or those that overlap ``region`` (y0, x0, y1, x1), row by row."""
        y0, x0, y1, x1 = region or (0, 0, self.height, self.width)
        win_h, win_w = self.window
        return [(sy, sx, sy + win_h, sx + win_w)
                for sy in self.starts_y if sy < y1 and sy + win_h > y0
                for sx in self.starts_x if sx < x1 and sx + win_w > x0]


def window_weight(height: int, width: int, kind: str = 'gaussian', *,
                  sigma_scale: float = 0.125) -> Tensor:
    """(height, width) float32 weight, 1 at the centre, positive everywhere.

    Args:
        height (int): Window rows.
        width (int): Window columns.
        kind (str): 'gaussian' (sigma = ``sigma_scale`` x size, as nnU-Net),
            'hann' (sin^2, sampled at pixel centres) or 'constant' (all ones).
        sigma_scale (float): Gaussian sigma as a fraction of the size. Defaults to 1/8.

    Returns:
        Tensor: (height, width) float32 weights in (0, 1].
    """
    if kind not in WINDOW_WEIGHTS:
        raise ValueError(f'window weight {kind!r} is unknown; use one of {WINDOW_WEIGHTS}')

    def profile(size: int) -> Tensor:
        centres = torch.arange(size, dtype=torch.float64) + 0.5
        if kind == 'gaussian':
            values = torch.exp(-0.5 * ((centres - size / 2) / (sigma_scale * size)) ** 2)
        elif kind == 'hann':
            values = torch.sin(math.pi * centres / size) ** 2
        else:
            values = torch.ones(size, dtype=torch.float64)
        return values / values.max()

    weight = profile(height)[:, None] * profile(width)[None, :]
    return weight.clamp_min(_MIN_WEIGHT).to(torch.float32)


class LogitBlender:
    """Sums weighted window logits over one region and divides by the summed weights.

    Args:
        region (Box): (y0, x0, y1, x1) of the accumulated area, in input coordinates.
        num_classes (int): K, logit channels.
        weight (Tensor): (h, w) weight of one window.
    """

    def __init__(self, region: Box, num_classes: int, weight: Tensor) -> None:
        self.region = region
        rows, cols = region[2] - region[0], region[3] - region[1]
        self.logit_sum = torch.zeros(num_classes, rows, cols, dtype=torch.float32)
        self.weight_sum = torch.zeros(rows, cols, dtype=torch.float32)
        self.weight = weight.cpu()

    def add(self, box: Box, logits: Tensor) -> None:
        """Add one window's (K, h, w) logits at ``box`` (input coordinates)."""
        y0, x0 = box[0] - self.region[0], box[1] - self.region[1]
        y1, x1 = y0 + logits.shape[-2], x0 + logits.shape[-1]
        self.logit_sum[:, y0:y1, x0:x1].add_(logits.float().cpu() * self.weight)
        self.weight_sum[y0:y1, x0:x1].add_(self.weight)

    def result(self) -> Tensor:
        """(K, rows, cols) blended logits of the region (divides the sums in place; call once)."""
        if bool((self.weight_sum <= 0).any()):
            raise RuntimeError('some pixels of the region were not covered by any window')
        return self.logit_sum.div_(self.weight_sum)


def batches(items: Sequence[Box], size: int) -> Iterator[list[Box]]:
    """``items`` in consecutive lists of at most ``size``."""
    for start in range(0, len(items), max(1, size)):
        yield list(items[start:start + size])


@torch.no_grad()
def blend_region(image: Tensor, boxes: Sequence[Box], logits_fn: LogitsFn, blender: LogitBlender, *,
                 origin: tuple[int, int] = (0, 0), batch_size: int = 4,
                 on_batch: Callable[[int], None] | None = None) -> None:
    """Run ``logits_fn`` on the windows ``boxes`` of ``image`` and add them to ``blender``.

    Args:
        image (Tensor): (C, rows, cols) normalised pixels of an area that contains every box.
        boxes (Sequence[Box]): Windows, in input coordinates; all of the same size.
        logits_fn (LogitsFn): (N, C, h, w) -> (N, K, h, w).
        blender (LogitBlender): Receives the logits.
        origin (tuple[int, int]): Input coordinates of ``image[:, 0, 0]``.
        batch_size (int): Windows per ``logits_fn`` call.
        on_batch (Callable, optional): Called with the number of windows after each batch.
    """
    for group in batches(boxes, batch_size):
        crops = [image[:, y0 - origin[0]:y1 - origin[0], x0 - origin[1]:x1 - origin[1]]
                 for y0, x0, y1, x1 in group]
        logits = logits_fn(torch.stack(crops))
        for box, window_logits in zip(group, logits):
            blender.add(box, window_logits)
        if on_batch is not None:
            on_batch(len(group))


def blend_logits(image: Tensor, logits_fn: LogitsFn, num_classes: int, *, window: Sequence[int],
                 overlap: float = 0.5, stride: Sequence[int] | None = None, weight: str = 'gaussian',
                 batch_size: int = 4,
                 on_batch: Callable[[int], None] | None = None) -> Tensor:
    """Blended sliding-window logits of a whole image held in memory.

    Args:
        image (Tensor): (C, H, W) normalised image.
        logits_fn (LogitsFn): (N, C, h, w) -> (N, K, h, w), e.g. :func:`segmentor_logits_fn`.
        num_classes (int): K.
        window (Sequence[int]): (h, w); shrunk to the image where larger.
        overlap (float): Fraction of a window shared with its neighbour. Defaults to 0.5.
        stride (Sequence[int], optional): (h, w) largest step; replaces ``overlap``.
        weight (str): One of :data:`WINDOW_WEIGHTS`. Defaults to 'gaussian'.
        batch_size (int): Windows per forward pass. Defaults to 4.
        on_batch (Callable, optional): Progress callback, called with windows done.

    Returns:
        Tensor: (K, H, W) float32 logits on the CPU.
    """
    height, width = image.shape[-2:]
    grid = WindowGrid.cover(height, width, window, overlap, stride)
    blender = LogitBlender((0, 0, height, width), num_classes, window_weight(*grid.window, weight))
    blend_region(image, grid.boxes(), logits_fn, blender, batch_size=batch_size, on_batch=on_batch)
    return blender.result()


def segmentor_logits_fn(segmentor: torch.nn.Module) -> LogitsFn:
    """(N, C, h, w) normalised windows -> (N, K, h, w) logits through ``segmentor.encode_decode``.

    Works for any MMSeg ``EncoderDecoder``, including one converted by
    ``psp_plugin.deploy.optimize_for_inference``.
    """

    def run(windows: Tensor) -> Tensor:
        shape = tuple(windows.shape[-2:])
        metas = [dict(img_shape=shape, ori_shape=shape, pad_shape=shape)] * windows.shape[0]
        return segmentor.encode_decode(windows, metas)

    return run

