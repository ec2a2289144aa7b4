"""Each fast mode against the float model: same API, same predictions."""
import pytest
import torch

from psp_plugin.deploy import FastInferenceHead, optimize_for_inference
from psp_plugin.testing.small_toy_model import preprocessed_images


def _logits(segmentor, images):
    with torch.no_grad():
        return segmentor._forward(images)


def _pixel_agreement(reference, candidate) -> float:
    return (reference.argmax(1) == candidate.argmax(1)).float().mean().item()


@pytest.fixture
def val_images(trained_segmentor, small_toy_cfg):
    return preprocessed_images(trained_segmentor, small_toy_cfg, 'val')


def test_channels_last_equals_contiguous(trained_segmentor, val_images):
    reference = _logits(trained_segmentor, val_images)
    contiguous = optimize_for_inference(trained_segmentor, precision='fp32', channels_last=False)
    expected = _logits(contiguous, val_images)
    contiguous_core = contiguous.decode_head.logits_core
    contiguous_core.channels_last = True
    contiguous_core.core.to(memory_format=torch.channels_last)
    actual = _logits(contiguous, val_images)
    assert torch.allclose(actual, expected, atol=1e-5, rtol=1e-5)
    assert torch.allclose(expected, reference, atol=1e-4, rtol=1e-4)


def test_fp32_fast_path_keeps_the_predict_api(trained_segmentor, val_images):
    expected = trained_segmentor.predict(val_images)
    fast = optimize_for_inference(trained_segmentor, precision='fp32')
    actual = fast.predict(val_images)
    assert isinstance(fast.decode_head, FastInferenceHead)
    assert fast.inference_precision == 'fp32'
    assert fast.auxiliary_head is None
    for before, after in zip(expected, actual):
        assert after.pred_sem_seg.data.shape == (1, 64, 64)
        assert torch.equal(before.pred_sem_seg.data, after.pred_sem_seg.data)
    with pytest.raises(RuntimeError, match='cannot be trained'):
        fast.decode_head.loss()
    with pytest.raises(ValueError, match='already converted'):
        optimize_for_inference(fast, precision='fp32')


def test_bf16_agrees_with_fp32(trained_segmentor, val_images):
    reference = _logits(trained_segmentor, val_images)
    fast = optimize_for_inference(trained_segmentor, precision='bf16')
    actual = _logits(fast, val_images)
    assert actual.dtype == torch.float32
    assert _pixel_agreement(reference, actual) >= 0.98
    assert (actual - reference).abs().mean() < 0.05 * reference.abs().mean()


def test_int8_agrees_with_fp32_on_a_trained_model(trained_segmentor, small_toy_cfg):
    train_images = preprocessed_images(trained_segmentor, small_toy_cfg, 'train')
    val_images = preprocessed_images(trained_segmentor, small_toy_cfg, 'val')
    reference = _logits(trained_segmentor, torch.cat([train_images, val_images]))
    fast = optimize_for_inference(trained_segmentor, precision='int8', calib_images=None)
    actual = _logits(fast, torch.cat([train_images, val_images]))
    assert fast.inference_precision == 'int8'
    assert any('quantized' in type(m).__module__ for m in fast.modules())
    assert _pixel_agreement(reference, actual) >= 0.98


def test_fp16_on_cpu_falls_back_with_a_message(trained_segmentor, val_images):
    reference = _logits(trained_segmentor, val_images)
    with pytest.warns(UserWarning, match="precision='fp16' is not supported here"):
        fast = optimize_for_inference(trained_segmentor, precision='fp16')
    assert fast.inference_precision == 'fp32'
    assert torch.allclose(_logits(fast, val_images), reference, atol=1e-4, rtol=1e-4)


class _BranchOnValuesBackbone(torch.nn.Module):
    """A backbone torch.fx cannot trace: its forward branches on tensor values."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.norm = torch.nn.BatchNorm2d(4)

    def forward(self, x):
        features = self.norm(self.conv(x))
        return (features.relu() if features.mean() > 0 else features, )


class _FirstMapClassifier(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv_seg = torch.nn.Conv2d(4, 2, 1)

    def forward(self, inputs):
        return self.conv_seg(inputs[0])


@pytest.mark.parametrize('precision', ['fp32', 'int8'])
def test_untraceable_model_runs_eagerly_with_a_warning(precision):
    from psp_plugin.deploy import SegmentationLogitsCore, build_fast_core
    core = SegmentationLogitsCore(_BranchOnValuesBackbone(), _FirstMapClassifier()).eval()
    image = torch.rand(1, 3, 16, 16)
    with pytest.warns(UserWarning, match='cannot be traced by torch.fx|could not trace'):
        fast = build_fast_core(core, precision, calibration=[image])
    assert fast.precision == 'fp32'
    with torch.no_grad():
        assert torch.allclose(fast(image), core(image), atol=1e-6)


def test_auto_picks_what_this_cpu_runs_best(trained_segmentor, tmp_path, monkeypatch):
    from psp_plugin.deploy import read_cpu_features
    monkeypatch.setenv('PSP_PLUGIN_CACHE_DIR', str(tmp_path))
    features = read_cpu_features()
    fast = optimize_for_inference(trained_segmentor, precision='auto', num_calib_images=2)
    if features.has_amx:
        expected = {'bf16', 'int8'}
    elif features.has_vnni and features.has_x86_int8_engine:
        expected = {'int8'}
    else:
        expected = {'fp32', 'bf16'}
    assert fast.inference_precision in expected
    assert fast.decode_head.logits_core.precision == fast.inference_precision
