# Test the flagship PSPNet R50-D8 (Cityscapes 512x1024) through the fast
# inference path: FastInferenceHook converts the loaded model before testing
# (BatchNorm folded, channels_last, precision 'auto': int8 on CPUs without
# AMX, the faster of bf16/int8 on AMX CPUs, fp16 on CUDA). int8 is calibrated
# on 16 validation images once and saved next to the work dir; later runs
# load it without calibrating.
#   mim test mmsegmentation configs/deploy/pspnet_r50-d8_int8-test.py \
#       --checkpoint work_dirs/pspnet_r50/iter_40000.pth --work-dir work_dirs/pspnet_r50_int8
# The same on any config: --cfg-options \
#   custom_imports.imports="['psp_plugin','psp_plugin.deploy']" \
#   custom_hooks="[dict(type='FastInferenceHook',precision='int8')]"
_base_ = ['../pspnet_r50.py']
custom_imports = dict(
    imports=['psp_plugin', 'psp_plugin.deploy'], allow_failed_imports=False)
model = dict(
    backbone=dict(norm_cfg=dict(type='BN', requires_grad=True)),
    decode_head=dict(norm_cfg=dict(type='BN', requires_grad=True)),
    auxiliary_head=dict(norm_cfg=dict(type='BN', requires_grad=True)))
custom_hooks = [
    dict(
        type='FastInferenceHook',
        precision='auto',
        num_calib_images=16,
        int8_file='work_dirs/pspnet_r50-d8_int8/calibrated.int8.pth')
]
