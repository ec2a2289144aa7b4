# MMDetection 3.x RetinaNet whose backbone is the plugin's DilatedResNet.
# The detector keeps MMDet's default scope; the backbone is addressed by its
# scoped name 'mmseg.DilatedResNet', which MMEngine resolves in MMSeg's
# registry after custom_imports has imported psp_plugin.
# Detection wants strides 8/16/32 for the FPN levels, so the backbone runs at
# output_stride=32 (no dilation); OS8 suits dense segmentation, not anchors.
_base_ = 'mmdet::retinanet/retinanet_r18_fpn_1x_coco.py'

custom_imports = dict(imports=['psp_plugin'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmseg.DilatedResNet',
        depth=18,
        output_stride=32,
        out_indices=(0, 1, 2, 3),
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        frozen_stages=1),
    neck=dict(in_channels=[64, 128, 256, 512]))
