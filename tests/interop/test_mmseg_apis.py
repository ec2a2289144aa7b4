"""MMSeg's own inference APIs with a plugin config and checkpoint."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from psp_plugin.testing.tiny_pspnet import CLASSES, save_config_and_checkpoint


@pytest.fixture(scope='module')
def model_files(tmp_path_factory):
    return save_config_and_checkpoint(tmp_path_factory.mktemp('apis'))


def test_inferencer_and_inference_model_agree(model_files):
    from mmseg.apis import MMSegInferencer, inference_model, init_model

    config_file, checkpoint_file = model_files
    image = np.random.default_rng(0).integers(0, 256, (45, 61, 3), dtype=np.uint8)
    model = init_model(str(config_file), str(checkpoint_file), device='cpu')
    assert model.dataset_meta['classes'] == CLASSES
    expected = inference_model(model, image).pred_sem_seg.data[0].numpy()
    assert expected.shape == (45, 61) and len(np.unique(expected)) > 1

    inferencer = MMSegInferencer(model=str(config_file), weights=str(checkpoint_file), device='cpu')
    predictions = inferencer(image)['predictions']
    np.testing.assert_array_equal(predictions, expected)


def test_custom_imports_alone_registers_the_plugin(model_files, tmp_path):
    """A fresh interpreter that never imports psp_plugin itself: the config's custom_imports do."""
    config_file, checkpoint_file = model_files
    image = tmp_path / 'image.npy'
    np.save(image, np.full((32, 48, 3), 120, dtype=np.uint8))
    script = (
        'import sys, numpy as np\n'
        'from mmseg.apis import inference_model, init_model\n'
        'assert "psp_plugin" not in sys.modules\n'
        f'model = init_model({str(config_file)!r}, {str(checkpoint_file)!r}, device="cpu")\n'
        'assert "psp_plugin" in sys.modules\n'
        f'result = inference_model(model, np.load({str(image)!r}))\n'
        'print(type(model.backbone).__name__, tuple(result.pred_sem_seg.shape))\n')
    done = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                          cwd=Path(__file__).parents[2], timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == 'DilatedResNet (32, 48)'
