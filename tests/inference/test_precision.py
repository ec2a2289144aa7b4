"""``precision=``: predict runs the model converted by psp_plugin.deploy.optimize_for_inference."""
import numpy as np
import pytest
import torch

from psp_plugin.inference import Predictor

from .conftest import draw_scene, random_squares


@pytest.mark.parametrize('precision,agreement', [('fp32', 0.999), ('int8', 0.97)])
def test_converted_model_predicts_like_the_float_one(squares_model_files, precision, agreement,
                                                     single_thread):
    if precision == 'int8' and 'x86' not in torch.backends.quantized.supported_engines:
        pytest.skip("torch has no x86 quantized engine here")
    rng = np.random.default_rng(11)
    image, _ = draw_scene(rng, 96, 128, random_squares(rng, 96, 128, big=3, small=3))
    plain = Predictor.from_files(*squares_model_files, window=(64, 64))
    fast = Predictor.from_files(*squares_model_files, window=(64, 64), precision=precision)
    tensor = plain.inputs.to_tensor(image, 'scene')
    expected = plain.to_labels(plain.logits(tensor))
    found = fast.to_labels(fast.logits(tensor))       # int8 calibrates on windows of this input
    assert fast.model.inference_precision == precision
    assert np.mean(found == expected) >= agreement
