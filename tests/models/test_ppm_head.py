"""PPMHead: pyramid bins, pooling types, small maps, gradients, errors."""
import pytest
import torch

from psp_plugin.models import PPMHead


def _head(**kwargs) -> PPMHead:
    cfg = dict(in_channels=8, channels=4, num_classes=3, in_index=0,
               norm_cfg=dict(type='BN'))
    cfg.update(kwargs)
    return PPMHead(**cfg)


def _pooled_shapes(head: PPMHead, x: torch.Tensor) -> list:
    shapes = []
    hooks = [
        branch[0].register_forward_hook(
            lambda module, args, out: shapes.append(tuple(out.shape)))
        for branch in head.psp_modules
    ]
    with torch.no_grad():
        logits = head((x, ))
    for hook in hooks:
        hook.remove()
    assert logits.shape == (x.shape[0], 3, *x.shape[2:])
    return shapes


@pytest.mark.parametrize('pool_scales', [(1, 2, 3, 6), (1, ), (2, 4, 8)])
def test_bin_sizes_of_each_branch(pool_scales):
    head = _head(pool_scales=pool_scales).eval()
    shapes = _pooled_shapes(head, torch.rand(2, 8, 13, 17))
    assert shapes == [(2, 8, s, s) for s in pool_scales]
    assert head.bottleneck.conv.in_channels == 8 + 4 * len(pool_scales)


@pytest.mark.parametrize('batch', [1, 2])
def test_feature_map_smaller_than_bin_count(batch):
    head = _head(pool_scales=(1, 2, 3, 6))
    shapes = _pooled_shapes(head.eval(), torch.rand(batch, 8, 4, 4))
    assert shapes[-1] == (batch, 8, 6, 6)
    head.train()
    logits = head((torch.rand(batch, 8, 4, 4), ))
    logits.sum().backward()
    assert torch.isfinite(logits).all()


def test_avg_and_max_pooling_values_on_hand_made_tensor():
    x = torch.arange(16.).reshape(1, 1, 4, 4)
    x[0, 0, 0, 0] = 100.
    pooled = {}
    for pool_type in ('avg', 'max'):
        head = _head(in_channels=1, pool_scales=(1, 2), pool_type=pool_type)
        pooled[pool_type] = [branch[0](x) for branch in head.psp_modules]
    # 1x1 bin: mean / max of all 16 values
    assert pooled['avg'][0].item() == pytest.approx((120 + 100) / 16)
    assert pooled['max'][0].item() == 100.
    # 2x2 bins: quadrants
    assert pooled['avg'][1].flatten().tolist() == [
        (100 + 1 + 4 + 5) / 4, (2 + 3 + 6 + 7) / 4, (8 + 9 + 12 + 13) / 4,
        (10 + 11 + 14 + 15) / 4
    ]
    assert pooled['max'][1].flatten().tolist() == [100., 7., 13., 15.]


def test_pyramid_branches_are_upsampled_to_input_size():
    head = _head(pool_scales=(1, 3), align_corners=True).eval()
    x = torch.rand(1, 8, 7, 11)
    with torch.no_grad():
        branches = head.pyramid_branches(x)
    assert [tuple(b.shape) for b in branches] == [(1, 4, 7, 11)] * 2
    # the 1x1 bin is constant over the map; the 3x3 bin is not
    assert torch.allclose(branches[0], branches[0][..., :1, :1].expand_as(
        branches[0]))
    assert not torch.allclose(branches[1], branches[1][..., :1, :1].expand_as(
        branches[1]))


def test_gradient_reaches_every_parameter():
    head = _head(in_index=1, dropout_ratio=0.0).train()
    feats = (torch.rand(2, 4, 9, 9), torch.rand(2, 8, 9, 9))
    head(feats).pow(2).mean().backward()
    for name, param in head.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_state_dict_keys_mirror_mmseg_psphead():
    head = _head(pool_scales=(1, 2))
    assert set(head.state_dict()) == {
        f'{prefix}.{param}'
        for prefix in ('psp_modules.0.1.bn', 'psp_modules.1.1.bn',
                       'bottleneck.bn')
        for param in ('weight', 'bias', 'running_mean', 'running_var',
                      'num_batches_tracked')
    } | {
        'psp_modules.0.1.conv.weight', 'psp_modules.1.1.conv.weight',
        'bottleneck.conv.weight', 'conv_seg.weight', 'conv_seg.bias'
    }


@pytest.mark.parametrize('kwargs, match', [
    (dict(pool_scales=()), 'non-empty'),
    (dict(pool_scales=(1, 0)), 'invalid entries'),
    (dict(pool_scales=(1, -2)), 'invalid entries'),
    (dict(pool_scales=(1.5, )), 'invalid entries'),
    (dict(pool_scales=6), 'non-empty list'),
    (dict(pool_type='median'), "pool_type='median' is not supported"),
])
def test_bad_arguments_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _head(**kwargs)


def test_in_channels_mismatch_names_both_numbers_and_the_key():
    head = _head(in_channels=2048, in_index=0)
    with pytest.raises(ValueError, match=r'in_channels=2048.*1024 channels.*'
                       r'model\.decode_head\.in_channels=1024'):
        head((torch.rand(1, 1024, 5, 5), ))


def test_in_index_out_of_range_says_how_many_maps():
    head = _head(in_index=3)
    with pytest.raises(ValueError, match='gives 2 feature maps'):
        head((torch.rand(1, 8, 5, 5), torch.rand(1, 8, 5, 5)))
