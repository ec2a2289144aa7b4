# The flagship recipe with automatic mixed precision: fp16 autocast with
# dynamic loss scaling. MMEngine's AmpOptimWrapper needs a GPU (CUDA, NPU,
# MLU or MUSA); it refuses to start on CPU.
_base_ = './pspnet_r50.py'
optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005),
    loss_scale='dynamic')
