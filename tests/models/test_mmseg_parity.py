"""MMSeg model-zoo compatibility: same keys, same logits as MMSeg's PSPNet."""
import pytest
import torch
from mmengine.runner import load_checkpoint

from psp_plugin.testing.pspnet_builders import (
    build_model,
    pspnet_cfg,
    randomize_norm_layers,
    relative_max_diff,
)


def _mmseg_checkpoint(tmp_path, depth: int):
    """Build MMSeg's built-in PSPNet, randomise it and save it to a file."""
    torch.manual_seed(depth)
    mmseg_model = build_model(pspnet_cfg(ours=False, depth=depth))
    randomize_norm_layers(mmseg_model, seed=depth)
    path = tmp_path / f'mmseg_pspnet_r{depth}.pth'
    torch.save({'state_dict': mmseg_model.state_dict(), 'meta': {}}, path)
    return mmseg_model.eval(), path


@pytest.mark.parametrize('depth', [18, 50])
def test_mmseg_checkpoint_loads_strict_and_logits_match(tmp_path, depth):
    mmseg_model, path = _mmseg_checkpoint(tmp_path, depth)
    ours = build_model(pspnet_cfg(ours=True, depth=depth))
    assert type(ours.backbone).__name__ == 'DilatedResNet'
    assert set(ours.state_dict()) == set(mmseg_model.state_dict())

    load_checkpoint(ours, str(path), map_location='cpu', strict=True)
    ours.eval()
    for shape in [(1, 3, 97, 131), (2, 3, 48, 64)]:
        images = torch.randn(shape, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            feats_ref = mmseg_model.extract_feat(images)
            feats = ours.extract_feat(images)
            outputs = {
                'decode': (ours.decode_head(feats),
                           mmseg_model.decode_head(feats_ref)),
                'aux': (ours.auxiliary_head(feats),
                        mmseg_model.auxiliary_head(feats_ref)),
            }
        for feat, feat_ref in zip(feats, feats_ref):
            assert feat.shape == feat_ref.shape
            assert relative_max_diff(feat, feat_ref) < 1e-4
        for name, (logits, logits_ref) in outputs.items():
            assert logits.shape == logits_ref.shape, name
            assert relative_max_diff(logits, logits_ref) < 1e-4, name
        assert outputs['decode'][0].shape[-2:] == (
            -(-shape[2] // 8), -(-shape[3] // 8))

    # the comparison is sensitive: one changed running mean breaks it
    with torch.no_grad():
        ours.decode_head.psp_modules[0][1].bn.running_mean.add_(0.5)
        assert relative_max_diff(ours.decode_head(feats),
                                 mmseg_model.decode_head(feats_ref)) > 1e-4


def test_backbone_loads_resnet_v1c_style_pretrained_file(tmp_path):
    """ImageNet ``resnetXX_v1c`` files hold ResNetV1c backbone keys only;
    ``init_cfg=dict(type='Pretrained', ...)`` loads them into ours."""
    from mmseg.registry import MODELS
    reference = MODELS.build(dict(type='ResNetV1c', depth=18))
    randomize_norm_layers(reference, seed=3)
    path = tmp_path / 'resnet18_v1c.pth'
    torch.save({'state_dict': reference.state_dict()}, path)

    ours = MODELS.build(
        dict(type='DilatedResNet', depth=18,
             init_cfg=dict(type='Pretrained', checkpoint=str(path))))
    ours.init_weights()
    expected = reference.state_dict()
    for key, value in ours.state_dict().items():
        assert torch.equal(value, expected[key]), key
