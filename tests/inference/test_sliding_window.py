"""The window grid, the window weights and the blending (no model needed)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from psp_plugin.inference.sliding_window import (
    LogitBlender,
    WindowGrid,
    blend_logits,
    blend_region,
    window_starts,
    window_weight,
)


@pytest.mark.parametrize('length,window,stride', [(97, 32, 16), (64, 64, 32), (65, 64, 32), (1000, 512, 256),
                                                  (31, 8, 3), (10, 3, 3)])
def test_window_starts_cover_the_axis_exactly(length, window, stride):
    starts = window_starts(length, window, stride)
    assert starts[0] == 0 and starts[-1] == length - window
    steps = np.diff(starts)
    assert (steps > 0).all() and (steps <= stride).all()
    covered = np.zeros(length, dtype=int)
    for start in starts:
        covered[start:start + window] += 1
    assert covered.min() >= 1


def test_window_larger_than_the_input_shrinks_to_it():
    grid = WindowGrid.cover(37, 200, (64, 64), 0.5)
    assert grid.window == (37, 64)
    assert grid.starts_y == (0, ) and grid.starts_x[-1] == 200 - 64
    assert all(box[2] == 37 for box in grid.boxes())


def test_boxes_of_a_region_are_the_windows_that_touch_it():
    grid = WindowGrid.cover(100, 130, (32, 40), 0.5)
    region = (30, 50, 61, 77)
    touching = grid.boxes(region)
    for y0, x0, y1, x1 in grid.boxes():
        overlaps = y0 < region[2] and y1 > region[0] and x0 < region[3] and x1 > region[1]
        assert overlaps == ((y0, x0, y1, x1) in touching)


@pytest.mark.parametrize('kind', ['gaussian', 'hann'])
def test_smooth_weights_peak_in_the_middle_and_stay_positive(kind):
    weight = window_weight(33, 48, kind)
    assert weight.shape == (33, 48) and weight.dtype == torch.float32
    assert float(weight.min()) > 0 and float(weight.max()) == pytest.approx(1.0, abs=1e-3)
    assert float(weight[16, 24]) > 0.9 and float(weight[0, 0]) < 0.01
    torch.testing.assert_close(weight, weight.flip(0).flip(1))
    assert (window_weight(8, 8, 'constant') == 1).all()
    with pytest.raises(ValueError, match='gaussian'):
        window_weight(8, 8, 'triangle')


def _context_logits(windows: torch.Tensor) -> torch.Tensor:
    """A context-dependent 'model': 9x9 mean filter with zero padding, 2 channels."""
    blurred = F.avg_pool2d(windows[:, :1], 9, stride=1, padding=4, count_include_pad=True)
    return torch.cat([blurred, -blurred], dim=1)


def test_pointwise_model_is_reproduced_exactly_with_any_weight():
    image = torch.rand(3, 71, 93)
    for kind in ('gaussian', 'hann', 'constant'):
        logits = blend_logits(image, lambda x: x * 2.0 + 1.0, 3, window=(32, 40), weight=kind)
        torch.testing.assert_close(logits, image * 2.0 + 1.0)


def test_blocks_with_margins_give_the_same_logits_as_one_pass():
    image = torch.rand(1, 90, 117)
    grid = WindowGrid.cover(90, 117, (32, 32), 0.5)
    weight = window_weight(32, 32, 'gaussian')
    whole = blend_logits(image, _context_logits, 2, window=(32, 32), overlap=0.5)
    assembled = torch.zeros_like(whole)
    for block in [(0, 0, 40, 50), (0, 50, 40, 117), (40, 0, 90, 50), (40, 50, 90, 117)]:
        boxes = grid.boxes(block)
        area = (min(b[0] for b in boxes), min(b[1] for b in boxes),
                max(b[2] for b in boxes), max(b[3] for b in boxes))
        blender = LogitBlender(area, 2, weight)
        crop = image[:, area[0]:area[2], area[1]:area[3]]
        blend_region(crop, boxes, _context_logits, blender, origin=area[:2], batch_size=3)
        result = blender.result()
        assembled[:, block[0]:block[2], block[1]:block[3]] = \
            result[:, block[0] - area[0]:block[2] - area[0], block[1] - area[1]:block[3] - area[1]]
    torch.testing.assert_close(assembled, whole, rtol=0, atol=0)


def test_batches_do_not_change_the_result():
    image = torch.rand(1, 77, 66)
    one = blend_logits(image, _context_logits, 2, window=(24, 24), batch_size=1)
    many = blend_logits(image, _context_logits, 2, window=(24, 24), batch_size=7)
    torch.testing.assert_close(one, many)


def test_bad_overlap_is_refused():
    with pytest.raises(ValueError, match='overlap'):
        WindowGrid.cover(10, 10, (4, 4), 1.0)
