# The flagship recipe: PSPNet R50-D8 on Cityscapes 512x1024, 40k iterations,
# as published by MMSeg (77.85 mIoU single-scale): SGD lr 0.01, momentum 0.9,
# weight decay 5e-4, poly decay (power 0.9) to 1e-4, 2 images per GPU x 4 GPUs,
# SyncBN, PPM channels 512, auxiliary FCN head on stage 3 (256 channels, loss
# weight 0.4), dropout 0.1, whole-image inference, validation and checkpoints
# every 4000 iterations. Built from the plugin's DilatedResNet / PPMHead /
# AuxFCNHead.
_base_ = [
    './_base_/models/pspnet_r50-d8.py',
    'mmseg::_base_/datasets/cityscapes.py',
    './_base_/psp_default_runtime.py',
    './_base_/schedules/psp_schedule_40k.py',
]
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
train_dataloader = dict(batch_size=2)
val_evaluator = dict(
    type='IoUMetric', iou_metrics=['mIoU', 'mDice', 'mFscore'])
test_evaluator = val_evaluator
# The learning rate is for 8 images per iteration; with another total batch
# size add --cfg-options auto_scale_lr.enable=True to scale it linearly.
auto_scale_lr = dict(enable=False, base_batch_size=8)
