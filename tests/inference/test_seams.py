"""Seams: blended windows reproduce whole-image output; equal weights or no overlap do not.

The squares model labels a bright square 'object' only when it sees the whole
square (small squares are floor). On a scene whose objects are all smaller than
half a window, one window always sees each object whole, so whole-image
inference is the reference. A window border that cuts an object makes that
window wrong near its border; Gaussian blending gives such pixels to the
window that sees them near its centre, equal weights do not.
"""
import numpy as np
import pytest

from psp_plugin.inference import Predictor
from psp_plugin.inference.sliding_window import WindowGrid, blend_logits

from .conftest import draw_scene

WINDOW = 64
BAND = 4          # pixels on each side of an interior window border


def _scene() -> tuple[np.ndarray, np.ndarray]:
    """A 192 x 256 scene (3 x 4 windows without overlap): 14-16 px objects, most astride window borders."""
    rng = np.random.default_rng(3)
    squares = []
    for top, left in [(56, 20), (120, 30), (20, 57), (90, 121), (150, 185), (58, 186), (122, 120),
                      (20, 150), (160, 60), (100, 230), (30, 225), (150, 100)]:
        squares.append((top + int(rng.integers(-2, 3)), left + int(rng.integers(-2, 3)),
                        14 + int(rng.integers(0, 3))))
    squares += [(40, 100, 4), (110, 85, 4), (140, 215, 5), (80, 170, 3)]     # small: floor
    return draw_scene(rng, 192, 256, squares)


def _border_band(grid: WindowGrid) -> np.ndarray:
    """(H, W) True within BAND pixels of a window border that lies inside the image."""
    band = np.zeros((grid.height, grid.width), dtype=bool)
    for y0, x0, y1, x1 in grid.boxes():
        for y in (y0, y1):
            if 0 < y < grid.height:
                band[max(y - BAND, 0):y + BAND, x0:x1] = True
        for x in (x0, x1):
            if 0 < x < grid.width:
                band[y0:y1, max(x - BAND, 0):x + BAND] = True
    return band


def _seam_report(predictor: Predictor, image: np.ndarray, *, overlap: float, weight: str) -> dict:
    network_input = predictor.inputs.to_tensor(image, 'scene')
    whole = predictor.to_labels(predictor.logits_fn()(network_input[None])[0])
    logits = blend_logits(network_input, predictor.logits_fn(), predictor.out_channels,
                          window=(WINDOW, WINDOW), overlap=overlap, weight=weight)
    differs = predictor.to_labels(logits) != whole
    band = _border_band(WindowGrid.cover(*image.shape[:2], (WINDOW, WINDOW), overlap))
    return dict(agreement=1 - differs.mean(), at_borders=differs[band].mean(),
                elsewhere=differs[~band].mean(), whole=whole)


def _passes(report: dict) -> bool:
    """The floor: >= 99.5 % agreement, and no more disagreement at window borders than elsewhere
    (within the 0.5 % of pixels the first half of the floor allows)."""
    return report['agreement'] >= 0.995 and report['at_borders'] <= report['elsewhere'] + 0.005


@pytest.fixture(scope='module')
def reports(squares_predictor):
    image, truth = _scene()
    found = {name: _seam_report(squares_predictor, image, overlap=overlap, weight=weight)
             for name, overlap, weight in [('gaussian 50%', 0.5, 'gaussian'), ('hann 50%', 0.5, 'hann'),
                                           ('equal 1/8', 0.125, 'constant'), ('no overlap', 0.0, 'constant')]}
    found['truth'] = truth
    return found


def test_the_model_sees_objects_whole(reports):
    """Sanity: whole-image output is a good segmentation, so it is a fair reference."""
    assert np.mean(reports['gaussian 50%']['whole'] == reports['truth']) > 0.98


@pytest.mark.parametrize('name', ['gaussian 50%', 'hann 50%'])
def test_smooth_blending_leaves_no_seams(reports, name):
    report = reports[name]
    assert _passes(report), report


@pytest.mark.parametrize('name', ['equal 1/8', 'no overlap'])
def test_equal_weights_with_small_or_no_overlap_leave_seams(reports, name):
    report = reports[name]
    assert not _passes(report), report
    assert report['at_borders'] > report['elsewhere']
