# PSPNet R50-D8 on Pascal Context (60 classes), 480x480 crops, 40k
# iterations, sliding-window inference: MMSeg's recipe (SGD lr 0.004,
# weight decay 1e-4) with the plugin's modules.
_base_ = [
    './_base_/models/pspnet_r50-d8.py',
    'mmseg::_base_/datasets/pascal_context.py',
    './_base_/psp_default_runtime.py',
    './_base_/schedules/psp_schedule_40k.py',
]
crop_size = (480, 480)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=60),
    auxiliary_head=dict(num_classes=60),
    test_cfg=dict(mode='slide', crop_size=(480, 480), stride=(320, 320)))
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.004, momentum=0.9, weight_decay=0.0001))
val_evaluator = dict(
    type='IoUMetric', iou_metrics=['mIoU', 'mDice', 'mFscore'])
test_evaluator = val_evaluator
