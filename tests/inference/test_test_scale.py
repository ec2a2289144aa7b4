"""``psp_meta.test_scale`` (chosen on val by ``fit``) is applied by predict as MMSeg's test pipeline does."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from psp_plugin.inference import Predictor
from psp_plugin.inference.model_loading import load_segmentor
from psp_plugin.inference.predictor import scaled_size
from psp_plugin.inference.sliding_window import segmentor_logits_fn


def _predictor(files, scale, **options) -> Predictor:
    model = load_segmentor(*files)
    model.cfg.psp_meta = dict(model.cfg.psp_meta, test_scale=scale)
    return Predictor(model, **options)


def test_whole_input_is_resized_for_the_network_and_its_logits_back(one_channel_model_files, single_thread):
    predictor = _predictor(one_channel_model_files, 2.0, window=(128, 128))
    assert predictor.window == (64, 64)  # input pixels; the network sees 128 x 128
    pixels = np.random.default_rng(0).normal(400, 300, (37, 50)).astype(np.float32)
    network_input = predictor.inputs.to_tensor(pixels, 'slice')
    logits = predictor.logits(network_input)  # smaller than a window: one window, no blending
    upsampled = F.interpolate(network_input[None], size=(74, 100), mode='bilinear', align_corners=False)
    with torch.no_grad():
        expected = F.interpolate(segmentor_logits_fn(predictor.model)(upsampled), size=(37, 50),
                                 mode='bilinear', align_corners=False)[0]
    assert logits.shape == (3, 37, 50)
    torch.testing.assert_close(logits, expected)
    plain = _predictor(one_channel_model_files, 1.0, window=(128, 128))
    assert plain.window == (128, 128)
    assert not torch.allclose(plain.logits(network_input), logits)  # the scale changes the answer


@pytest.mark.parametrize('size,scale,expected', [((37, 50), 2.0, (74, 100)), ((33, 45), 1.5, (50, 68)),
                                                 ((3, 1), 0.25, (1, 1))])
def test_sizes_round_as_mmcv_resize(size, scale, expected):
    assert scaled_size(*size, scale) == expected


def test_a_non_positive_test_scale_is_refused(one_channel_model_files):
    with pytest.raises(ValueError, match=r'psp_meta.test_scale=-1.0 .* Fix:'):
        _predictor(one_channel_model_files, -1.0)
