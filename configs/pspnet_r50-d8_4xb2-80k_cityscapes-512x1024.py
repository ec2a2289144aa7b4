# PSPNet R50-D8, Cityscapes 512x1024, 80k iterations: the flagship 40k recipe
# trained twice as long, as MMSeg publishes it (MMSeg: 78.55 mIoU). Validation
# and checkpoints every 8k.
_base_ = './pspnet_r50.py'
train_cfg = dict(max_iters=80000, val_interval=8000)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=80000, by_epoch=False)
]
default_hooks = dict(checkpoint=dict(interval=8000))
