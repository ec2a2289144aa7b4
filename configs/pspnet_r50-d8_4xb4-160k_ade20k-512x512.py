# PSPNet R50-D8 on ADE20K (150 classes), 512x512 crops, 160k iterations, 4
# GPUs x 4 images: the 80k recipe trained twice as long, as MMSeg publishes it
# (MMSeg's own PSPNet: 42.48 mIoU). Validation and checkpoints every 16k.
_base_ = './pspnet_r50-d8_4xb4-80k_ade20k-512x512.py'
train_cfg = dict(max_iters=160000, val_interval=16000)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=160000, by_epoch=False)
]
default_hooks = dict(checkpoint=dict(interval=16000))
