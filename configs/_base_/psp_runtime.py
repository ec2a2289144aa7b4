# The plugin's reliability settings; configs/_base_/psp_default_runtime.py
# includes this file, so every psp_plugin config gets them.
# FailFastRunner checks missing/empty data folders before the dataloaders are
# built, and registers these hooks as default hooks (override one by name, or
# switch it off with e.g. default_hooks=dict(startup_checks=None)):
#   pretrained_check       pretrained weights named in init_cfg are readable
#   startup_checks         dataset vs model checks before the first iteration
#   checkpoint_compat      a loaded checkpoint must fit the model (num_classes,
#                          architecture); allow_new_classifier=True fine-tunes a
#                          checkpoint on other classes
#   resume_fallback        --resume uses the newest intact checkpoint
#   non_finite_loss        stop at the first NaN/inf loss
#   random_state           RNG states in checkpoints: exact resume
# Checkpoint files are written atomically (psp_plugin.install(), run on import).
runner_type = 'FailFastRunner'
