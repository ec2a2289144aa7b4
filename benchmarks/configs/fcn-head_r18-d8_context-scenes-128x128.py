# The plain-FCN twin of ppm-head_r18-d8_context-scenes-128x128.py: the same
# backbone, data, schedule and seed; only the decode head differs. It is the
# plugin's AuxFCNHead used as decode head: two 3x3 ConvModules on stage 4 and a
# 1x1 classifier, no pooling and no input concatenation, i.e. the dilated-FCN
# baseline PSPNet is compared against. channels=55 gives it the PPM head's
# parameter count (91.1k vs 90.6k for 5 classes), so any gap is due to
# global context, not to capacity.
_base_ = ['./ppm-head_r18-d8_context-scenes-128x128.py']

model = dict(
    decode_head=dict(
        _delete_=True,
        type='AuxFCNHead',
        in_channels=128,
        in_index=3,
        channels=55,
        num_convs=2,
        kernel_size=3,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=5,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            class_weight=[1.0, 1.0, 1.0, 10.0, 10.0],
            loss_weight=1.0)))
