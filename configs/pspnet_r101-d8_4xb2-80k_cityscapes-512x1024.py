# PSPNet R101-D8, Cityscapes 512x1024, 80k iterations (MMSeg: 79.76 mIoU).
_base_ = './pspnet_r50-d8_4xb2-80k_cityscapes-512x1024.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnet101_v1c')))
