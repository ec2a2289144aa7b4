"""A hook that converts the model to the fast inference path before testing.

Add it to a config (or with ``--cfg-options``) and ``mim test`` runs int8/bf16::

    custom_imports = dict(imports=['psp_plugin', 'psp_plugin.deploy'],
                          allow_failed_imports=False)
    custom_hooks = [dict(type='FastInferenceHook', precision='auto',
                         int8_file='work_dirs/pspnet.int8.pth')]
"""
from pathlib import Path
from typing import Optional, Union

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS

from .convert import optimize_for_inference
from .int8 import apply_int8_file, save_int8_model
from .precision import check_precision_name


@HOOKS.register_module()
class FastInferenceHook(Hook):
    """Convert the runner's segmentor with :func:`optimize_for_inference` before testing.

    It acts in ``before_test``, after the checkpoint is loaded, and never during
    training or validation.

    Args:
        precision (str): 'fp32', 'bf16', 'fp16', 'int8' or 'auto'. Default: 'auto'.
        calib_images (str, optional): Folder of int8 calibration images;
            default: the config's validation set.
        num_calib_images (int): Calibration images to use. Default: 16.
        int8_file (str, optional): If it exists, the calibrated int8 model is
            loaded from it (no calibration); if not and int8 is chosen, the
            calibrated model is saved there for next time.
        channels_last (bool): Run NHWC. Default: True.
    """

    priority = 'LOW'

    def __init__(self, precision: str = 'auto', calib_images: Optional[str] = None,
                 num_calib_images: int = 16, int8_file: Optional[Union[str, Path]] = None,
                 channels_last: bool = True) -> None:
        self.precision = check_precision_name(precision)
        self.calib_images = calib_images
        self.num_calib_images = num_calib_images
        self.int8_file = Path(int8_file) if int8_file else None
        self.channels_last = channels_last

    def before_test(self, runner) -> None:
        """Convert ``runner.model`` in place (it is unwrapped first if wrapped)."""
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if getattr(model, 'cfg', None) is None:
            model.cfg = runner.cfg
        if self.int8_file is not None and self.int8_file.is_file() and self.precision in (
                'int8', 'auto') and next(model.parameters()).device.type == 'cpu':
            apply_int8_file(model, self.int8_file)
            print_log(f'FastInferenceHook: loaded int8 model from {self.int8_file}',
                      logger='current')
            return
        optimize_for_inference(model, precision=self.precision, calib_images=self.calib_images,
                               num_calib_images=self.num_calib_images,
                               channels_last=self.channels_last)
        if self.int8_file is not None and model.inference_precision == 'int8':
            save_int8_model(model, self.int8_file)
            print_log(f'FastInferenceHook: saved the calibrated int8 model to {self.int8_file}',
                      logger='current')
