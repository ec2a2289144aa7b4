# PSPNet R101-D8, Cityscapes 512x1024, 40k iterations (MMSeg: 78.34 mIoU).
_base_ = './pspnet_r50.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnet101_v1c')))
