# The plain-FCN twin of ppm-head_r18-d8_mni152-128x128.py: only the decode head
# differs. The head is the same parameter-matched AuxFCNHead as in
# fcn-head_r18-d8_context-scenes-128x128.py, with 3 classes.
_base_ = ['./ppm-head_r18-d8_mni152-128x128.py']

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
        num_classes=3,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
