# PSPNet R50-D8 on Pascal VOC 2012 + SBD aug (21 classes), 512x512 crops, 40k
# iterations, 4 GPUs x 4 images: the 20k recipe trained twice as long, as MMSeg
# publishes it (MMSeg's own PSPNet: 77.29 mIoU). Validation and checkpoints
# every 4k.
_base_ = './pspnet_r50-d8_4xb4-20k_voc12aug-512x512.py'
train_cfg = dict(max_iters=40000, val_interval=4000)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=40000, by_epoch=False)
]
default_hooks = dict(checkpoint=dict(interval=4000))
