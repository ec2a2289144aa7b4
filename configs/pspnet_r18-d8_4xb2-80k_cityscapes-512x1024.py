# PSPNet R18-D8, Cityscapes 512x1024, 80k iterations (MMSeg: 74.87 mIoU).
_base_ = './pspnet_r50-d8_4xb2-80k_cityscapes-512x1024.py'
model = dict(
    backbone=dict(
        depth=18,
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnet18_v1c')),
    decode_head=dict(in_channels=512, channels=128),
    auxiliary_head=dict(in_channels=256, channels=64))
