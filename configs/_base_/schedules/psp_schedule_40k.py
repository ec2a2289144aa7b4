# MMSeg's 40k-iteration schedule (SGD lr 0.01, momentum 0.9, wd 5e-4, poly
# decay power 0.9 to 1e-4) plus the plugin's checkpoint policy: keep the best
# mIoU checkpoint and at most three periodic ones. (The plugin's other default
# hooks come from FailFastRunner's one table, psp_plugin/engine/runner.py.)
_base_ = ['mmseg::_base_/schedules/schedule_40k.py']
default_hooks = dict(
    checkpoint=dict(save_best='mIoU', rule='greater', max_keep_ckpts=3))
