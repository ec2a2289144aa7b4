# MMSeg's default runtime (logging, SegLocalVisualizer, SegTTAModel, ...) with
# the engine settings every psp_plugin recipe shares: cuDNN autotuning and a
# learning rate that --cfg-options auto_scale_lr.enable=True scales linearly
# from the recipe's total batch size.
_base_ = ['mmseg::_base_/default_runtime.py', './psp_runtime.py']
env_cfg = dict(cudnn_benchmark=True)
auto_scale_lr = dict(enable=False, base_batch_size=16)
