"""``BlendedEncoderDecoder``: the 'blend' test mode gives MMSeg's test path predict's logits."""
import numpy as np
import pytest
from mmengine import Config

from .conftest import draw_scene, random_squares


def _blend_config(config_file, tmp_path, **test_cfg):
    config = Config.fromfile(str(config_file))
    config.custom_imports = dict(imports=['psp_plugin', 'psp_plugin.inference'], allow_failed_imports=False)
    config.model.type = 'BlendedEncoderDecoder'
    config.model.test_cfg = dict(mode='blend', crop_size=(64, 64), overlap=0.5, window='gaussian', **test_cfg)
    path = tmp_path / 'blend.py'
    config.dump(str(path))
    return path


def test_mmseg_test_step_blends_like_predict(tmp_path, squares_model_files, squares_predictor, single_thread):
    from mmseg.apis import inference_model, init_model

    rng = np.random.default_rng(5)
    image, _ = draw_scene(rng, 130, 150, random_squares(rng, 130, 150, big=4, small=4))
    model = init_model(str(_blend_config(squares_model_files[0], tmp_path)), str(squares_model_files[1]),
                       device='cpu')
    assert type(model).__name__ == 'BlendedEncoderDecoder'
    result = inference_model(model, image)          # the runner's test_step, as `mim test` calls it
    logits = squares_predictor.logits(squares_predictor.inputs.to_tensor(image, 'scene'))
    np.testing.assert_allclose(result.seg_logits.data.numpy(), logits.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(result.pred_sem_seg.data[0].numpy(), squares_predictor.to_labels(logits))


def test_whole_mode_is_unchanged_and_bad_settings_are_named(tmp_path, squares_model_files, single_thread):
    from mmseg.apis import inference_model, init_model

    image = np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    model = init_model(str(_blend_config(squares_model_files[0], tmp_path)), str(squares_model_files[1]),
                       device='cpu')
    plain = init_model(str(squares_model_files[0]), str(squares_model_files[1]), device='cpu')
    model.test_cfg.mode = 'whole'
    np.testing.assert_array_equal(inference_model(model, image).seg_logits.data.numpy(),
                                  inference_model(plain, image).seg_logits.data.numpy())
    model.test_cfg.mode = 'blend'
    model.test_cfg.window = 'box'
    with pytest.raises(ValueError, match=r"model\.test_cfg\.window='box'"):
        inference_model(model, image)
