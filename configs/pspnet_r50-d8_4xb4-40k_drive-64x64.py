# PSPNet R50-D8 on the DRIVE retinal-vessel set (2 classes): 64x64 random
# crops, 40k iterations, sliding-window inference (64x64 windows, stride 42)
# as in MMSeg's DRIVE recipes; Dice is the metric usually reported.
_base_ = [
    './_base_/models/pspnet_r50-d8.py',
    'mmseg::_base_/datasets/drive.py',
    './_base_/psp_default_runtime.py',
    './_base_/schedules/psp_schedule_40k.py',
]
crop_size = (64, 64)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=2),
    auxiliary_head=dict(num_classes=2),
    test_cfg=dict(mode='slide', crop_size=(64, 64), stride=(42, 42)))
val_evaluator = dict(
    type='IoUMetric', iou_metrics=['mIoU', 'mDice', 'mFscore'])
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='mDice'))
