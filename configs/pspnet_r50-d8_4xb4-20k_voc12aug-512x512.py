# PSPNet R50-D8 on Pascal VOC 2012 + SBD aug (21 classes), 512x512 crops, 20k
# iterations, 4 GPUs x 4 images: MMSeg's recipe with the plugin's modules
# (MMSeg's own PSPNet: 76.78 mIoU).
_base_ = [
    './_base_/models/pspnet_r50-d8.py',
    'mmseg::_base_/datasets/pascal_voc12_aug.py',
    './_base_/psp_default_runtime.py',
    './_base_/schedules/psp_schedule_20k.py',
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=21),
    auxiliary_head=dict(num_classes=21))
val_evaluator = dict(
    type='IoUMetric', iou_metrics=['mIoU', 'mDice', 'mFscore'])
test_evaluator = val_evaluator
