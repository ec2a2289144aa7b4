# PSPNet R50-D8, Cityscapes 512x1024, 80k iterations (MMSeg: 78.55 mIoU).
_base_ = [
    './_base_/models/pspnet_r50-d8.py',
    'mmseg::_base_/datasets/cityscapes.py',
    './_base_/psp_default_runtime.py',
    './_base_/schedules/psp_schedule_80k.py',
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
train_dataloader = dict(batch_size=2)
val_evaluator = dict(
    type='IoUMetric', iou_metrics=['mIoU', 'mDice', 'mFscore'])
test_evaluator = val_evaluator
auto_scale_lr = dict(enable=False, base_batch_size=8)
