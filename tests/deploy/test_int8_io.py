"""int8: calibration sources, safe save/load, and the config hook for mim test."""
import copy
from types import SimpleNamespace

import pytest
import torch

from psp_plugin.deploy import (
    FastInferenceHook,
    load_calibration_images,
    load_int8_model,
    optimize_for_inference,
    save_int8_model,
)
from psp_plugin.engine.checkpoint.safe_loading import safe_torch_load
from psp_plugin.testing.small_toy_model import build_small_segmentor, preprocessed_images


def _logits(segmentor, images):
    with torch.no_grad():
        return segmentor._forward(images)


@pytest.fixture
def int8_segmentor(trained_segmentor):
    return optimize_for_inference(trained_segmentor, precision='int8', num_calib_images=4)


def test_saved_int8_model_reloads_with_identical_outputs(int8_segmentor, small_toy_cfg, tmp_path):
    images = preprocessed_images(int8_segmentor, small_toy_cfg, 'val')
    path = save_int8_model(int8_segmentor, tmp_path / 'small.int8.pth')
    payload = safe_torch_load(str(path))
    reloaded = load_int8_model(path)
    assert payload['format'] == 'psp_plugin-int8-segmentor'
    assert reloaded.inference_precision == 'int8'
    assert torch.equal(_logits(reloaded, images), _logits(int8_segmentor, images))


def test_int8_file_with_another_architecture_is_refused(int8_segmentor, small_toy_cfg, tmp_path):
    path = save_int8_model(int8_segmentor, tmp_path / 'small.int8.pth')
    wider = copy.deepcopy(small_toy_cfg)
    wider.model.decode_head.channels = 48
    with pytest.raises(RuntimeError, match='does not match the model built from the config'):
        load_int8_model(path, config=wider)


def test_training_checkpoint_is_not_an_int8_file(trained_segmentor, tmp_path):
    path = tmp_path / 'plain.pth'
    torch.save(dict(state_dict=trained_segmentor.state_dict()), path)
    with pytest.raises(ValueError, match='is not an int8 segmentor'):
        load_int8_model(path)


def test_calibration_images_from_a_folder_match_the_test_preprocessing(
        trained_segmentor, small_toy_cfg, toy_scenes_root):
    from_folder = load_calibration_images(trained_segmentor, toy_scenes_root / 'img_dir' / 'val',
                                          num_images=4)
    from_val_set = load_calibration_images(trained_segmentor, None, num_images=4)
    assert len(from_folder) == len(from_val_set) == 4
    assert all(image.shape == (1, 3, 64, 64) for image in from_folder)
    assert torch.equal(torch.cat(from_folder), torch.cat(from_val_set))


def test_empty_calibration_folder_is_a_clear_error(trained_segmentor, tmp_path):
    with pytest.raises(ValueError, match='No images .* to calibrate int8'):
        optimize_for_inference(trained_segmentor, precision='int8', calib_images=tmp_path)


def test_hook_converts_before_test_and_reuses_its_int8_file(
        trained_state, small_toy_cfg, tmp_path):
    int8_file = tmp_path / 'hook.int8.pth'
    hook = FastInferenceHook(precision='int8', num_calib_images=2, int8_file=str(int8_file))
    outputs = []
    for _ in range(2):
        segmentor = build_small_segmentor(small_toy_cfg)
        segmentor.load_state_dict(trained_state)
        runner = SimpleNamespace(model=segmentor, cfg=small_toy_cfg)
        hook.before_test(runner)
        assert segmentor.inference_precision == 'int8'
        assert int8_file.is_file()
        images = preprocessed_images(segmentor, small_toy_cfg, 'val')
        outputs.append(_logits(segmentor, images))
    assert torch.equal(outputs[0], outputs[1])


def test_mim_test_runner_uses_the_fast_path(trained_state, small_toy_cfg, tmp_path):
    from mmengine.runner import Runner
    checkpoint = tmp_path / 'trained.pth'
    torch.save(dict(state_dict=trained_state, meta=dict()), checkpoint)
    metrics = {}
    for precision in ('fp32-eager', 'int8'):
        cfg = copy.deepcopy(small_toy_cfg)
        cfg.update(work_dir=str(tmp_path / precision), load_from=str(checkpoint),
                   experiment_name=f'deploy-{precision}-{tmp_path.name}',
                   custom_hooks=[] if precision == 'fp32-eager' else [
                       dict(type='FastInferenceHook', precision='int8', num_calib_images=4)])
        cfg.default_hooks.pop('visualization', None)
        runner = Runner.from_cfg(cfg)
        metrics[precision] = runner.test()
        assert getattr(runner.model, 'inference_precision', 'fp32-eager') == precision
    assert metrics['fp32-eager']['mIoU'] > 30, metrics
    assert abs(metrics['int8']['mIoU'] - metrics['fp32-eager']['mIoU']) <= 2.0, metrics
