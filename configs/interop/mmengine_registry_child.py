# Plugin modules inside a project that is not MMSeg: its own MMEngine registry
# (a child of the root MODELS registry, scope 'my_project') builds them by
# scoped name. See tests/test_interop_mmengine.py.
custom_imports = dict(imports=['psp_plugin'], allow_failed_imports=False)

backbone = dict(type='mmseg.DilatedResNet', depth=18, output_stride=8)
decode_head = dict(
    type='mmseg.PPMHead',
    in_channels=512,
    in_index=3,
    channels=64,
    pool_scales=(1, 2, 3, 6),
    num_classes=5,
    norm_cfg=dict(type='BN', requires_grad=True),
    align_corners=False)
